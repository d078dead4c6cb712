// Command logic run in-process: main() → the command module's validate() → run(), with deps.kube
// opening real clients to the sandbox's API server on loopback and output captured in memory. The
// spawned-CLI tests cover the same commands as a user runs them; these show the seams hold without a
// child process (and let a test count what a command asked of the cluster).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as egressGet from '../src/commands/egress-get.js';
import { main } from '../src/main.js';
import type { Deps } from '../src/deps.js';
import { connect, type ConnectSettings } from '../src/kube/rest.js';
import { SERVED } from '../src/sandbox/resources.js';
import { startCluster, type TestCluster } from './helpers/cluster.js';

const EN = () => SERVED.find((r) => r.kind === 'EgressNetwork')!;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** What each deps.kube call was asked for. */
  connects: ConnectSettings[];
}

const testSignal = new AbortController().signal;

function testDeps(c: TestCluster): { deps: Deps; result: () => Omit<Run, 'code'> } {
  let stdout = '';
  let stderr = '';
  const connects: ConnectSettings[] = [];
  const env = { KUBECONFIG: c.kubeconfig };
  const deps: Deps = {
    out: { write: (s) => void (stdout += s) },
    err: { write: (s) => void (stderr += s) },
    env,
    stdoutIsTTY: false,
    cwd: process.cwd(),
    signal: testSignal,
    now: () => Date.now(),
    kube: (settings) => {
      connects.push(settings);
      return connect(settings, env);
    },
  };
  return { deps, result: () => ({ stdout, stderr, connects }) };
}

async function runInProcess(c: TestCluster, argv: string[]): Promise<Run> {
  const { deps, result } = testDeps(c);
  const code = await main(argv, deps);
  return { code, ...result() };
}

describe('commands in-process through deps.kube against the sandbox API server', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster({ namespace: 'egress-test' });
    c.world.namespace('egress-test');
    c.world.namespace('payments');
  });
  after(() => c.close());

  test('egress deny applies through one client in the kubeconfig context namespace', async () => {
    const r = await runInProcess(c, ['--request-timeout', '5s', 'egress', 'deny']);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'egressnetwork.policy.linkerd.io/all-egress-traffic created\n');
    // The client gets Ctrl-C and the command's deadline (deny's --timeout default, 60s) from cli.ts.
    assert.ok(r.connects.every((s) => s.signal instanceof AbortSignal && s.signal === testSignal));
    assert.ok(r.connects.every((s) => typeof s.deadline?.startedAt === 'number'));
    const comparable = r.connects.map(({ signal: _s, ...s }) => ({
      ...s,
      deadline: { ...s.deadline, startedAt: 0 },
    }));
    assert.deepEqual(comparable, [
      {
        kubeconfig: undefined,
        context: undefined,
        namespace: 'egress-test',
        requestTimeoutMs: 5000,
        deadline: { ms: 60_000, flag: '--timeout', startedAt: 0 },
      },
    ]);
    assert.deepEqual(c.server.store.get(EN(), 'egress-test', 'all-egress-traffic')?.spec, {
      trafficPolicy: 'Deny',
    });
  });

  test('-n beats the context namespace, and egress get reads back what deny wrote', async () => {
    const deny = await runInProcess(c, ['egress', 'deny', '-n', 'payments', 'lockdown']);
    assert.equal(deny.code, 0);
    assert.equal(deny.connects[0]?.namespace, 'payments');
    const get = await runInProcess(c, ['egress', 'get', '-n', 'payments', 'lockdown', '-o', 'json']);
    assert.equal(get.stderr, '');
    assert.equal(get.code, 0);
    const report = JSON.parse(get.stdout) as { kind: string; items: { namespace: string; name: string }[] };
    assert.equal(report.kind, 'EgressNetworkReport');
    assert.deepEqual(
      report.items.map((i) => `${i.namespace}/${i.name}`),
      ['payments/lockdown'],
    );
  });

  test('usage errors never open a client: --dry-run=client and a bad --ip stay off the cluster', async () => {
    const dry = await runInProcess(c, ['egress', 'delete', 'httproute/x', '--dry-run']);
    assert.equal(dry.code, 0);
    assert.equal(
      dry.stdout,
      'httproute.gateway.networking.k8s.io/x would be deleted (client dry run: not checked against the cluster)\n',
    );
    assert.deepEqual(dry.connects, []);
    const bad = await runInProcess(c, ['egress', 'check', 'https://github.com', '--ip', 'bogus']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stdout, '');
    assert.equal(
      bad.stderr,
      'error: invalid --ip "bogus": want an IPv4 or IPv6 address, e.g. 203.0.113.10\n',
    );
    assert.deepEqual(bad.connects, []);
  });

  test('egress check decides live from the cluster through the same factory', async () => {
    const r = await runInProcess(c, ['egress', 'check', 'https://github.com', '--ip', '203.0.113.10']);
    assert.equal(r.stderr, 'read 1 object from namespaces egress-test, linkerd-egress\n');
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /^no\n {2}from: {5}namespace egress-test\n {2}network: {2}EgressNetwork egress-test\/all-egress-traffic \(trafficPolicy Deny\)\n/,
    );
    assert.equal(r.connects.length, 1);
  });

  test("a module's run() called directly with options built by hand", async () => {
    const { deps, result } = testDeps(c);
    const code = await egressGet.run(
      {
        global: { kubeconfig: c.kubeconfig, context: undefined, requestTimeoutMs: 0, verbose: false },
        name: undefined,
        output: 'table',
        template: undefined,
        headers: true,
        clusterNetworks: ['10.0.0.0/8'],
        namespace: 'payments',
        allNamespaces: false,
        egressNamespace: 'linkerd-egress',
      },
      deps,
    );
    const r = result();
    assert.equal(code, 0);
    assert.equal(r.stderr, '');
    assert.match(
      r.stdout,
      /^NAME +POLICY +PORT +MATCHES +BACKENDS +ACCEPTED +RESOLVED\nEgressNetwork\/lockdown +Deny /,
    );
    assert.deepEqual(
      r.connects.map((s) => [s.kubeconfig, s.namespace]),
      [[c.kubeconfig, 'payments']],
    );
  });
});
