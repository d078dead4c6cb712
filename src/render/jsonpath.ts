import { JSONPath } from 'jsonpath-plus';
import { InvalidInput, UsageError } from '../errors.js';

/**
 * kubectl's output flags that apply to any document: `-o name` and `-o jsonpath=TEMPLATE`. Every listing
 * command's format record (statFormats, getFormats...) uses these, so the dialect lives in one place.
 *
 * kubectl's template dialect (k8s.io/client-go/util/jsonpath) is text with `{...}` actions: a path
 * (`{.items[*].name}`, relative to the current object), a quoted literal (`{"\n"}`), and
 * `{range PATH}...{end}` which renders its body once per result. jsonpath-plus evaluates the paths
 * (it is maintained, and already in the tree through @kubernetes/client-node); it knows plain JSONPath
 * only, so this adapter adds what kubectl adds around it: the template text, literals, range/end,
 * paths relative to the range's item, and kubectl's printing (strings bare, other values as JSON,
 * several results joined by a space, a missing key printing nothing).
 */

type Node =
  { t: 'text'; s: string } | { t: 'path'; path: string } | { t: 'range'; path: string; body: Node[] };

/** Splits `{...}` actions from text; braces inside quoted literals do not count. */
function lex(template: string): ({ t: 'text'; s: string } | { t: 'action'; s: string })[] {
  const out: ({ t: 'text'; s: string } | { t: 'action'; s: string })[] = [];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    if (open < 0) {
      out.push({ t: 'text', s: template.slice(i) });
      break;
    }
    if (open > i) out.push({ t: 'text', s: template.slice(i, open) });
    let j = open + 1;
    let quote: string | undefined;
    let depth = 0;
    for (; j < template.length; j++) {
      const ch = template[j];
      if (quote) {
        if (ch === '\\') j++;
        else if (ch === quote) quote = undefined;
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '[') depth++;
      else if (ch === ']') depth--;
      else if (ch === '}' && depth <= 0) break;
    }
    if (j >= template.length)
      throw new UsageError(`-o jsonpath: unclosed action in ${JSON.stringify(template)}`);
    out.push({ t: 'action', s: template.slice(open + 1, j).trim() });
    i = j + 1;
  }
  return out;
}

/** Parses a kubectl JSONPath template; a malformed one is a usage error (exit 2). */
export function parseJsonPathTemplate(template: string): Node[] {
  const root: Node[] = [];
  const stack: Node[][] = [root];
  const top = () => stack[stack.length - 1] as Node[];
  for (const tok of lex(template)) {
    if (tok.t === 'text') {
      top().push({ t: 'text', s: tok.s });
      continue;
    }
    const a = tok.s;
    if (a === 'end') {
      if (stack.length === 1) throw new UsageError('-o jsonpath: {end} without {range}');
      stack.pop();
    } else if (a.startsWith('range ')) {
      const node: Node = { t: 'range', path: a.slice(6).trim(), body: [] };
      top().push(node);
      stack.push(node.body);
    } else if (/^(["']).*\1$/s.test(a)) {
      top().push({ t: 'text', s: unquote(a) });
    } else if (a === '') {
      throw new UsageError('-o jsonpath: empty action {}');
    } else top().push({ t: 'path', path: a });
  }
  if (stack.length > 1) throw new UsageError('-o jsonpath: {range} without {end}');
  return root;
}

function unquote(a: string): string {
  const body = a.slice(1, -1);
  return body.replace(/\\(.)/g, (_, c: string) =>
    c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : c,
  );
}

/** kubectl paths are relative (`.a`, `[0]`, `@`); JSONPath's start at `$`. */
function toJsonPath(p: string): string {
  if (p.startsWith('$')) return p;
  if (p.startsWith('@')) return `$${p.slice(1)}`;
  if (p === '.') return '$';
  if (p.startsWith('..') || p.startsWith('.') || p.startsWith('[')) return `$${p}`;
  return `$.${p}`;
}

function query(path: string, json: unknown): unknown[] {
  try {
    const r: unknown = JSONPath({ path: toJsonPath(path), json: json as object, wrap: true, eval: 'safe' });
    return Array.isArray(r) ? (r as unknown[]) : [];
  } catch (e) {
    throw new InvalidInput(`-o jsonpath: cannot evaluate {${path}}: ${(e as Error).message}`);
  }
}

const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

function evaluate(nodes: Node[], json: unknown): string {
  let out = '';
  for (const n of nodes) {
    if (n.t === 'text') out += n.s;
    else if (n.t === 'path') out += query(n.path, json).map(show).join(' ');
    else for (const item of query(n.path, json)) out += evaluate(n.body, item);
  }
  return out;
}

/**
 * `-o jsonpath=TEMPLATE` over the document `-o json` prints. As kubectl, no newline is added: templates
 * end with `{"\n"}` when they want one.
 */
export function renderJsonPath(template: string, doc: unknown): string {
  // Through JSON, so that what the template sees is exactly what `-o json` prints.
  return evaluate(parseJsonPathTemplate(template), JSON.parse(JSON.stringify(doc)) as unknown);
}

/** `-o name`: kubectl's `kind.group/name`, one per line, each once, in order. */
export function renderNames(refs: { kind: string; group: string; name: string }[]): string {
  const lines = refs.map((r) => `${r.kind.toLowerCase()}${r.group ? `.${r.group}` : ''}/${r.name}`);
  return [...new Set(lines)].map((l) => `${l}\n`).join('');
}

/** What `-o` asked for, with the jsonpath template split off. */
export type OutputChoice<F extends string> = { format: F } | { format: 'jsonpath'; template: string };
