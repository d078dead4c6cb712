// The fault soak (issue 11): `egress stat --watch` against an API server that stalls, resets, answers
// 429/500/503 with Retry-After and restarts, while pods come and go and their proxies restart. The
// soak's rounds are dominated by the port-forward round trip (~30-70 ms for a handful of in-process
// pods on this machine), so npm test runs 300 rounds (SOAK_ROUNDS=1000 runs the issue's 1,000, about
// a minute); bench/soak.ts runs 2,000 and prints the figures.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type KubeClient } from '../src/kube/rest.js';
import { scrapePods } from '../src/kube/scrape.js';
import { resolvePods } from '../src/kube/resolve.js';
import { startCluster, type TestCluster } from './helpers/cluster.js';
import { runSoak } from './helpers/soak.js';

const ROUNDS = Number(process.env.SOAK_ROUNDS ?? 300);

describe('the fault switches the soak uses', () => {
  let c: TestCluster;
  let client: KubeClient;
  before(async () => {
    c = await startCluster({ tls: false, namespace: 'ns' });
    c.world.pod('ns', 'p', {});
    c.server.metricsFor = () => 'x_total 1\n'.repeat(2000);
    client = await connect(
      { kubeconfig: c.kubeconfig, context: undefined, namespace: 'ns', requestTimeoutMs: 5000 },
      { KUBECONFIG: c.kubeconfig },
    );
  });
  after(async () => {
    client.close();
    await c.close();
  });
  const headers = { Authorization: 'Bearer test-token' };

  test('answer: 429/503/500 with a Status and Retry-After, for as many matching requests as told', async () => {
    c.server.faults.answer.push({
      status: 429,
      retryAfterSeconds: 1,
      match: /^GET \/api\/v1\/namespaces$/,
      times: 2,
    });
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${c.server.url}/api/v1/namespaces`, { headers });
      assert.equal(r.status, 429);
      assert.equal(r.headers.get('retry-after'), '1');
      assert.deepEqual(
        { ...((await r.json()) as object), metadata: undefined },
        {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: undefined,
          status: 'Failure',
          message: 'Too many requests, please try again later.',
          reason: 'TooManyRequests',
          code: 429,
        },
      );
    }
    assert.equal((await fetch(`${c.server.url}/api/v1/namespaces`, { headers })).status, 200);
    assert.deepEqual(c.server.faults.answer, [], 'used up');
  });

  test('answer on a port-forward upgrade: the pod is reported failed, named', async () => {
    c.server.faults.answer.push({
      status: 503,
      retryAfterSeconds: 0,
      match: /\/pods\/p\/portforward$/,
      times: 1,
    });
    const [r] = await scrapePods(client, await resolvePods(client, { by: 'all', namespace: 'ns' }), {
      concurrency: 1,
      deadlineMs: 5000,
      podTimeoutMs: 2000,
    });
    assert.match(r?.error ?? '', /503/);
    assert.equal(r?.pod, 'p');
  });

  for (const [fault, error] of [
    ['stall', /within 0\.3s/],
    ['reset-mid-body', /connection reset by peer/],
  ] as const) {
    test(`pod fault ${fault}: the scrape of that pod fails with its own error, in time`, async () => {
      c.server.faults.pods.set('ns/p', fault);
      const t0 = Date.now();
      const [r] = await scrapePods(client, await resolvePods(client, { by: 'all', namespace: 'ns' }), {
        concurrency: 1,
        deadlineMs: 5000,
        podTimeoutMs: 300,
      });
      c.server.faults.pods.clear();
      assert.match(r?.error ?? '', error);
      assert.ok(Date.now() - t0 < 2000);
    });
  }

  test('restart: the same port and store; open connections are cut and clients reconnect', async () => {
    const url = c.server.url;
    assert.equal((await resolvePods(client, { by: 'all', namespace: 'ns' })).length, 1);
    await c.server.restart();
    assert.equal(c.server.url, url);
    // The keep-alive connection the client held is gone; its next request opens a new one.
    await new Promise((r) => setTimeout(r, 20));
    assert.equal((await resolvePods(client, { by: 'all', namespace: 'ns' })).length, 1);
  });
});

test(`egress stat --watch holds for ${ROUNDS} rounds of faults, churn and proxy restarts`, async (t) => {
  const f = await runSoak({ rounds: ROUNDS, intervalMs: 5, podTimeoutMs: 1000, seed: 11 });
  const { samples, errorsNotNamingThePod, ...figures } = f;
  t.diagnostic(JSON.stringify({ ...figures, errorsNotNamingThePod: [...errorsNotNamingThePod] }));
  t.diagnostic(
    `heap/handles every 100 rounds: ${samples.map((s) => `${s.round}: ${s.heapUsedMB} MB ${s.activeHandles}`).join(', ')}`,
  );
  assert.deepEqual(f.violations, []);
  assert.equal(f.rendered, ROUNDS, 'every round rendered');
  // The schedule really exercised what it claims to.
  assert.ok(f.podFailuresNamed > 0 && f.proxyRestarts > 0 && f.podsAdded > 0 && f.podsRemoved > 0);
  assert.ok((f.faults['server-restart'] ?? 0) > 0);
  assert.equal(f.requestsSeen, f.requestsServed);
  assert.ok(f.windowsChecked > ROUNDS * 2, `${f.windowsChecked} pod-windows checked`);
  // No growth: a leak of one socket or timer per round would be hundreds of handles here. The heap
  // after a full GC moves by several MB from round to round (the live round's reports and bodies, up
  // to 8 pods), so only a leak of tens of KB a round is caught here; bench/soak.ts prints the curve.
  assert.ok(f.activeHandles.atEnd <= f.activeHandles.atRound100 + 2, JSON.stringify(f.activeHandles));
  assert.ok(f.heapUsedMB.atEnd < f.heapUsedMB.atRound100 * 2, JSON.stringify(f.heapUsedMB));
});
