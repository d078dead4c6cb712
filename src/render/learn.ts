import type { Manifest } from '../manifests/build.js';
import type { EgressLedger } from '../metrics/ledger.js';
import type { Learned, LeftOut } from '../policy/learn.js';
import { objectName, printFormats } from './apply.js';

/** The `-o` of `egress learn`. */
export type LearnOutput = 'yaml' | 'json';

export const LEARN_API_VERSION = 'egressctl.linkerd.io/v1';

/** One line per flow left out: who, where, and why. */
export function renderLeftOut(leftOut: LeftOut[]): string {
  const lines = leftOut.map(
    (l) =>
      `left out: ${l.flow.client.namespace}/${l.flow.client.workload.kind}/${l.flow.client.workload.name} → ${l.flow.protocol} ${l.flow.destination || '(no host)'}${l.flow.port !== null && l.flow.protocol !== 'tcp' ? `:${l.flow.port}` : ''}: ${l.message}\n`,
  );
  // Flows that differ only by route read the same: one line each.
  return [...new Set(lines)].join('');
}

const flowJson = (l: LeftOut) => ({
  client: {
    namespace: l.flow.client.namespace,
    workload: l.flow.client.workload,
  },
  protocol: l.flow.protocol,
  port: l.flow.port,
  destination: l.flow.destination,
  verdict: l.flow.verdict,
  rate: l.flow.rate,
  reason: l.reason,
  message: l.message,
});

/**
 * The proposal, as YAML documents (ready for `kubectl apply -f -`; what was left out goes to stderr)
 * or as one JSON document (`kind: EgressLearn`) that also lists what was left out.
 */
export const learnFormats: Record<
  LearnOutput,
  (l: Learned, o: { window: EgressLedger['window'] }) => Promise<string>
> = {
  yaml: (l) => printFormats.yaml(l.objects),
  json: (l, o) =>
    Promise.resolve(
      `${JSON.stringify(
        {
          apiVersion: LEARN_API_VERSION,
          kind: 'EgressLearn',
          schemaVersion: 1,
          window: o.window,
          objects: l.objects,
          kept: l.kept.length,
          opened: l.opened.length,
          leftOut: l.leftOut.map(flowJson),
          notices: l.notices,
        },
        null,
        2,
      )}\n`,
    ),
};

/** The file `--out DIR` writes an object to: `NAMESPACE.KIND.NAME.yaml`, stable across runs. */
export const learnFileName = (m: Manifest, output: LearnOutput): string =>
  `${m.metadata.namespace}.${m.kind.toLowerCase()}.${m.metadata.name}.${output === 'json' ? 'json' : 'yaml'}`;

/** One object's file content for `--out`. */
export async function renderLearnFile(m: Manifest, output: LearnOutput): Promise<string> {
  return output === 'json' ? `${JSON.stringify(m, null, 2)}\n` : printFormats.yaml([m]);
}

export { objectName };
