import { UsageError } from '../errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/** With `windows`: Prometheus' day and week too (`7d`, `1w2d`), for look-back windows. */
const WINDOW_UNITS: Record<string, number> = { ...UNITS, d: 86_400_000, w: 604_800_000 };

/**
 * The longest duration any flag takes: 24h. Node's timers hold at most 2^31-1 ms (about 24.8 days) and
 * silently fire after 1 ms past that, so a bound is needed anyway; a day is more than any wait egressctl
 * makes, and keeps every derived timer (deadlines, backoffs) far from the limit.
 */
export const MAX_DURATION_MS = 24 * 3_600_000;

/** Node's largest timer delay; anything above fires after 1 ms (nodejs `lib/internal/timers.js`). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Parses a kubectl-style duration (`500ms`, `10s`, `2m`, `1h30m`, or a bare number of seconds) into
 * milliseconds, at most MAX_DURATION_MS (24h). `flag` names the flag in the error. This is the one
 * parser of durations: every duration flag goes through it. `windows` is for a look-back window
 * (`--since`), not a wait: it adds `d` and `w` and lifts the cap to `windows.maxMs` (no timer waits
 * that long).
 */
export function parseDuration(value: string, flag: string, windows?: { maxMs: number }): number {
  const v = value.trim();
  const units = windows ? WINDOW_UNITS : UNITS;
  const max = windows ? windows.maxMs : MAX_DURATION_MS;
  let total = 0;
  if (/^\d+(\.\d+)?$/.test(v)) total = Number(v) * 1000;
  else {
    const re = windows ? /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy : /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
    let matched = 0;
    for (let m = re.exec(v); m; m = re.exec(v)) {
      total += Number(m[1]) * (units[m[2] as string] ?? 0);
      matched = re.lastIndex;
    }
    if (matched === 0 || matched !== v.length) {
      throw new UsageError(
        `invalid value "${value}" for ${flag}: want ${windows ? 'a window such as 30m, 1h, 1d or 7d' : 'a duration such as 500ms, 10s or 2m'}`,
      );
    }
  }
  if (!Number.isFinite(total) || total > max) {
    throw new UsageError(
      `invalid value "${value}" for ${flag}: the longest ${windows ? `window allowed is ${Math.round(max / 86_400_000)}d` : 'duration allowed is 24h'}`,
    );
  }
  return Math.round(total);
}

/**
 * A delay safe to hand to setTimeout: negative becomes 0, and anything Node would overflow (a server's
 * Retry-After, a far deadline) is held at the largest delay Node honours.
 */
export function timerDelay(ms: number): number {
  if (!Number.isFinite(ms)) return ms > 0 ? MAX_TIMER_MS : 0;
  return Math.min(Math.max(0, Math.ceil(ms)), MAX_TIMER_MS);
}

/** Parses a positive integer flag. */
export function parsePositiveInt(value: string, flag: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || Number(value) > max) {
    throw new UsageError(`invalid value "${value}" for ${flag}: want a whole number from 1 to ${max}`);
  }
  return Number(value);
}
