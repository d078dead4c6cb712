import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type KubeClient } from '../src/kube/rest.js';
import { resolvePods } from '../src/kube/resolve.js';
import { scrapePods } from '../src/kube/scrape.js';
import { startCluster, type TestCluster } from './helpers/cluster.js';

let c: TestCluster;
let client: KubeClient;
before(async () => {
  c = await startCluster({ tls: false, namespace: 'ns' });
  for (let i = 0; i < 6; i++) c.world.pod('ns', `p${i}`, {});
  c.server.metricsFor = () => 'x_total 1\n';
  client = await connect(
    { kubeconfig: c.kubeconfig, context: undefined, namespace: 'ns', requestTimeoutMs: 5000 },
    { KUBECONFIG: c.kubeconfig },
  );
});
after(async () => {
  client.close();
  await c.close();
});

test('a backlog holds every worker before its next pod until it settles; none is dropped', async () => {
  const pods = await resolvePods(client, { by: 'all', namespace: 'ns' });
  let release: () => void = () => undefined;
  let held: Promise<void> | undefined = new Promise<void>((r) => (release = r));
  const done: number[] = [];
  const scrape = scrapePods(client, pods, {
    concurrency: 2,
    deadlineMs: 10_000,
    podTimeoutMs: 5000,
    // Output lags once the first two pods are done.
    backlog: () => (done.length >= 2 ? held : undefined),
    onResult: (i) => done.push(i),
  });
  while (done.length < 2) await new Promise((r) => setTimeout(r, 5));
  // The pods in flight when it began to hold finish; no other starts.
  await new Promise((r) => setTimeout(r, 150));
  const heldAt = done.length;
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(done.length, heldAt);
  assert.ok(heldAt <= 2 + 2, `at most the two in flight finished after the hold (${heldAt})`);
  held = undefined;
  release();
  const results = await scrape;
  assert.equal(results.length, 6);
  assert.ok(results.every((r) => r.body === 'x_total 1\n'));
});

test('a backlog that never settles: the round deadline still names every pod not scraped', async () => {
  const pods = await resolvePods(client, { by: 'all', namespace: 'ns' });
  const results = await scrapePods(client, pods, {
    concurrency: 2,
    deadlineMs: 300,
    podTimeoutMs: 5000,
    backlog: () => new Promise<void>(() => undefined),
  });
  assert.deepEqual(
    results.map((r) => r.error),
    pods.map(
      (p) =>
        `pod ns/${p.metadata.name}: not scraped within --timeout 0.3s (raise --timeout or --max-concurrency)`,
    ),
  );
});
