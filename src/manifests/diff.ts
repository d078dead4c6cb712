import { stringify } from 'yaml';

/** Fields the server owns: never part of a diff. */
function clean(o: unknown): unknown {
  if (!o || typeof o !== 'object') return o;
  const { status: _s, metadata, ...rest } = o as Record<string, unknown>;
  const m = { ...((metadata as Record<string, unknown> | undefined) ?? {}) };
  for (const k of ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink'])
    delete m[k];
  return { ...rest, metadata: m };
}

/**
 * A unified diff of two objects rendered as YAML (`live` may be undefined: a new object), ignoring
 * server-owned fields. Empty when they are the same.
 */
export function diffObjects(ref: string, live: unknown, desired: unknown): string {
  const a =
    live === undefined
      ? []
      : stringify(clean(live), { lineWidth: 0, sortMapEntries: true }).trimEnd().split('\n');
  const b = stringify(clean(desired), { lineWidth: 0, sortMapEntries: true }).trimEnd().split('\n');
  if (a.join('\n') === b.join('\n')) return '';
  const lines = lcsDiff(a, b);
  return `--- ${ref} (live)\n+++ ${ref} (after apply)\n${lines.join('\n')}\n`;
}

/** Line diff by longest common subsequence: ' ' kept, '-' removed, '+' added. */
function lcsDiff(a: string[], b: string[]): string[] {
  const n = a.length;
  const m = b.length;
  const dp: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      (dp[i] as number[])[j] =
        a[i] === b[j]
          ? ((dp[i + 1] as number[])[j + 1] as number) + 1
          : Math.max((dp[i + 1] as number[])[j] as number, (dp[i] as number[])[j + 1] as number);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push(`  ${a[i]}`);
      i++;
      j++;
    } else if (
      i < n &&
      (j === m || ((dp[i + 1] as number[])[j] as number) >= ((dp[i] as number[])[j + 1] as number))
    ) {
      out.push(`- ${a[i]}`);
      i++;
    } else {
      out.push(`+ ${b[j]}`);
      j++;
    }
  }
  return out;
}
