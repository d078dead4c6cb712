import type { ClusterError } from '../errors.js';
import { parseClusterNetworks } from '../manifests/validate.js';
import type { Decision } from '../policy/engine.js';
import { DEFAULT_CLUSTER_NETWORKS } from '../policy/types.js';
import { startApiServer, type ApiServer } from './apiserver.js';
import { startPolicyController } from './policy-controller.js';
import { ProxySim } from './proxy-sim.js';
import { SERVED, type ServedResource } from './resources.js';
import { apiVersionOf } from './responses.js';
import { openState, startStateSaver, type StateSaver } from './state.js';
import { startTraffic } from './traffic.js';
import { World } from './world.js';

export { DESTINATIONS, toRecord } from './traffic.js';

/**
 * `egressctl sandbox`: a simulated cluster in one process. The API server of the test bed, the Linkerd
 * egress guide's world, a policy controller that writes status like Linkerd's, and simulated proxies
 * whose traffic goes through the policy engine using the objects stored at that moment. No packet
 * leaves the process.
 */

export interface SandboxOptions {
  port?: number;
  /** HTTPS (default): kubectl sends its token only over TLS. */
  tls?: boolean;
  scenario?: 'guide' | 'empty';
  /** Simulated client pods (`client`, `client-2`, …). */
  pods?: number;
  /** Requests per second per destination per pod. */
  rate?: number;
  /**
   * `--state`: checked before anything listens (InvalidInput when it cannot be read or its folder
   * cannot be written), objects loaded from it when it exists, saved atomically every `saveEveryMs`
   * when something changed and at `stop()`.
   */
  statePath?: string | undefined;
  /** How often a changed state is saved (default 5 s). */
  saveEveryMs?: number;
  /** A periodic save failed (one call per failure streak); the next tick tries again. */
  onSaveError?: (e: ClusterError) => void;
  tickMs?: number;
}

export interface Sandbox {
  server: ApiServer;
  world: World;
  /** Number of decisions made so far, by verdict (for waiting on a policy change to show). */
  counts(): Record<string, number>;
  /** The latest decision per destination URL (first client pod). */
  latest(): Map<string, Decision>;
  /** Starts sending to a destination the traffic generator never sent to (the test of `egress learn`). */
  addDestination(d: { url: string; ip: string }): void;
  /**
   * Stops traffic, the controller and the API server (every socket closed), then saves `--state` a last
   * time. Always stops; throws the save's ClusterError afterwards, if it failed.
   */
  stop(): Promise<void>;
}

const type = (kind: string, group = ''): ServedResource =>
  SERVED.find((r) => r.kind === kind && r.group === group) as ServedResource;

/**
 * Starts the simulated cluster: the API server, the guide's objects (or `statePath`'s), the client
 * pods and their proxies, the policy controller (`policy-controller.ts`) and the traffic generator
 * (`traffic.ts`).
 */
export async function startSandbox(o: SandboxOptions = {}): Promise<Sandbox> {
  // Before anything listens: a state that cannot be read or saved is refused now, not lost at exit.
  const state = o.statePath !== undefined ? openState(o.statePath) : undefined;
  const sims = new Map<string, ProxySim>();
  const simFor = (ns: string, pod: string): ProxySim => {
    let sim = sims.get(`${ns}/${pod}`);
    if (!sim) {
      sim = new ProxySim({ hostnameLabels: true, startTime: Date.now(), podIp: '10.42.0.2' });
      sims.set(`${ns}/${pod}`, sim);
    }
    return sim;
  };
  const server = await startApiServer({
    tls: o.tls ?? true,
    port: o.port ?? 0,
    token: 'sandbox-token',
    user: 'sandbox-user',
    // Every injected pod has a proxy; pods that send no simulated egress (internal-egress) get an idle one.
    metrics: (ns, pod) => simFor(ns, pod).render(Date.now()),
  });
  const world = new World(server.store);
  const clusterNetworks = parseClusterNetworks(DEFAULT_CLUSTER_NETWORKS);
  const store = server.store;

  if (state?.existed) {
    for (const obj of state.objects) {
      const r = SERVED.find(
        (x) => `${x.group ? `${x.group}/` : ''}${x.version}` === obj.apiVersion && x.kind === obj.kind,
      );
      if (r) store.load(r, obj);
    }
  } else if ((o.scenario ?? 'guide') === 'guide') {
    world.linkerdControlPlane();
    world.namespace('egress-test', {}, { 'config.linkerd.io/proxy-metrics-hostname-labels': 'true' });
    world.deployment('egress-test', 'internal-egress', { replicas: 1 });
    world.service('egress-test', 'internal-egress', { port: 80, selector: { app: 'internal-egress' } });
    store.apply(
      type('EgressNetwork', 'policy.linkerd.io'),
      'egress-test',
      'all-egress-traffic',
      {
        apiVersion: apiVersionOf(type('EgressNetwork', 'policy.linkerd.io')),
        kind: 'EgressNetwork',
        metadata: { name: 'all-egress-traffic', namespace: 'egress-test' },
        spec: { trafficPolicy: 'Allow' },
      },
      { fieldManager: 'kubectl', force: false, dryRun: false },
    );
  }
  const pods = o.pods ?? 1;
  const podNames: string[] = [];
  for (let i = 0; i < pods; i++) {
    const name = i === 0 ? 'client' : `client-${i + 1}`;
    const existing =
      store.get(type('Pod'), 'egress-test', name) ??
      world.pod('egress-test', name, {
        labels: { app: 'client' },
        annotations: { 'config.linkerd.io/proxy-metrics-hostname-labels': 'true' },
      });
    podNames.push(name);
    sims.set(
      `egress-test/${name}`,
      new ProxySim({
        hostnameLabels: true,
        startTime: Date.now(),
        podIp: String((existing.status as { podIP?: string } | undefined)?.podIP ?? '10.42.0.2'),
      }),
    );
  }

  const controller = startPolicyController(store, { clusterNetworks });
  const traffic = startTraffic({
    store,
    clusterNetworks,
    clientNamespace: 'egress-test',
    clients: podNames.map((p) => sims.get(`egress-test/${p}`) as ProxySim),
    proxies: () => sims.values(),
    rate: o.rate ?? 5,
    tickMs: o.tickMs ?? 200,
  });
  let saver: StateSaver | undefined;
  if (state) {
    const s = startStateSaver({
      path: state.path,
      objects: () => store.all(),
      everyMs: o.saveEveryMs ?? 5000,
      onError: (e) => o.onSaveError?.(e),
    });
    store.on('change', () => s.touch());
    saver = s;
  }

  return {
    server,
    world,
    counts: () => traffic.counts(),
    latest: () => traffic.latest(),
    addDestination: (d) => traffic.addDestination(d),
    stop: async () => {
      traffic.stop();
      controller.stop();
      await server.close();
      // After the server closed, so no write can land after the last save.
      saver?.stop();
      saver = undefined;
    },
  };
}
