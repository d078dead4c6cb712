import { UsageError } from '../errors.js';

/**
 * Label selectors parsed with Kubernetes' grammar (k8s.io/apimachinery/pkg/labels/selector.go, `Parse`:
 * its lexer and `parseRequirement`), so that a selector the API server would refuse is a usage error
 * (exit 2) before any request. The CLI only checks the text; the server still does the matching. Pure.
 *
 *   selector    = requirement ("," requirement)*
 *   requirement = ["!"] KEY | KEY ("=" | "==" | "!=") VALUE | KEY ("in" | "notin") "(" VALUES ")"
 *               | KEY (">" | "<") INTEGER
 */

export type SelectorOperator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!' | '>' | '<';

export interface LabelRequirement {
  key: string;
  operator: SelectorOperator;
  values: string[];
}

// apimachinery validation: IsQualifiedName for keys, IsValidLabelValue for values.
const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

type Token =
  | { t: 'id'; v: string; at: number }
  | { t: 'op'; v: '!' | '=' | '==' | '!=' | '>' | '<' | '(' | ')' | ','; at: number }
  | { t: 'end'; at: number };

/** The lexer's special characters; anything else up to one of them (or a space) is an identifier. */
const SPECIAL = new Set(['!', '=', '>', '<', '(', ')', ',']);

function lex(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const ch = s[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (SPECIAL.has(ch)) {
      const two = s.slice(i, i + 2);
      if (two === '==' || two === '!=') {
        out.push({ t: 'op', v: two, at: i });
        i += 2;
      } else {
        out.push({ t: 'op', v: ch as '!', at: i });
        i++;
      }
      continue;
    }
    const start = i;
    while (i < s.length && !SPECIAL.has(s[i] as string) && !/\s/.test(s[i] as string)) i++;
    out.push({ t: 'id', v: s.slice(start, i), at: start });
  }
  out.push({ t: 'end', at: s.length });
  return out;
}

function checkKey(k: string): string | undefined {
  const slash = k.indexOf('/');
  const prefix = slash < 0 ? undefined : k.slice(0, slash);
  const name = slash < 0 ? k : k.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)))
    return `invalid label key "${k}": the prefix must be a DNS-1123 subdomain`;
  if (name.length > 63 || !NAME.test(name))
    return `invalid label key "${k}": want at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  return undefined;
}

function checkValue(v: string): string | undefined {
  if (v === '') return undefined;
  if (v.length > 63 || !NAME.test(v))
    return `invalid label value "${v}": want at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  return undefined;
}

/**
 * Parses a label selector (`a=b,c!=d,e in (x,y),f notin (z),g,!h`) into its requirements, or throws a
 * UsageError naming `flag`, the position and what was expected. The empty selector has none.
 */
export function parseLabelSelector(text: string, flag = '-l/--selector'): LabelRequirement[] {
  const toks = lex(text);
  let p = 0;
  const fail = (why: string, at: number): never => {
    throw new UsageError(
      `invalid ${flag} "${text}": ${why} at position ${at + 1} (e.g. app=web, tier in (a,b), !canary)`,
    );
  };
  const peek = (): Token => toks[p] as Token;
  const next = (): Token => toks[p++] as Token;
  const describe = (t: Token) => (t.t === 'end' ? 'the end' : `"${t.v}"`);
  const reqs: LabelRequirement[] = [];
  if (peek().t === 'end') return reqs;
  for (;;) {
    let t = next();
    let negated = false;
    if (t.t === 'op' && t.v === '!') {
      negated = true;
      t = next();
    }
    if (t.t !== 'id') return fail(`expected a label key, found ${describe(t)}`, t.at);
    const key = t.v;
    const bad = checkKey(key);
    if (bad) fail(bad, t.at);
    const op = peek();
    if (negated || op.t === 'end' || (op.t === 'op' && op.v === ',')) {
      if (negated && !(op.t === 'end' || (op.t === 'op' && op.v === ',')))
        fail(`expected "," or the end after !${key}, found ${describe(op)}`, op.at);
      reqs.push({ key, operator: negated ? '!' : 'exists', values: [] });
    } else if (op.t === 'id' && (op.v === 'in' || op.v === 'notin')) {
      next();
      const open = next();
      if (open.t !== 'op' || open.v !== '(')
        fail(`expected "(" after ${op.v}, found ${describe(open)}`, open.at);
      const first = peek();
      if (first.t === 'op' && first.v === ')') fail(`${op.v} needs at least one value`, first.at);
      const values: string[] = [];
      for (;;) {
        // An empty value between commas is a value (""), as apimachinery's parseValues reads it.
        const v = peek();
        let value = '';
        if (v.t === 'id') {
          value = v.v;
          next();
        } else if (!(v.t === 'op' && (v.v === ',' || v.v === ')')))
          fail(`expected a value or ")", found ${describe(v)}`, v.at);
        const why = checkValue(value);
        if (why) fail(why, v.at);
        values.push(value);
        const sep = next();
        if (sep.t === 'op' && sep.v === ')') break;
        if (!(sep.t === 'op' && sep.v === ',')) fail(`expected "," or ")", found ${describe(sep)}`, sep.at);
      }
      reqs.push({ key, operator: op.v, values });
    } else if (op.t === 'op' && ['=', '==', '!=', '>', '<'].includes(op.v)) {
      next();
      const v = peek();
      let value = '';
      if (v.t === 'id') {
        value = v.v;
        next();
      } else if (!(v.t === 'end' || (v.t === 'op' && v.v === ',')))
        fail(`expected a value after ${op.v}, found ${describe(v)}`, v.at);
      if (op.v === '>' || op.v === '<') {
        if (!/^-?\d+$/.test(value)) fail(`${op.v} wants an integer, found "${value}"`, v.at);
      } else {
        const why = checkValue(value);
        if (why) fail(why, v.at);
      }
      reqs.push({ key, operator: op.v as SelectorOperator, values: [value] });
    } else {
      fail(`expected an operator (=, ==, !=, in, notin) or "," after ${key}, found ${describe(op)}`, op.at);
    }
    const sep = next();
    if (sep.t === 'end') return reqs;
    if (!(sep.t === 'op' && sep.v === ',')) fail(`expected "," or the end, found ${describe(sep)}`, sep.at);
    if (peek().t === 'end') fail('expected a requirement after ","', peek().at);
  }
}
