/**
 * `RegularExpression` matches (HTTPRoute path, header and query-parameter values; GRPCRoute headers)
 * as linkerd2-proxy runs them. Pure.
 *
 * The proxy compiles the value with Rust's `regex` crate and calls `Regex::find`, which returns the
 * leftmost-first match, then requires that match to start at 0 and end at the end of the value
 * (linkerd2-proxy linkerd/http/route/src/http/match/path.rs, header.rs, query_param.rs). That is not
 * the same as anchoring the pattern: `^(?:/api/(v1|v1beta))$` would backtrack into the second
 * alternative and accept `/api/v1beta`, but the leftmost-first match of `/api/(v1|v1beta)` there is
 * `/api/v1`, which stops short, so the proxy does not match. JavaScript's backtracking engine finds
 * the same leftmost-first match as Rust's for the syntax both share (alternation and quantifiers,
 * greedy or lazy, prefer the same way), so a sticky JavaScript regex run at index 0 gives the match
 * `find` would report whenever `find`'s match starts at 0, and no match when it would start later.
 *
 * The syntax is Rust's. What Rust writes differently is translated (`(?i)` and the other leading
 * flags, `\A`, `\z`, `\x{…}`, `\pL`, `\p{Greek}`, `(?P<name>…)`, `[[:alpha:]]`, escaped punctuation); what Rust
 * refuses (look-around, backreferences) is refused, as the policy controller refuses the route
 * (linkerd2 policy-controller/k8s/index/src/routes/http.rs). Known gap: Rust's `\d`, `\w`, `\s` and
 * `\b` are Unicode-aware, JavaScript's ASCII-only; header values the proxy matches are visible ASCII
 * anyway (header.rs skips the others), so only non-ASCII paths and query values can differ.
 */

export type Compiled = { re: RegExp } | { error: string };

const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

/** Characters JavaScript (`u` mode) lets one escape outside a class; Rust allows any ASCII punctuation. */
const JS_ESCAPABLE = new Set('^$\\.*+?()[]{}|/');

const cache = new Map<string, Compiled>();

/** Compiles a Rust `regex` pattern for `fullMatch`, or says why the proxy would refuse it. */
export function compileProxyRegex(pattern: string): Compiled {
  const hit = cache.get(pattern);
  if (hit) return hit;
  const out = translate(pattern);
  if (cache.size > 1000) cache.clear();
  cache.set(pattern, out);
  return out;
}

/** True when the leftmost-first match of `re` spans the whole value (the proxy's rule). */
export function fullMatch(c: Compiled, value: string): boolean {
  if (!('re' in c)) return false;
  c.re.lastIndex = 0;
  const m = c.re.exec(value);
  return m !== null && m[0].length === value.length;
}

/** `fullMatch` for a pattern given as text: false when it does not compile. */
export function proxyRegexMatches(pattern: string, value: string): boolean {
  return fullMatch(compileProxyRegex(pattern), value);
}

/** True when JavaScript knows `\p{name}` as it stands (a general category or binary property). */
function unicodeName(name: string): boolean {
  try {
    new RegExp(`\\p{${name}}`, 'u');
    return true;
  } catch {
    return false;
  }
}

function translate(pattern: string): Compiled {
  let flags = 'uy';
  let i = 0;
  // Rust puts flags in the pattern; a leading group of them becomes JavaScript flags.
  const lead = /^\(\?([imsU]+)\)/.exec(pattern);
  if (lead) {
    const f = lead[1] as string;
    if (f.includes('U')) return { error: 'the U (swap greed) flag is not supported here' };
    for (const c of new Set(f)) flags += c;
    i = lead[0].length;
  }
  let out = '';
  let inClass = false;
  while (i < pattern.length) {
    const c = pattern[i] as string;
    if (c === '\\') {
      const n = pattern[i + 1];
      if (n === undefined) return { error: 'the pattern ends with a lone backslash' };
      if (/[1-9]/.test(n) || n === 'k') return { error: 'backreferences are not supported by the proxy' };
      if (n === 'A' && !inClass) out += '^';
      else if (n === 'z' && !inClass) out += '$';
      else if (n === 'a') out += '\\x07';
      else if (n === 'x' && pattern[i + 2] === '{') {
        const close = pattern.indexOf('}', i + 3);
        if (close < 0) return { error: 'unclosed \\x{' };
        out += `\\u{${pattern.slice(i + 3, close)}}`;
        i = close + 1;
        continue;
      } else if ((n === 'p' || n === 'P') && pattern[i + 2] === '{') {
        // Rust names a script bare (`\p{Greek}`); JavaScript wants `Script=` unless it is a category.
        const close = pattern.indexOf('}', i + 3);
        if (close < 0) return { error: `unclosed \\${n}{` };
        const name = pattern.slice(i + 3, close);
        out += `\\${n}{${name.includes('=') || unicodeName(name) ? name : `Script=${name}`}}`;
        i = close + 1;
        continue;
      } else if (
        (n === 'p' || n === 'P') &&
        pattern[i + 2] !== '{' &&
        /[A-Za-z]/.test(pattern[i + 2] ?? '')
      ) {
        out += `\\${n}{${pattern[i + 2]}}`;
        i += 3;
        continue;
      } else if (/[!-/:-@[-`{-~]/.test(n) && !(JS_ESCAPABLE.has(n) || (inClass && n === '-'))) {
        out += `\\x${n.charCodeAt(0).toString(16).padStart(2, '0')}`;
      } else out += `\\${n}`;
      i += 2;
      continue;
    }
    if (inClass) {
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(pattern.slice(i));
      if (posix) {
        const set = POSIX[posix[2] as string];
        if (!set || posix[1]) return { error: `the class [:${posix[1]}${posix[2]}:] is not supported here` };
        out += set;
        i += posix[0].length;
        continue;
      }
      if (c === '[') return { error: 'nested character classes are not supported here' };
      if (c === ']') inClass = false;
      out += c;
      i++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      i++;
      // A `]` or `^]` right after the opening bracket is a literal in Rust.
      if (pattern[i] === '^') {
        out += '^';
        i++;
      }
      if (pattern[i] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && pattern[i + 1] === '?') {
      const rest = pattern.slice(i + 2);
      if (/^(?:=|!|<=|<!)/.test(rest)) return { error: 'look-around is not supported by the proxy' };
      if (rest.startsWith('P<')) {
        out += '(?<';
        i += 4;
        continue;
      }
    }
    out += c;
    i++;
  }
  try {
    return { re: new RegExp(out, flags) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}
