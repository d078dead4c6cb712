/**
 * Label and field selectors as the API server parses them (apimachinery `labels.Parse`, `fields`),
 * for list requests. A bad selector throws an Error whose message the server answers 400 with.
 */

type Requirement = (labels: Record<string, string>) => boolean;

/** Splits on commas outside parentheses: `a in (x,y),b` → [`a in (x,y)`, `b`]. */
function terms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim());
}

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function requirement(t: string): Requirement {
  const bad = (why: string): never => {
    throw new Error(`unable to parse requirement: ${why}`);
  };
  const key = (k: string): string => (KEY.test(k) ? k : bad(`invalid label key "${k}"`));
  const value = (v: string): string => (VALUE.test(v) ? v : bad(`invalid label value: "${v}"`));
  let m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(t);
  if (m) {
    const k = key(m[1] as string);
    const values = (m[3] as string).split(',').map((v) => value(v.trim()));
    return m[2] === 'in'
      ? (l) => l[k] !== undefined && values.includes(l[k])
      : (l) => l[k] === undefined || !values.includes(l[k]);
  }
  m = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(t);
  if (m) {
    const k = key(m[1] as string);
    const v = value(m[3] as string);
    return m[2] === '!=' ? (l) => l[k] !== v : (l) => l[k] === v;
  }
  m = /^!\s*(\S+)$/.exec(t);
  if (m) {
    const k = key(m[1] as string);
    return (l) => l[k] === undefined;
  }
  const k = key(t);
  return (l) => l[k] !== undefined;
}

/**
 * Compiles `a=b,c!=d,e in (x,y),f notin (z),g,!h` (terms ANDed). The empty selector matches everything.
 */
export function parseLabelSelector(
  selector: string,
): (labels: Record<string, string> | undefined) => boolean {
  const reqs = selector.trim() ? terms(selector).map(requirement) : [];
  return (labels) => reqs.every((r) => r(labels ?? {}));
}

/** True when `labels` satisfy `selector`. */
export function matchesSelector(selector: string, labels: Record<string, string> = {}): boolean {
  return parseLabelSelector(selector)(labels);
}

type Selectable = { metadata: { name: string; namespace?: string } } & Record<string, unknown>;
type Getter = (o: Selectable) => string;

/** Fields a field selector may name, per kind (every kind: metadata.name and metadata.namespace). */
const FIELDS: Record<string, Record<string, Getter>> = {
  '*': {
    'metadata.name': (o) => o.metadata.name,
    'metadata.namespace': (o) => o.metadata.namespace ?? '',
  },
  Pod: {
    'spec.nodeName': (o) => (o.spec as { nodeName?: string } | undefined)?.nodeName ?? '',
    'status.phase': (o) => (o.status as { phase?: string } | undefined)?.phase ?? '',
    'status.podIP': (o) => (o.status as { podIP?: string } | undefined)?.podIP ?? '',
  },
};

/** Compiles `metadata.name=x,status.phase!=Pending` for objects of `kind`. */
export function parseFieldSelector(selector: string, kind: string): (obj: Selectable) => boolean {
  const reqs = (selector.trim() ? selector.split(',') : []).map((t) => {
    const m = /^\s*([^!=\s]+)\s*(==|=|!=)\s*(\S*)\s*$/.exec(t);
    if (!m) throw new Error(`invalid selector: '${selector}'; can't understand '${t}'`);
    const [, field, op, want] = m as unknown as [string, string, string, string];
    const get = FIELDS['*']?.[field] ?? FIELDS[kind]?.[field];
    if (!get) throw new Error(`field label not supported: ${field}`);
    return (o: Selectable) => (op === '!=' ? get(o) !== want : get(o) === want);
  });
  return (o) => reqs.every((r) => r(o));
}
