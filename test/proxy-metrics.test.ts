import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from './helpers/cli.js';
import { fixture, startCluster, type TestCluster } from './helpers/cluster.js';
import { issueClientCert, untrustedCa } from '../src/sandbox/x509.js';

const EGRESS = fixture('proxy-metrics-egress.txt');
const DENY = fixture('proxy-metrics-deny.txt');

/** Splits linkerd-style output into { pod: body } in order. */
function sections(out: string): { header: string; body: string }[] {
  const parts = out.split(/^#\n(# POD .*)\n#\n/m).slice(1);
  const res: { header: string; body: string }[] = [];
  for (let i = 0; i < parts.length; i += 2)
    res.push({ header: parts[i] as string, body: parts[i + 1] as string });
  return res;
}

describe('proxy-metrics against the test API server over HTTPS', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster({ metrics: (_ns, pod) => (pod.startsWith('deny') ? DENY : EGRESS) });
    const w = c.world;
    w.pod('egress-test', 'client', { labels: { app: 'client' } });
    w.pod('egress-test', 'deny-client', { labels: { app: 'client' } });
    w.pod('egress-test', 'sidecar', { nativeSidecar: true, adminPort: 9991 });
    w.pod('egress-test', 'plain', { injected: false });
    w.pod('egress-test', 'pending', { phase: 'Pending' });
    w.deployment('egress-test', 'web', { replicas: 2, oldReplicas: 1 });
    w.deployment('egress-test', 'web-canary', { replicas: 1, labels: { app: 'web', track: 'canary' } });
    w.controller('StatefulSet', 'egress-test', 'db', { replicas: 2 });
    w.controller('DaemonSet', 'egress-test', 'agent', { replicas: 1 });
    w.controller('ReplicaSet', 'egress-test', 'bare-rs', { replicas: 1 });
    w.controller('ReplicationController', 'egress-test', 'legacy', { replicas: 1 });
    w.controller('Job', 'egress-test', 'once', { replicas: 1 });
    w.cronJob('egress-test', 'nightly', { jobs: 2 });
    w.deployment('faults', 'f', { replicas: 0 });
    for (const [name, fault] of [
      ['forbidden', 'forbid-portforward'],
      ['refused', 'refuse'],
      ['cut', 'close-mid-body'],
      ['hang', 'hang'],
      ['boom', 'http-500'],
      ['ok', undefined],
    ] as const) {
      w.pod('faults', name, { labels: { set: 'faults' } });
      if (fault) c.server.faults.pods.set(`faults/${name}`, fault);
    }
  });
  after(() => c.close());

  test("po/NAME prints linkerd's layout with the exact body, exit 0", async () => {
    const r = await runCli(['proxy-metrics', 'po/client'], { env: c.env });
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `#\n# POD client (1 of 1)\n#\n${EGRESS}`);
  });

  test('every target kind resolves by owner UID, including old ReplicaSets and CronJob → Jobs', async () => {
    const cases: [string, string[]][] = [
      ['deploy/web', ['web-5f8d7b6c4-', 'web-7d4b9c6f5-', 'web-7d4b9c6f5-']],
      ['deployment/web-canary', ['web-canary-7d4b9c6f5-']],
      ['sts/db', ['db-', 'db-']],
      ['ds/agent', ['agent-']],
      ['rs/bare-rs', ['bare-rs-']],
      ['rc/legacy', ['legacy-']],
      ['job/once', ['once-']],
      ['cj/nightly', ['nightly-29630000-', 'nightly-29630001-']],
      ['pod/sidecar', ['sidecar']],
      ['client', ['client']],
    ];
    for (const [target, prefixes] of cases) {
      const r = await runCli(['proxy-metrics', '-n', 'egress-test', target], { env: c.env });
      assert.equal(r.code, 0, `${target}: ${r.stderr}`);
      const s = sections(r.stdout);
      assert.equal(s.length, prefixes.length, target);
      s.forEach((x, i) => {
        assert.match(
          x.header,
          new RegExp(`^# POD ${prefixes[i]}\\S* \\(${i + 1} of ${prefixes.length}\\)$`),
          target,
        );
        assert.equal(x.body, EGRESS, target);
      });
    }
  });

  test('-l selects pods by label; --all takes the whole namespace; failures are inline and exit 3', async () => {
    const byLabel = await runCli(['proxy-metrics', '-l', 'app=client'], { env: c.env });
    assert.equal(byLabel.code, 0, byLabel.stderr);
    assert.deepEqual(
      sections(byLabel.stdout).map((s) => s.header),
      ['# POD client (1 of 2)', '# POD deny-client (2 of 2)'],
    );
    assert.equal(sections(byLabel.stdout)[1]?.body, DENY);

    const all = await runCli(['proxy-metrics', '--all', '--egress'], { env: c.env });
    assert.equal(all.code, 3);
    const s = sections(all.stdout);
    // The un-injected pod is counted as unmeshed, as linkerd viz counts it, not scraped nor a failure.
    assert.equal(s.length, 16);
    assert.equal(
      s.find((x) => x.header.startsWith('# POD plain ')),
      undefined,
    );
    const pending = s.find((x) => x.header.startsWith('# POD pending '));
    assert.equal(pending?.body, '# ERROR: pod egress-test/pending is not running (phase Pending)\n');
    assert.equal(
      all.stderr,
      'note: 1 of 17 pods is not meshed (no linkerd-admin port): egress-test/plain\n' +
        'error: 1 of 16 pods failed (see the # ERROR lines): pod egress-test/pending is not running (phase Pending)\n',
    );
    // Named, it is still a failure: the user asked for that pod.
    const named = await runCli(['proxy-metrics', 'po/plain'], { env: c.env });
    assert.equal(named.code, 3);
    assert.equal(
      named.stderr,
      "error: 1 of 1 pods failed (see the # ERROR lines): pod egress-test/plain has no linkerd-admin port (is it injected? see 'linkerd inject')\n",
    );
  });

  test('--egress keeps EgressNetwork samples and their HELP/TYPE/UNIT lines, in the wire format', async () => {
    const r = await runCli(['proxy-metrics', 'po/client', '--egress'], { env: c.env });
    assert.equal(r.code, 0, r.stderr);
    const body = sections(r.stdout)[0]?.body ?? '';
    const samples = body.split('\n').filter((l) => l && !l.startsWith('#'));
    assert.ok(samples.length > 0);
    assert.ok(samples.every((l) => l.includes('parent_kind="EgressNetwork"')));
    const expected = EGRESS.split('\n').filter((l) => l.includes('parent_kind="EgressNetwork"'));
    assert.deepEqual(samples, expected);
    assert.match(
      body,
      /^# HELP outbound_http_route_request_duration_seconds The time between request initialization and response completion\.\n# TYPE outbound_http_route_request_duration_seconds histogram\n# UNIT outbound_http_route_request_duration_seconds seconds\n/m,
    );
    assert.ok(body.endsWith('# EOF\n'));
    assert.doesNotMatch(body, /^# TYPE process_/m);
  });

  test('--obfuscate hashes hostnames, IPs and policy names but keeps the rest of the dump', async () => {
    const r = await runCli(['proxy-metrics', 'po/client', '--obfuscate'], { env: c.env });
    assert.equal(r.code, 0, r.stderr);
    const body = sections(r.stdout)[0]?.body ?? '';
    assert.equal(body.split('\n').length, EGRESS.split('\n').length);
    assert.doesNotMatch(body, /httpbin\.org|all-egress-traffic|203\.0\.113\.|egress-test/);
    // sha256("httpbin.org")[:8]
    assert.match(body, /hostname="917ed089"/);
    assert.match(body, /parent_kind="EgressNetwork"/);
  });

  test('-o json gives one object per pod with families and every label, or the error', async () => {
    const r = await runCli(['proxy-metrics', '-l', 'app=client', '-o', 'json', '--egress'], { env: c.env });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as {
      pod: string;
      namespace: string;
      container: string;
      port: number;
      families: {
        name: string;
        type: string;
        samples: { name: string; labels: Record<string, string>; value: number }[];
      }[];
    }[];
    // The guide's metric name is the sample name (the family keeps its TYPE name, without _total):
    // jq '.[].families[].samples[] | select(.name == "outbound_http_route_request_statuses_total")'.
    const guide = doc
      .flatMap((p) => p.families)
      .flatMap((f) => f.samples)
      .filter((s) => s.name === 'outbound_http_route_request_statuses_total');
    assert.equal(
      guide.length,
      doc
        .flatMap((p) => p.families)
        .filter((f) => f.name === 'outbound_http_route_request_statuses')
        .reduce((n, f) => n + f.samples.length, 0),
    );
    assert.equal(guide.length, 17);
    assert.deepEqual(
      doc.map((p) => [p.pod, p.namespace, p.container, p.port]),
      [
        ['client', 'egress-test', 'linkerd-proxy', 4191],
        ['deny-client', 'egress-test', 'linkerd-proxy', 4191],
      ],
    );
    const statuses = doc[1]?.families.find((f) => f.name === 'outbound_http_route_request_statuses');
    assert.equal(statuses?.type, 'counter');
    assert.equal(statuses?.samples.length, 10);
    const denied = statuses?.samples.find(
      (s) => s.labels.route_name === 'http-egress-deny' && s.labels.http_status === '403',
    );
    assert.ok(denied && denied.value > 0);
    assert.deepEqual(Object.keys(denied.labels), [
      'parent_group',
      'parent_kind',
      'parent_namespace',
      'parent_name',
      'parent_port',
      'parent_section_name',
      'route_group',
      'route_kind',
      'route_namespace',
      'route_name',
      'hostname',
      'http_status',
      'error',
    ]);
  });

  test('each failure is reported per pod with its exact cause, and no pod is dropped', async () => {
    const r = await runCli(
      ['proxy-metrics', '-n', 'faults', '-l', 'set=faults', '--pod-timeout', '1500ms', '-o', 'json'],
      { env: c.env, timeoutMs: 20_000 },
    );
    assert.equal(r.code, 3);
    const doc = JSON.parse(r.stdout) as { pod: string; error?: string; families?: unknown[] }[];
    const byPod = Object.fromEntries(doc.map((p) => [p.pod, p.error ?? 'ok']));
    assert.deepEqual(Object.keys(byPod), ['boom', 'cut', 'forbidden', 'hang', 'ok', 'refused']);
    assert.equal(byPod.ok, 'ok');
    assert.equal(
      byPod.boom,
      'pod faults/boom: the proxy answered HTTP 500 on /metrics: internal error: metrics formatting failed',
    );
    assert.match(
      byPod.cut ?? '',
      /^pod faults\/cut: the proxy closed the connection mid-response on port 4191 \(got \d+ bytes\)$/,
    );
    assert.equal(
      byPod.forbidden,
      'pods "forbidden" is forbidden: User "egressctl-test" cannot get resource "pods/portforward" in API group "" in the namespace "faults" (403 Forbidden: ask a cluster admin for RBAC permission)',
    );
    assert.equal(
      byPod.hang,
      'pod faults/hang: no complete answer from the proxy on port 4191 within 1.5s (raise --pod-timeout)',
    );
    assert.match(
      byPod.refused ?? '',
      /^pod faults\/refused: port-forward to port 4191 failed: error forwarding port 4191 to pod .*connect: connection refused/,
    );
    assert.match(r.stderr, /^error: 5 of 6 pods failed: /);
    const verbose = await runCli(
      ['proxy-metrics', '-n', 'faults', '-l', 'set=faults', '--pod-timeout', '1500ms', '-v'],
      { env: c.env, timeoutMs: 20_000 },
    );
    assert.equal(
      verbose.stderr.split('\n').filter((l) => l.startsWith('  pod ') || l.startsWith('  pods ')).length,
      4,
      'every other failure on its own line',
    );
  });

  test('the overall --timeout reports pods still pending instead of dropping them', async () => {
    const r = await runCli(
      ['proxy-metrics', '-n', 'faults', 'po/hang', '--timeout', '800ms', '--pod-timeout', '10s'],
      { env: c.env, timeoutMs: 20_000 },
    );
    assert.equal(r.code, 3);
    assert.equal(
      r.stdout,
      '#\n# POD hang (1 of 1)\n#\n# ERROR: pod faults/hang: not scraped within --timeout 0.8s (raise --timeout or --max-concurrency)\n',
    );
  });

  test('an overloaded or failing API server on the port-forward names the pod (429, 500, 503)', async () => {
    const said: Record<number, string> = {
      429: 'Too many requests, please try again later. (429 TooManyRequests)',
      500: 'the server is failing (500 InternalError)',
      503: 'the server is currently unable to handle the request (503 ServiceUnavailable)',
    };
    for (const status of [429, 500, 503] as const) {
      // More answers than the client's retries of the upgrade, so the failure is what is reported.
      c.server.faults.answer = [{ status, match: /portforward/, times: 20 }];
      const r = await runCli(['proxy-metrics', '-n', 'egress-test', 'po/client', '--timeout', '5s'], {
        env: c.env,
      });
      c.server.faults.answer = [];
      assert.equal(r.code, 3, r.stderr);
      assert.equal(
        r.stdout,
        `#\n# POD client (1 of 1)\n#\n# ERROR: port-forward to pod egress-test/client: ${said[status]}\n`,
      );
    }
  });

  test('no matching pods is an immediate error, not a wait', async () => {
    const r = await runCli(['proxy-metrics', '-l', 'app=nothing'], { env: c.env });
    assert.equal(r.code, 3);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'error: no pods found for pods matching "app=nothing" in namespace egress-test\n');
    const d = await runCli(['proxy-metrics', '-n', 'faults', 'deploy/f'], { env: c.env });
    assert.equal(d.stderr, 'error: no pods found for deploy/f in namespace faults\n');
  });

  test('missing objects and bad targets name the object and the fix', async () => {
    const missing = await runCli(['proxy-metrics', 'deploy/nope'], { env: c.env });
    assert.equal(missing.code, 3);
    assert.equal(
      missing.stderr,
      'error: deployment egress-test/nope not found: check the name and the namespace (-n)\n',
    );
    const badType = await runCli(['proxy-metrics', 'svc/web'], { env: c.env });
    assert.equal(badType.code, 2);
    assert.equal(
      badType.stderr,
      'error: unsupported resource type "svc" in "svc/web": use po, deploy, sts, ds, rs, rc, job or cj (e.g. deploy/web)\n',
    );
    const none = await runCli(['proxy-metrics'], { env: c.env });
    assert.equal(none.code, 2);
    assert.equal(
      none.stderr,
      'error: no pods chosen: give a TYPE/NAME target (e.g. po/client), -l SELECTOR, or --all\n',
    );
    const both = await runCli(['proxy-metrics', 'po/client', '--all'], { env: c.env });
    assert.equal(both.code, 2);
    const badDur = await runCli(['proxy-metrics', 'po/client', '--timeout', 'soon'], { env: c.env });
    assert.equal(
      badDur.stderr,
      'error: invalid value "soon" for --timeout: want a duration such as 500ms, 10s or 2m\n',
    );
  });

  test('API errors: 401 with a wrong token, 403 on list, and an unreachable server', async () => {
    const bad = path.join(path.dirname(c.kubeconfig), 'bad-token');
    fs.writeFileSync(bad, c.server.kubeconfig({ namespace: 'egress-test', token: 'wrong' }));
    const r401 = await runCli(['proxy-metrics', 'po/client'], { env: { KUBECONFIG: bad } });
    assert.equal(r401.code, 3);
    assert.equal(
      r401.stderr,
      'error: the API server rejected our credentials (401 Unauthorized) on get po/client in namespace egress-test: check the user of your kubeconfig context (kubectl auth whoami)\n',
    );
    c.server.faults.deny.push({ verb: 'list', resource: 'pods', namespace: 'egress-test' });
    try {
      const r403 = await runCli(['proxy-metrics', '--all'], { env: c.env });
      assert.equal(r403.code, 3);
      assert.equal(
        r403.stderr,
        'error: pods is forbidden: User "egressctl-test" cannot list resource "pods" in API group "" in the namespace "egress-test" (403 Forbidden: ask a cluster admin for RBAC permission)\n',
      );
    } finally {
      c.server.faults.deny.pop();
    }
    const gone = path.join(path.dirname(c.kubeconfig), 'gone');
    fs.writeFileSync(
      gone,
      c.server.kubeconfig({ namespace: 'egress-test' }).replace(/127\.0\.0\.1:\d+/, '127.0.0.1:1'),
    );
    const down = await runCli(['proxy-metrics', 'po/client'], { env: { KUBECONFIG: gone } });
    assert.equal(down.code, 3);
    assert.match(
      down.stderr,
      /^error: cannot reach the API server at 127\.0\.0\.1:1 \(get po\/client in namespace egress-test\): connect ECONNREFUSED 127\.0\.0\.1:1 \(is the cluster running\? check --context and --kubeconfig\)\n$/,
    );
  });

  test('client-certificate auth: a certificate from the cluster CA works for REST and port-forward; another is 401', async () => {
    const ca = c.server.ca;
    assert.ok(ca);
    const good = path.join(path.dirname(c.kubeconfig), 'cert-good');
    fs.writeFileSync(
      good,
      c.server.kubeconfig({ namespace: 'egress-test', clientCert: issueClientCert(ca, 'alice') }),
    );
    const ok = await runCli(['proxy-metrics', 'po/client'], { env: { KUBECONFIG: good } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(sections(ok.stdout)[0]?.body, EGRESS);
    const bad = path.join(path.dirname(c.kubeconfig), 'cert-bad');
    fs.writeFileSync(
      bad,
      c.server.kubeconfig({
        namespace: 'egress-test',
        clientCert: issueClientCert(untrustedCa(), 'mallory'),
      }),
    );
    const no = await runCli(['proxy-metrics', 'po/client'], { env: { KUBECONFIG: bad } });
    assert.equal(no.code, 3);
    assert.match(no.stderr, /^error: the API server rejected our credentials \(401 Unauthorized\)/);
  });

  test('no kubeconfig at all says what to do', async () => {
    const r = await runCli(['proxy-metrics', 'po/client'], {
      env: { KUBECONFIG: '/nonexistent', HOME: '/nonexistent' },
    });
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'error: no kubeconfig found: set KUBECONFIG or pass --kubeconfig (or run in a cluster; for a local simulated one, run: egressctl sandbox)\n',
    );
  });
});

