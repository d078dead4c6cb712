// The metrics functions commands use, in one chunk.
export {
  parseMetrics,
  serializeMetrics,
  valueText,
  MetricsParseError,
  type Exposition,
  type MetricFamily,
  type Sample,
} from './parse.js';
export { egressOnly, mayHoldEgress } from './filter.js';
export { obfuscateFamilies, obfuscateText, obfuscateValue, OBFUSCATED_LABELS } from './obfuscate.js';
