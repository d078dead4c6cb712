import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { adminPorts, type Pod } from '../src/kube/resolve.js';
import { DEFAULT_PROXY_ADMIN_PORT, proxyAdminPort } from '../src/sandbox/admin-ports.js';
import { SERVED, type ServedResource } from '../src/sandbox/resources.js';
import type { StoredObject } from '../src/sandbox/store.js';
import { runCli } from './helpers/cli.js';
import { startCluster, type TestCluster } from './helpers/cluster.js';
import { channels, forward, GET_METRICS, httpResponse } from './helpers/apiserver.js';

const PODS = SERVED.find((r) => r.kind === 'Pod' && r.group === '') as ServedResource;
const SANDBOX_SRC = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../src/sandbox');

/**
 * The sandbox finds where a pod's proxy admin server listens with its own code (src/sandbox/admin-ports.ts),
 * and the CLI with its own (src/kube/resolve.ts adminPorts). Were they one function, a bug in it would be
 * mirrored by the cluster the tests run against and never fail a test.
 */
describe('proxy admin ports: the sandbox and the CLI each read the pod themselves', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster({ metrics: (ns, pod) => `# ${ns}/${pod}\nup 1\n` });
    const w = c.world;
    w.pod('egress-test', 'client');
    w.pod('egress-test', 'custom', { adminPort: 9995 });
    w.pod('egress-test', 'sidecar', { nativeSidecar: true, adminPort: 9993 });
    w.pod('egress-test', 'plain', { injected: false });
    // An injected pod whose proxy declares its admin port under another name: the proxy still
    // listens on its default, but nothing tells a client where (linkerd's CLI looks for the name).
    const unnamed = structuredClone(w.pod('egress-test', 'unnamed'));
    for (const ct of (unnamed.spec as { containers: { ports?: { name?: string }[] }[] }).containers)
      for (const p of ct.ports ?? []) if (p.name === 'linkerd-admin') p.name = 'admin';
    c.server.store.update(PODS, 'egress-test', 'unnamed', unnamed, {});
  });
  after(() => c.close());

  const pod = (name: string): StoredObject => c.server.store.get(PODS, 'egress-test', name) as StoredObject;

  test("the sandbox's reading: a *linkerd-admin port on a container or init container, else 4191 when a proxy runs", () => {
    assert.equal(DEFAULT_PROXY_ADMIN_PORT, 4191);
    assert.equal(proxyAdminPort(pod('client')), 4191);
    assert.equal(proxyAdminPort(pod('custom')), 9995);
    assert.equal(proxyAdminPort(pod('sidecar')), 9993, 'a native sidecar is an init container');
    assert.equal(proxyAdminPort(pod('plain')), undefined, 'no proxy, no listener');
    assert.equal(proxyAdminPort(pod('unnamed')), 4191, "the proxy's default listener");
    assert.equal(
      proxyAdminPort({
        ...pod('client'),
        spec: { containers: [{ name: 'mesh', ports: [{ name: 'my-linkerd-admin', containerPort: 4999 }] }] },
      }),
      4999,
      'the name only has to end in linkerd-admin',
    );
    // The CLI's reading differs where a client cannot know: no named port, no admin port.
    assert.deepEqual(adminPorts(pod('unnamed') as unknown as Pod), []);
    assert.deepEqual(adminPorts(pod('sidecar') as unknown as Pod), [
      { container: 'linkerd-proxy', port: 9993 },
    ]);
  });

  test('no sandbox module imports the CLI (src/kube, src/commands, src/cli)', () => {
    for (const f of fs.readdirSync(SANDBOX_SRC).filter((n) => n.endsWith('.ts'))) {
      const text = fs.readFileSync(path.join(SANDBOX_SRC, f), 'utf8');
      assert.doesNotMatch(text, /from '\.\.\/(kube|commands|cli)\//, f);
    }
  });

  test('the CLI finds a native sidecar and a non-default port through its own code; the sandbox serves them', async () => {
    for (const [name, port] of [
      ['sidecar', 9993],
      ['custom', 9995],
    ] as const) {
      const seen = c.server.requests.length;
      const r = await runCli(['proxy-metrics', `po/${name}`], { env: c.env });
      assert.equal(r.stderr, '', name);
      assert.equal(r.code, 0, name);
      assert.equal(r.stdout, `#\n# POD ${name} (1 of 1)\n#\n# egress-test/${name}\nup 1\n`);
      const forwards = c.server.requests
        .slice(seen)
        .filter((q) => q.path === `/api/v1/namespaces/egress-test/pods/${name}/portforward`);
      assert.deepEqual(
        forwards.map((q) => q.query.ports),
        [String(port)],
        'the port came from the CLI reading the pod',
      );
    }
  });

  test('where the two readings differ, each answers for itself: the sandbox serves 4191, the CLI finds no admin port', async () => {
    const f = await forward(c.server, 'egress-test', 'unnamed', 'ports=4191', { request: GET_METRICS });
    assert.equal(channels(f).error, '');
    assert.equal(httpResponse(channels(f).data).status, 200);
    const r = await runCli(['proxy-metrics', 'po/unnamed'], { env: c.env });
    assert.equal(r.code, 3);
    assert.equal(
      r.stdout,
      "#\n# POD unnamed (1 of 1)\n#\n# ERROR: pod egress-test/unnamed has no linkerd-admin port (is it injected? see 'linkerd inject')\n",
    );
    assert.equal(
      r.stderr,
      "error: 1 of 1 pods failed (see the # ERROR lines): pod egress-test/unnamed has no linkerd-admin port (is it injected? see 'linkerd inject')\n",
    );
  });
});