describe('proxy-metrics over plain HTTP, and a handshake that never completes', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster({ tls: false, metrics: () => EGRESS });
    c.world.pod('egress-test', 'client');
  });
  after(() => c.close());

  test('plain HTTP with insecure-skip-tls-verify works; gzip is negotiated and decoded', async () => {
    const r = await runCli(['proxy-metrics', 'po/client', '--context', 'sandbox'], { env: c.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sections(r.stdout)[0]?.body, EGRESS);
    const pf = c.server.requests.filter((q) => q.path.endsWith('/portforward'));
    assert.deepEqual(pf.at(-1)?.query, { ports: '4191' });
  });

  test('a port-forward upgrade that never completes: the handshake timeout fires, the pod is reported', async () => {
    c.server.faults.hangUpgrades = true;
    try {
      const r = await runCli(['proxy-metrics', 'po/client', '--pod-timeout', '1s'], {
        env: c.env,
        timeoutMs: 20_000,
      });
      assert.equal(r.code, 3);
      assert.equal(
        r.stdout,
        '#\n# POD client (1 of 1)\n#\n# ERROR: port-forward to pod egress-test/client: the API server did not complete the WebSocket handshake within 0.5s\n',
      );
    } finally {
      c.server.faults.hangUpgrades = false;
    }
  });

  test('an API server that accepts TCP but never answers: the per-pod deadline fires', async () => {
    c.server.faults.hangAll = true;
    try {
      const r = await runCli(['proxy-metrics', 'po/client', '--request-timeout', '1s'], {
        env: c.env,
        timeoutMs: 20_000,
      });
      assert.equal(r.code, 3);
      assert.equal(
        r.stderr,
        'error: get po/client in namespace egress-test: no answer from the API server within 1s (--request-timeout)\n',
      );
    } finally {
      c.server.faults.hangAll = false;
    }
  });
});
