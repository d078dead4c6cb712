import type { RawInput } from '../cli/context.js';
import type { Deps } from '../deps.js';
import { UsageError } from '../errors.js';

// Placeholder until this command lands; it fails loudly rather than pretending to work.
export function run(_input: RawInput, _deps: Deps): Promise<number> {
  return Promise.reject(new UsageError('sandbox is not implemented yet'));
}
