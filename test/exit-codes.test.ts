/**
 * The exit-code contract of the README, as one table: 0 ok · 1 findings · 2 usage or invalid input ·
 * 3 cluster or partial failure. Each row runs the built CLI against the sandbox's API server and checks
 * the code and the first line of stderr. Usage rows (2) must fail before any API call: the server's
 * request log sees nothing from them. The last test checks that every documented code has a row.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SERVED } from '../src/sandbox/resources.js';
import { runCli } from './helpers/cli.js';
import { fixture, startCluster, type TestCluster } from './helpers/cluster.js';

const EN = () => SERVED.find((r) => r.kind === 'EgressNetwork')!;
const HR = () => SERVED.find((r) => r.kind === 'HTTPRoute' && r.group === 'gateway.networking.k8s.io')!;

interface Row {
  argv: string[];
  /** Standard input, for `-f -`. */
  stdin?: string;
  code: 0 | 1 | 2 | 3;
  /** The first line of stderr ('' for none). */
  stderr: string | RegExp;
  /** Checked after the run, against the sandbox's store. */
  then?: (c: TestCluster) => void;
  /** The rest of stderr, when it matters. */
  rest?: RegExp;
  /** Nothing may reach the API server (always so for code 2). */
  offline?: true;
}

const ROUTE_NO_PARENT = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: orphan, namespace: egress-test }
spec:
  parentRefs: [{ group: policy.linkerd.io, kind: EgressNetwork, name: nope, port: 80 }]
