import { UsageError } from '../errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a kubectl-style duration (`500ms`, `10s`, `2m`, `1h30m`, or a bare number of seconds) into
 * milliseconds. `flag` names the flag in the error.
 */
export function parseDuration(value: string, flag: string): number {
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(v); m; m = re.exec(v)) {
    total += Number(m[1]) * (UNITS[m[2] as string] ?? 0);
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== v.length) {
    throw new UsageError(`invalid value "${value}" for ${flag}: want a duration such as 500ms, 10s or 2m`);
  }
  return Math.round(total);
}

/** Parses a positive integer flag. */
export function parsePositiveInt(value: string, flag: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || Number(value) > max) {
    throw new UsageError(`invalid value "${value}" for ${flag}: want a whole number from 1 to ${max}`);
  }
  return Number(value);
}
