import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ApiServer } from '../../src/sandbox/apiserver.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { prometheusBinary, startVizPrometheus, type VizPrometheus } from '../../src/sandbox/viz.js';

/** Why the real-Prometheus tests cannot run here, or false when they can. */
export const skipWithoutPrometheus: string | false = prometheusBinary()
  ? false
  : 'needs /usr/bin/prometheus: install the Debian package prometheus (apt-get install prometheus)';

export interface PromBed {
  sb: Sandbox;
  prom: VizPrometheus;
  kubeconfig: string;
  /** Freezes every proxy's /metrics at its next read, so both sources see the same counters. */
  freeze(): number;
  thaw(): void;
  stop(): Promise<void>;
}

/** The sandbox, a real Prometheus scraping it as linkerd-viz's does (1s), and a kubeconfig. */
export async function startPromBed(o: { pods?: number } = {}): Promise<PromBed> {
  const sb = await startSandbox({ pods: o.pods ?? 3, rate: 5, tickMs: 200 });
  const prom = await startVizPrometheus({ server: sb.server, world: sb.world, intervalS: 1 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-prom-test-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  sb.server.writeKubeconfig(kubeconfig, { namespace: 'egress-test', token: 'sandbox-token' });
  const live = sb.server.metricsFor;
  return {
    sb,
    prom,
    kubeconfig,
    freeze: () => freeze(sb.server, live),
    thaw: () => {
      sb.server.metricsFor = live;
    },
    stop: async () => {
      await prom.stop();
      await sb.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freeze(server: ApiServer, live: ApiServer['metricsFor']): number {
  const frozen = new Map<string, string | undefined>();
  server.metricsFor = (ns, pod) => {
    const k = `${ns}/${pod}`;
    if (!frozen.has(k)) frozen.set(k, live?.(ns, pod));
    return frozen.get(k);
  };
  return Date.now();
}