`;

const DENY_NETWORK = `apiVersion: policy.linkerd.io/v1alpha1
kind: EgressNetwork
metadata: { name: all-egress-traffic, namespace: default }
spec: { trafficPolicy: Deny }
`;

const rows: Row[] = [
  // ── 2: usage and invalid input, before any API call ──
  {
    argv: ['egress', 'check', '--ip', '999.1.1.1', 'https://example.com'],
    code: 2,
    stderr: 'error: invalid --ip "999.1.1.1": want an IPv4 or IPv6 address, e.g. 203.0.113.10',
  },
  {
    argv: ['egress', 'stat', '-l', 'app in (('],
    code: 2,
    stderr:
      'error: invalid -l/--selector "app in ((": expected a value or ")", found "(" at position 9 (e.g. app=web, tier in (a,b), !canary)',
  },
  {
    argv: ['proxy-metrics', '-l', 'a,,b'],
    code: 2,
    stderr: /^error: invalid -l\/--selector "a,,b": expected a label key, found "," at position 3 /,
  },
  { argv: ['proxy-metrics', '-l', 'tier notin ()'], code: 2, stderr: /notin needs at least one value/ },
  { argv: ['proxy-metrics', '-l', 'Bad Key=x'], code: 2, stderr: /^error: invalid -l\/--selector / },
  {
    argv: ['help', 'nope'],
    code: 2,
    stderr: `error: unknown command "nope" for "egressctl": see 'egressctl --help'`,
  },
  {
    argv: ['egress', 'help', 'nope'],
    code: 2,
    stderr: `error: unknown command "nope" for "egressctl egress": see 'egressctl egress --help'`,
  },
  { argv: ['egress', 'nope'], code: 2, stderr: /^error: unknown command 'nope'/ },
  { argv: ['egress', 'stat', '--bogus'], code: 2, stderr: /^error: unknown option '--bogus'/ },
  {
    argv: ['proxy-metrics', '-n', '', 'po/client'],
    code: 2,
    stderr: `error: invalid -n/--namespace "": must be a DNS-1123 label: at most 63 lowercase letters, digits and '-'`,
  },
  { argv: ['egress', 'stat', '-n', ''], code: 2, stderr: /^error: invalid -n\/--namespace ""/ },
  { argv: ['egress', 'lint', '-n', ''], code: 2, stderr: /^error: invalid -n\/--namespace ""/ },
  {
    argv: ['egress', 'stat', '--interval', '500ms'],
    code: 2,
    stderr: /^error: --interval 500ms is too short/,
  },
  { argv: ['egress', 'delete', 'pods/x'], code: 2, stderr: /^error: cannot delete "pods\/x"/ },
  { argv: ['egress', 'route', 'http', 'x'], code: 2, stderr: /^error: --port is required/ },
  {
    argv: ['egress', 'allow', '--diff', '--dry-run=client'],
    code: 2,
    stderr: 'error: --diff already changes nothing: drop --dry-run',
  },
  {
    argv: ['egress', 'lint', '-f', '/nonexistent/x.yaml'],
    code: 2,
    stderr: 'error: -f /nonexistent/x.yaml: no such file or directory',
  },
  {
    argv: ['egress', 'lint', '-f', '-'],
    stdin: 'a: [',
    code: 2,
    stderr: /^error: <stdin>:1: not valid YAML/,
  },
  { argv: ['egress', 'lint', '-f', '-', '-f', '-'], code: 2, stderr: /can be given only once/ },

  // ── 1: findings ──
  {
    // The un-injected pod of the namespace is counted, not failed: the gate still sees the denials.
    argv: ['egress', 'stat', '--all', '--fail-on-deny'],
    code: 1,
    stderr: 'note: 1 of 2 pods is not meshed (no linkerd-admin port): egress-test/legacy',
  },
  {
    argv: ['egress', 'lint', '-f', '-'],
    stdin: ROUTE_NO_PARENT,
    code: 1,
    stderr: 'read 1 object from standard input',
  },
  {
    argv: ['egress', 'check', 'https://github.com', '-f', '-'],
    stdin: DENY_NETWORK,
    code: 1,
    stderr: 'read 1 object from standard input',
    offline: true,
  },
  {
    argv: ['egress', 'deny', '--diff'],
    code: 1,
    stderr: '',
    then: (c) =>
      assert.equal(
        c.server.store.get(EN(), 'egress-test', 'all-egress-traffic')?.spec?.trafficPolicy,
        'Allow',
      ),
  },

  // ── 3: cluster or partial failure ──
  {
    argv: ['egress', 'delete', 'tcproute/doesnotexist'],
    code: 3,
    stderr:
      'error: delete tcproute.gateway.networking.k8s.io/doesnotexist failed: tcproute.gateway.networking.k8s.io/doesnotexist not found in namespace egress-test (use --ignore-not-found to skip it). Nothing was deleted.',
  },
  {
    // Named, an un-injected pod is still a failure.
    argv: ['proxy-metrics', 'po/legacy'],
    code: 3,
    stderr:
      "error: 1 of 1 pods failed (see the # ERROR lines): pod egress-test/legacy has no linkerd-admin port (is it injected? see 'linkerd inject')",
  },
  {
    argv: ['egress', 'stat', 'po/legacy'],
    code: 3,
    stderr:
      /^error: 1 of 1 pods could not be read, so these numbers are partial: pod egress-test\/legacy has no linkerd-admin port/,
  },
  {
    argv: ['egress', 'stat', '-n', 'empty'],
    code: 3,
    stderr: 'error: no pods found for pods in namespace empty',
  },
  {
    argv: ['egress', 'route', 'http', 'strict-x', '--port', '80', '--network', 'nope', '--strict'],
    code: 3,
    stderr:
      'error: HTTPRoute egress-test/strict-x: parent EgressNetwork egress-test/nope does not exist, so Linkerd will mark the route Accepted=False (NoMatchingParent) and it has no effect until the network is created (egressctl egress allow|deny nope -n egress-test). Nothing was applied (--strict)',
    then: (c) => assert.equal(c.server.store.get(HR(), 'egress-test', 'strict-x'), undefined),
  },
  {
    argv: ['egress', 'deny', 'gitops-net'],
    code: 3,
    stderr:
      'error: refusing to apply: other field managers own fields egressctl would set (egressnetwork.policy.linkerd.io/gitops-net: conflict with "gitops": .spec.trafficPolicy). Nothing was applied: re-run with --force-conflicts to take the fields over, and stop the other manager (a GitOps controller?) or it will take them back',
    then: (c) =>
      assert.equal(c.server.store.get(EN(), 'egress-test', 'gitops-net')?.spec?.trafficPolicy, 'Allow'),
  },

  // ── 0: ok, with what was not done said on stderr ──
  {
    argv: [
      'egress',
      'route',
      'http',
      'dangling',
      '--port',
      '80',
      '--network',
      'nope',
      '--backend',
      'svc/gone:80',
    ],
    code: 0,
    stderr:
      'warning: HTTPRoute egress-test/dangling: parent EgressNetwork egress-test/nope does not exist, so Linkerd will mark the route Accepted=False (NoMatchingParent) and it has no effect until the network is created (egressctl egress allow|deny nope -n egress-test)',
    rest: /^warning: HTTPRoute egress-test\/dangling: backend Service egress-test\/gone does not exist, so Linkerd will mark the route ResolvedRefs=False \(BackendNotFound\) and matching requests get HTTP 500 "Service not found"\n$/,
  },
  { argv: ['egress', 'delete', 'tcproute/doesnotexist', '--ignore-not-found'], code: 0, stderr: '' },
  {
    argv: ['egress', 'delete', 'tcproute/doesnotexist', '--dry-run=client'],
    code: 0,
    stderr: '',
    offline: true,
  },
  { argv: ['help', 'egress', 'stat'], code: 0, stderr: '', offline: true },
  {
    argv: ['egress', 'lint', '-n', 'missing-ns'],
    code: 0,
    stderr: 'read 0 objects from namespaces missing-ns, linkerd-egress',
    rest: /^warning: namespace missing-ns does not exist: nothing of it was read/,
  },
  {
    argv: ['egress', 'lint', '-f', '-'],
    stdin: '',
    code: 0,
    stderr: 'read 0 objects from standard input',
    offline: true,
  },
  { argv: ['egress', 'deny', 'gitops-net', '--force-conflicts'], code: 0, stderr: '' },
];

// TODO(signals, branch `bounded`): rows for 130 (SIGINT) and 143 (SIGTERM) during `egress stat --interval`,
// `proxy-metrics` against a stalled server and `egress get`, once the abort signal reaches every socket.

describe('the exit-code contract, as a table', () => {
  let c: TestCluster;
  let dir: string;
  const EGRESS = fixture('proxy-metrics-egress.txt');
  before(async () => {
    c = await startCluster({ metrics: () => EGRESS });
    c.world.pod('egress-test', 'client');
    c.world.pod('egress-test', 'legacy', { injected: false });
    c.world.namespace('empty');
    const net = (name: string, policy: 'Allow' | 'Deny', manager: string) =>
      c.server.store.apply(
        EN(),
        'egress-test',
        name,
        {
          apiVersion: 'policy.linkerd.io/v1alpha1',
          kind: 'EgressNetwork',
          metadata: { name },
          spec: { trafficPolicy: policy },
        },
        { fieldManager: manager, force: true, dryRun: false },
      );
    net('all-egress-traffic', 'Allow', 'egressctl');
    net('gitops-net', 'Allow', 'gitops');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-exit-'));
  });
  after(async () => {
    await c.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const row of rows) {
    test(`${row.argv.map((a) => (a === '' || /\s/.test(a) ? `'${a}'` : a)).join(' ')} → ${row.code}`, async () => {
      const seen = c.server.requests.length;
      const r = await runCli(row.argv, { env: c.env, input: row.stdin, cwd: dir });
      const first = r.stderr.split('\n')[0] ?? '';
      assert.equal(r.code, row.code, r.stderr);
      if (typeof row.stderr === 'string') assert.equal(first, row.stderr);
      else assert.match(first, row.stderr);
      if (row.rest) assert.match(r.stderr.split('\n').slice(1).join('\n'), row.rest);
      if (row.code === 2 || row.offline)
        assert.deepEqual(
          c.server.requests.slice(seen).map((q) => `${q.method} ${q.path}`),
          [],
          'no API call',
        );
      row.then?.(c);
    });
  }

  test("stat's JSON counts the un-injected pod as unmeshed, as linkerd viz's MESHED column does", async () => {
    const r = await runCli(['egress', 'stat', '-o', 'json'], { env: c.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, 'note: 1 of 2 pods is not meshed (no linkerd-admin port): egress-test/legacy\n');
    assert.deepEqual((JSON.parse(r.stdout) as { pods: unknown }).pods, {
      scraped: 1,
      meshed: 1,
      total: 2,
      unmeshed: ['egress-test/legacy'],
      failed: [],
    });
  });

  test('every documented exit code has a row', () => {
    assert.deepEqual([...new Set(rows.map((r) => r.code))].sort(), [0, 1, 2, 3]);
  });
});
