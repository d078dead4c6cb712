import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EgressLedger } from '../src/metrics/ledger.js';
import type { StatReport } from '../src/metrics/stat.js';
import type { PlanReport } from '../src/policy/plan.js';
import { instantQuery, urlEndpoint, type Endpoint } from '../src/prometheus/client.js';
import { queryEgress, queryPodSample } from '../src/prometheus/egress.js';
import { parseSince } from '../src/prometheus/flags.js';
import { FAMILIES, familyQuery, ownerOf, ownersQuery, podsQuery } from '../src/prometheus/queries.js';
import { runCli } from './helpers/cli.js';
import { skipWithoutPrometheus, startPromBed, type PromBed } from './helpers/prometheus.js';

/**
 * The report without what only one source records: `source` (Prometheus), and each row's `stale`, which
 * the pods source reads from the current policy objects and the Prometheus source leaves null (unknown).
 */
function comparable(text: string): Omit<StatReport, 'source'> {
  const r = JSON.parse(text) as StatReport;
  delete r.source;
  for (const x of [...r.rows, ...r.uncaptured]) (x as { stale?: unknown }).stale = undefined;
  return JSON.parse(JSON.stringify(r)) as StatReport;
}

/** An endpoint to `url` that records each query it sends (the POST body or the decoded GET path). */
function countingEndpoint(url: string): { endpoint: Endpoint; sent: string[] } {
  const sent: string[] = [];
  const base = urlEndpoint(new URL(url));
  return {
    sent,
    endpoint: {
      name: base.name,
      send: (req) => {
        sent.push(req.body ?? decodeURIComponent(req.path));
        return base.send(req);
      },
    },
  };
}

describe(
  'egress stat from a real Prometheus (Debian prometheus 2.42)',
  { skip: skipWithoutPrometheus },
  () => {
    let bed: PromBed;
    const env = () => ({ KUBECONFIG: bed.kubeconfig, EGRESSCTL_PROMETHEUS: undefined });
    before(async () => {
      bed = await startPromBed({ pods: 3 });
      await bed.prom.waitForScrapes({ n: 2 });
      // The same counters for both sources: freeze the proxies, then wait for a scrape of every one.
      const at = bed.freeze();
      await bed.prom.waitForScrapes({ afterMs: at });
    });
    after(async () => {
      await bed?.stop();
    });

    for (const args of [
      ['-A'],
      ['-A', '--by', 'route'],
      ['-A', '--by', 'network'],
      ['-n', 'egress-test', '--by', 'pod'],
      ['-A', '--by', 'workload'],
      ['-n', 'egress-test', 'po/client'],
      ['-n', 'egress-test', '-l', 'app=client'],
    ]) {
      test(`--prometheus and the pods give the same rows, verdicts and counts: ${args.join(' ')}`, async () => {
        const [viaProm, viaPods] = await Promise.all([
          runCli(['egress', 'stat', ...args, '--prometheus', bed.prom.url, '-o', 'json'], { env: env() }),
          runCli(['egress', 'stat', ...args, '-o', 'json'], { env: env() }),
        ]);
        assert.equal(viaPods.code, 0, viaPods.stderr);
        assert.equal(viaProm.code, 0, viaProm.stderr);
        assert.equal(viaProm.stderr, '');
        const p = comparable(viaProm.stdout);
        const k = comparable(viaPods.stdout);
        assert.ok(
          k.rows.length >= (args.includes('route') || args.includes('network') ? 1 : 6),
          'traffic seen',
        );
        assert.deepEqual(p, k);
        const source = (JSON.parse(viaProm.stdout) as StatReport).source;
        assert.equal(source?.type, 'prometheus');
        assert.equal(source?.server, bed.prom.url);
        assert.equal(source?.since, undefined);
      });
    }

    test('the table is the same too', async () => {
      const [viaProm, viaPods] = await Promise.all([
        runCli(['egress', 'stat', '-A', '-o', 'wide', '--prometheus', bed.prom.url], { env: env() }),
        runCli(['egress', 'stat', '-A', '-o', 'wide'], { env: env() }),
      ]);
      assert.equal(viaProm.stdout, viaPods.stdout);
      assert.match(viaProm.stdout, /^Egress totals since each proxy started, across 5 pod\(s\)/);
    });

    test('-o ledger: the same flows and workloads, the source recorded', async () => {
      const [viaProm, viaPods] = await Promise.all([
        runCli(['egress', 'stat', '-A', '--prometheus', bed.prom.url, '-o', 'ledger'], { env: env() }),
        runCli(['egress', 'stat', '-A', '-o', 'ledger'], { env: env() }),
      ]);
      assert.equal(viaProm.code, 0, viaProm.stderr);
      assert.equal(viaPods.code, 0, viaPods.stderr);
      const p = JSON.parse(viaProm.stdout) as EgressLedger;
      const k = JSON.parse(viaPods.stdout) as EgressLedger;
      assert.deepEqual(p.source, { kind: 'prometheus', url: bed.prom.url });
      assert.equal(p.window.start, null);
      assert.equal(p.window.seconds, null);
      // lastSeen is each source's own moment; everything else is the traffic.
      const flows = (l: EgressLedger) => l.flows.map((f) => ({ ...f, lastSeen: undefined }));
      assert.ok(k.flows.length >= 6);
      assert.deepEqual(flows(p), flows(k));
    });

    test('egress learn from Prometheus proposes what it proposes from the pods', async () => {
      const [viaProm, viaPods] = await Promise.all([
        runCli(['egress', 'learn', '-n', 'egress-test', '--prometheus', bed.prom.url, '-o', 'json'], {
          env: env(),
        }),
        runCli(['egress', 'learn', '-n', 'egress-test', '-o', 'json'], { env: env() }),
      ]);
      assert.equal(viaProm.code, 0, viaProm.stderr);
      assert.equal(viaPods.code, 0, viaPods.stderr);
      const p = JSON.parse(viaProm.stdout) as { objects: { kind: string }[]; kept: number };
      const k = JSON.parse(viaPods.stdout) as { objects: { kind: string }[]; kept: number };
      assert.ok(k.kept >= 6);
      // The annotation records when each source read the counters; the rest is the proposal.
      const until = (t: string) =>
        t.replace(/until \S+ /g, 'until T ').replace(/"end": "[^"]+"/, '"end": "T"');
      assert.deepEqual(JSON.parse(until(viaProm.stdout)), JSON.parse(until(viaPods.stdout)));
      assert.match(
        viaProm.stdout,
        /learned-from": "pods=3 workloads=pod\/client,pod\/client-2,pod\/client-3 window=totals until /,
      );
      assert.ok(p.objects.some((o) => o.kind === 'EgressNetwork'));
    });

    test('egress learn --since and egress plan --since read the window from Prometheus', async () => {
      const learned = await runCli(['egress', 'learn', '-n', 'egress-test', '--since', '1h', '-o', 'json'], {
        env: env(),
      });
      assert.equal(learned.code, 0, learned.stderr);
      const l = JSON.parse(learned.stdout) as {
        window: EgressLedger['window'];
        objects: { kind: string; spec?: { trafficPolicy?: string } }[];
      };
      assert.equal(l.window.seconds, 3600);
      assert.ok(l.window.start !== null);
      assert.equal(Date.parse(l.window.end) - Date.parse(l.window.start), 3_600_000);
      assert.ok(l.objects.some((o) => o.kind === 'EgressNetwork' && o.spec?.trafficPolicy === 'Deny'));

      const fs = await import('node:fs');
      const os = await import('node:os');
      const path = await import('node:path');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-prom-plan-'));
      const deny = await runCli(['egress', 'deny', '--dry-run=client', '-o', 'yaml'], { env: env() });
      assert.equal(deny.code, 0, deny.stderr);
      fs.writeFileSync(path.join(dir, 'deny.yaml'), deny.stdout);
      const [viaProm, viaPods] = await Promise.all([
        runCli(['egress', 'plan', '-f', dir, '--since', '1d', '-o', 'json'], { env: env() }),
        runCli(['egress', 'plan', '-f', dir, '-o', 'json'], { env: env() }),
      ]);
      fs.rmSync(dir, { recursive: true, force: true });
      assert.equal(viaProm.code, 0, viaProm.stderr);
      assert.equal(viaPods.code, 0, viaPods.stderr);
      const p = JSON.parse(viaProm.stdout) as PlanReport;
      const k = JSON.parse(viaPods.stdout) as PlanReport;
      assert.equal(p.window.seconds, 86_400);
      assert.equal(p.source.kind, 'prometheus');
      const breaks = (x: PlanReport) =>
        x.flows
          .filter((c) => c.change === 'break')
          .map((c) => `${c.flow.protocol} ${c.flow.destination}`)
          .sort();
      assert.ok(breaks(k).length >= 6);
      assert.deepEqual(breaks(p), breaks(k));
    });

    test('--interval with Prometheus, and --since with --source pods, are refused in one line', async () => {
      const r = await runCli(['egress', 'learn', '--prometheus', bed.prom.url, '--interval', '5s'], {
        env: env(),
      });
      assert.equal(r.code, 2);
      assert.equal(
        r.stderr,
        'error: --interval scrapes the proxies twice; from Prometheus use --since DURATION (or --source pods)\n',
      );
    });

    test('EGRESSCTL_PROMETHEUS selects the server like --prometheus', async () => {
      const r = await runCli(['egress', 'stat', '-A', '-o', 'json'], {
        env: { ...env(), EGRESSCTL_PROMETHEUS: bed.prom.url },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as StatReport).source?.server, bed.prom.url);
      const pods = await runCli(['egress', 'stat', '-A', '-o', 'json', '--source', 'pods'], {
        env: { ...env(), EGRESSCTL_PROMETHEUS: bed.prom.url },
      });
      assert.equal((JSON.parse(pods.stdout) as StatReport).source, undefined);
    });

    test("--source prometheus finds linkerd-viz's Prometheus and port-forwards to its pod", async () => {
      const [viaViz, viaPods] = await Promise.all([
        runCli(['egress', 'stat', '-n', 'egress-test', '--source', 'prometheus', '-o', 'json'], {
          env: env(),
        }),
        runCli(['egress', 'stat', '-n', 'egress-test', '-o', 'json'], { env: env() }),
      ]);
      assert.equal(viaViz.code, 0, viaViz.stderr);
      assert.equal(
        (JSON.parse(viaViz.stdout) as StatReport).source?.server,
        `linkerd-viz's Prometheus (pod linkerd-viz/${bed.prom.pod}, port-forwarded)`,
      );
      assert.deepEqual(comparable(viaViz.stdout), comparable(viaPods.stdout));
      // Through the API server's pods/portforward, never its services/proxy (linkerd2 #10790).
      const paths = bed.sb.server.requests.map((r) => r.path);
      assert.ok(paths.includes(`/api/v1/namespaces/linkerd-viz/pods/${bed.prom.pod}/portforward`));
      assert.ok(!paths.some((p) => p.includes('/services/')));
    });

    test('--since 1h: increase() over the window, recorded in the report', async () => {
      const r = await runCli(['egress', 'stat', '-A', '--since', '1h', '-o', 'json'], { env: env() });
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout) as StatReport;
      assert.deepEqual(j.window, { mode: 'rate', seconds: 3600 });
      assert.equal(j.source?.since, 3600);
      assert.ok(j.rows.length >= 6);
      for (const row of j.rows) {
        assert.ok((row.requests || row.connections?.opened || 0) > 0, JSON.stringify(row));
        assert.ok(row.rate !== null && row.rate > 0);
        assert.equal(row.verdict, 'allowed');
      }
      const http = j.rows.find((x) => x.protocol === 'http');
      assert.ok(http?.latencyMs && http.latencyMs.p50 > 0 && http.latencyMs.p99 >= http.latencyMs.p95);
    });

    test('the number of queries does not depend on the number of pods, and none names a pod', async () => {
      const { endpoint: counting, sent } = countingEndpoint(bed.prom.url);
      const all = await queryEgress(counting, {
        scope: { namespace: undefined },
        at: Date.now(),
        deadlineMs: 10_000,
      });
      const one = await queryEgress(counting, {
        scope: { namespace: 'egress-test', workload: { label: 'pod', name: 'client' } },
        at: Date.now(),
        deadlineMs: 10_000,
      });
      // The families, the pod counts, hostname labels, proxies, and (few pairs) the pod names.
      assert.equal(all.queries, FAMILIES.length + 4);
      assert.equal(one.queries, all.queries);
      assert.equal(sent.length, 2 * all.queries);
      assert.ok(!sent.slice(0, all.queries).some((q) => /client/.test(q)));
      assert.equal(all.proxies, 5);
      assert.equal(one.proxies, 1);

      // What learn, plan and -o ledger read: the families by pod, without the latency buckets (a
      // ledger has no latency), the proxies and their owners; again the same for any number of pods.
      sent.length = 0;
      const ledger = await queryPodSample(counting, {
        scope: { namespace: undefined },
        at: Date.now(),
        deadlineMs: 10_000,
        owners: true,
        latency: false,
      });
      const buckets = FAMILIES.filter((f) => f.part === 'duration').length;
      assert.equal(buckets, 2);
      assert.equal(ledger.queries, FAMILIES.length - buckets + 2);
      assert.equal(sent.length, ledger.queries);
      assert.ok(!sent.some((q) => q.includes('_bucket')));
      assert.equal(ledger.sample.scraped, 5);
      assert.equal(ledger.workloads.size, 5);
    });

    test('over the pod-names limit, rows count their pods instead (one series per row)', async () => {
      const pods = await runCli(['egress', 'stat', '-A', '-o', 'json'], { env: env() });
      const k = JSON.parse(pods.stdout) as StatReport;
      for (const by of ['host', 'route', 'network'] as const) {
        const [{ toPromStatReport }, base] = [
          await import('../src/prometheus/egress.js'),
          urlEndpoint(new URL(bed.prom.url)),
        ];
        const p = await queryEgress(base, {
          scope: { namespace: undefined },
          by,
          at: Date.now(),
          deadlineMs: 10_000,
          podNamesLimit: 0,
        });
        assert.equal(p.queries, FAMILIES.length + 3);
        const r = toPromStatReport(p, by, base.name);
        const viaPods =
          by === 'host'
            ? k
            : (JSON.parse(
                (await runCli(['egress', 'stat', '-A', '--by', by, '-o', 'json'], { env: env() })).stdout,
              ) as StatReport);
        assert.deepEqual(
          r.rows.map((x) => [x.destination, x.requests, x.connections, x.podCount, x.pods]),
          viaPods.rows.map((x) => [x.destination, x.requests, x.connections, x.pods.length, []]),
        );
      }
    });

    test('--by workload past the limit: one series per row and workload, each row counting its pods', async () => {
      const { queryWorkloadReport } = await import('../src/prometheus/egress.js');
      const { endpoint: counting, sent } = countingEndpoint(bed.prom.url);
      const r = await queryWorkloadReport(counting, {
        scope: { namespace: undefined },
        at: Date.now(),
        deadlineMs: 10_000,
      });
      // The families, the pods per row and workload, hostname labels, proxies; none names a pod.
      assert.equal(sent.length, FAMILIES.length + 3);
      assert.ok(!sent.some((q) => /by \([^)]*\bpod\b[^)]*\) \(sum|sum by \([^)]*\bpod\b/.test(q)));
      const viaPods = JSON.parse(
        (await runCli(['egress', 'stat', '-A', '--by', 'workload', '-o', 'json'], { env: env() })).stdout,
      ) as StatReport;
      const shape = (x: StatReport['rows'][number], pods: number | undefined) => [
        x.workload,
        x.destination,
        x.route.name,
        x.requests,
        x.connections,
        x.denied,
        x.verdict,
        pods,
      ];
      assert.ok(viaPods.rows.length >= 6);
      assert.deepEqual(
        r.rows.map((x) => shape(x, x.podCount)),
        viaPods.rows.map((x) => shape(x, x.pods.length)),
      );
      assert.ok(r.rows.every((x) => x.pods.length === 0));
      assert.equal(r.groupBy, 'workload');
      assert.equal(r.pods.scraped, viaPods.pods.scraped);
    });

    test('withWorkload names the workload as ownerOf does, in PromQL', async () => {
      const { withWorkload, WORKLOAD } = await import('../src/prometheus/queries.js');
      const rows: [string, string][] = [
        ['{pod="web-7d4b9-x2x",deployment="web",replicaset="web-7d4b9"}', 'deployment/web'],
        ['{pod="rs-only-abc",replicaset="rs-only"}', 'replicaset/rs-only'],
        ['{pod="nightly-1-z",k8s_job="nightly-1",cronjob="nightly"}', 'job/nightly-1'],
        ['{pod="db-0",statefulset="db"}', 'statefulset/db'],
        ['{pod="bare"}', 'pod/bare'],
      ];
      for (const [labels, want] of rows) {
        // A literal vector with those labels, through the same label_replace chain, in the real engine.
        const m = /\{(.*)\}/.exec(labels)?.[1] ?? '';
        let v = 'vector(1)';
        for (const pair of m.split(',')) {
          const [k, val] = pair.split('=');
          v = `label_replace(${v}, "${k}", ${val}, "", "")`;
        }
        const [s] = await instantQuery(urlEndpoint(new URL(bed.prom.url)), withWorkload(v), {
          purpose: 'the test',
          deadlineMs: 5000,
        });
        assert.equal(s?.metric[WORKLOAD], want, labels);
      }
    });

    test('a TYPE/NAME target uses the relabelled owner labels', async () => {
      const r = await runCli(
        ['egress', 'stat', '-n', 'egress-test', 'deploy/internal-egress', '--prometheus', bed.prom.url],
        { env: env() },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /across 1 pod\(s\)/);
      const rc = await runCli(['egress', 'stat', '-n', 'egress-test', 'rc/x', '--prometheus', bed.prom.url], {
        env: env(),
      });
      assert.equal(rc.code, 2);
      assert.match(
        rc.stderr,
        /^error: rc\/x: linkerd-viz's Prometheus has no label for replicationcontrollers/,
      );
    });

    test('a scope Prometheus has no proxies for is one line, exit 3', async () => {
      const r = await runCli(['egress', 'stat', '-n', 'nowhere', '--prometheus', bed.prom.url], {
        env: env(),
      });
      assert.equal(r.code, 3);
      assert.equal(
        r.stderr,
        `error: ${bed.prom.url} has no linkerd-proxy series (proxy_build_info) for pods in namespace nowhere: check that namespace nowhere has meshed pods, and that it scrapes the proxies, as linkerd-viz's scrape config does\n`,
      );
    });
  },
);

/** A fake Prometheus API answering `reply` and recording what it was sent. */
async function fakeProm(
  reply: (req: http.IncomingMessage, body: string) => { code: number; body: unknown },
): Promise<{
  url: string;
  seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}> {
  const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const r = reply(req, body);
      res.writeHead(r.code, { 'Content-Type': 'application/json' });
      res.end(typeof r.body === 'string' ? r.body : JSON.stringify(r.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const vector = (
  result: { metric: Record<string, string>; value: [number, string] }[],
  warnings?: string[],
) => ({
  status: 'success',
  data: { resultType: 'vector', result },
  ...(warnings ? { warnings } : {}),
});

describe("viz's owner labels name a pod's workload as the API server's owners do", () => {
  test('ownerOf: Deployment over ReplicaSet, Job over CronJob, else the pod', () => {
    const rows: [Record<string, string>, { kind: string; name: string }][] = [
      [
        { pod: 'web-7d4b9-x2x', deployment: 'web', replicaset: 'web-7d4b9' },
        { kind: 'deployment', name: 'web' },
      ],
      [
        { pod: 'rs-only-abc', replicaset: 'rs-only' },
        { kind: 'replicaset', name: 'rs-only' },
      ],
      [
        { pod: 'db-0', statefulset: 'db' },
        { kind: 'statefulset', name: 'db' },
      ],
      [
        { pod: 'agent-q', daemonset: 'agent' },
        { kind: 'daemonset', name: 'agent' },
      ],
      [
        { pod: 'nightly-1-z', k8s_job: 'nightly-1', cronjob: 'nightly' },
        { kind: 'job', name: 'nightly-1' },
      ],
      [
        { pod: 'legacy-a', replicationcontroller: 'legacy' },
        { kind: 'replicationcontroller', name: 'legacy' },
      ],
      [{ pod: 'bare' }, { kind: 'pod', name: 'bare' }],
      [
        { pod: 'empty', deployment: '' },
        { kind: 'pod', name: 'empty' },
      ],
    ];
    for (const [labels, want] of rows) assert.deepEqual(ownerOf(labels), want, JSON.stringify(labels));
  });

  test('ownersQuery: one series per proxy, grouped by pod and every owner label', () => {
    assert.equal(
      ownersQuery({ namespace: 'web' }),
      'group by (namespace,pod,deployment,statefulset,daemonset,k8s_job,replicaset,replicationcontroller) (proxy_build_info{namespace="web"})',
    );
  });
});

describe('the Prometheus client', () => {
  test('"status":"error" (400, 422, 503) is one line naming the server and the purpose', async () => {
    for (const code of [400, 422, 503]) {
      const f = await fakeProm(() => ({
        code,
        body: {
          status: 'error',
          errorType: 'bad_data',
          error: 'invalid parameter "query": 1:5: parse error\nmore',
        },
      }));
      await assert.rejects(
        instantQuery(urlEndpoint(new URL(f.url)), 'up', {
          purpose: 'HTTP request statuses',
          deadlineMs: 5000,
        }),
        {
          name: 'ClusterError',
          message: `${f.url}: the query for HTTP request statuses failed (HTTP ${code}, bad_data): invalid parameter "query": 1:5: parse error`,
        },
      );
      await f.close();
    }
  });

  test('warnings are passed on; NaN and Inf mean no data', async () => {
    const f = await fakeProm(() => ({
      code: 200,
      body: vector(
        [
          { metric: { a: '1' }, value: [1, '3'] },
          { metric: { a: '2' }, value: [1, 'NaN'] },
          { metric: { a: '3' }, value: [1, '+Inf'] },
        ],
        ['partial response: store gateway down'],
      ),
    }));
    const warnings: string[] = [];
    const r = await instantQuery(urlEndpoint(new URL(f.url)), 'x', {
      purpose: 'p',
      deadlineMs: 5000,
      onWarning: (w) => warnings.push(w),
    });
    assert.deepEqual(r, [{ metric: { a: '1' }, value: 3 }]);
    assert.deepEqual(warnings, [`${f.url}: partial response: store gateway down`]);
    await f.close();
  });

  test('the CLI shows warnings on stderr and sends token, headers and basic auth; long queries are POSTed', async () => {
    const f = await fakeProm(() => ({ code: 200, body: vector([{ metric: {}, value: [1, '2'] }], ['w1']) }));
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-promauth-'));
    fs.writeFileSync(path.join(dir, 'token'), 'sekret\n');
    const u = new URL(f.url);
    u.username = 'alice';
    u.password = 'pw';
    const r = await runCli(
      ['egress', 'stat', '-A', '--prometheus', u.href, '--prometheus-header', 'X-Scope-OrgID=tenant-1'],
      {},
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^warning: ${f.url}: w1\n`));
    assert.equal(f.seen[0]?.headers.authorization, `Basic ${Buffer.from('alice:pw').toString('base64')}`);
    assert.ok(f.seen.every((s) => s.headers['x-scope-orgid'] === 'tenant-1'));
    assert.ok(
      f.seen.some(
        (s) => s.method === 'POST' && s.headers['content-type'] === 'application/x-www-form-urlencoded',
      ),
    );
    assert.ok(f.seen.some((s) => s.method === 'GET'));
    f.seen.length = 0;
    const t = await runCli(
      ['egress', 'stat', '-A', '--prometheus', f.url, '--prometheus-token-file', path.join(dir, 'token')],
      {},
    );
    assert.equal(t.code, 0, t.stderr);
    assert.equal(f.seen[0]?.headers.authorization, 'Bearer sekret');
    fs.rmSync(dir, { recursive: true, force: true });
    await f.close();
  });

  test('refusals, wrong servers and closed ports are one line, exit 3', async () => {
    const f = await fakeProm((req) =>
      req.headers.authorization ? { code: 502, body: '<html>bad gateway</html>' } : { code: 401, body: 'no' },
    );
    const r = await runCli(['egress', 'stat', '-A', '--prometheus', f.url], {});
    assert.equal(r.code, 3);
    assert.match(
      r.stderr,
      new RegExp(
        `^error: ${f.url}: the query for .* was refused \\(HTTP 401\\): check --prometheus-token-file, the URL's user:password, or --prometheus-header\n$`,
      ),
    );
    const u = new URL(f.url);
    u.username = 'a';
    const w = await runCli(['egress', 'stat', '-A', '--prometheus', u.href], {});
    assert.equal(w.code, 3);
    assert.match(w.stderr, /got HTTP 502 without a Prometheus answer: is this the Prometheus HTTP API/);
    assert.doesNotMatch(w.stderr, /a@/, 'credentials are never printed');
    await f.close();
    const closed = await runCli(['egress', 'stat', '-A', '--prometheus', f.url], {});
    assert.equal(closed.code, 3);
    assert.match(
      closed.stderr,
      /^error: http:\/\/127\.0\.0\.1:\d+: the query for .* failed: ECONNREFUSED: check the URL and that Prometheus is up\n$/,
    );
  });

  test('bad flags are usage errors (exit 2)', async () => {
    const cases: [string[], RegExp][] = [
      [['--prometheus', 'ftp://x'], /invalid --prometheus "ftp:\/\/x": want an http:\/\/ or https:\/\/ URL/],
      [['--prometheus', 'nope'], /invalid --prometheus "nope"/],
      [['--since', 'soon'], /invalid value "soon" for --since/],
      [['--since', '1h', '--source', 'pods'], /--since needs Prometheus/],
      [['--prometheus', 'http://x', '--source', 'pods'], /--source pods reads the proxies/],
      [
        ['--prometheus', 'http://x', '--prometheus-header', 'novalue'],
        /invalid --prometheus-header "novalue"/,
      ],
      [['--prometheus', 'http://x', '--interval', '5s'], /--interval and --watch scrape the proxies twice/],
      [
        ['--prometheus', 'http://x', '--prometheus-token-file', '/nonexistent/t'],
        /cannot read --prometheus-token-file \/nonexistent\/t: ENOENT/,
      ],
    ];
    for (const [args, re] of cases) {
      const r = await runCli(['egress', 'stat', '-A', ...args], {});
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
  });

  test('--since takes Prometheus durations', () => {
    assert.equal(parseSince('1h'), 3600);
    assert.equal(parseSince('7d'), 604800);
    assert.equal(parseSince('1w2d'), 777600);
    assert.equal(parseSince('1d12h'), 129600);
    assert.equal(parseSince('90'), 90);
    // A window is not a wait: past the 24h every timer flag is held to (a regression: 48h was refused).
    assert.equal(parseSince('48h'), 172_800);
    assert.equal(parseSince('30d'), 2_592_000);
    assert.equal(parseSince('1.5h'), 5400);
    assert.equal(parseSince('3650d'), 315_360_000);
    const refused: [string, string][] = [
      ['', 'want a window such as 30m, 1h, 1d or 7d'],
      ['1x', 'want a window such as 30m, 1h, 1d or 7d'],
      ['7days', 'want a window such as 30m, 1h, 1d or 7d'],
      ['-1h', 'want a window such as 30m, 1h, 1d or 7d'],
      ['0s', 'want a window of 1s or more, such as 1h or 7d'],
      ['400ms', 'want a window of 1s or more, such as 1h or 7d'],
      ['3651d', 'the longest window allowed is 3650d'],
    ];
    for (const [text, why] of refused)
      assert.throws(() => parseSince(text), {
        name: 'UsageError',
        message: `invalid value "${text}" for --since: ${why}`,
      });
  });

  test('the queries are one sum by per family over the row labels', () => {
    const q = familyQuery(FAMILIES[0]!, { namespace: 'egress-test' }, { windowSeconds: 3600, perPod: false });
    assert.equal(
      q,
      'sum by (parent_kind,parent_namespace,parent_name,parent_port,route_kind,route_namespace,route_name,hostname,target_ip,target_port,http_status,grpc_status,error) (' +
        'increase({__name__="outbound_http_route_request_statuses_total",parent_kind="EgressNetwork",namespace="egress-test"}[3600s]) or ' +
        'increase({__name__="outbound_http_route_request_statuses_total",parent_kind="default",parent_name="egress-fallback",namespace="egress-test"}[3600s]))',
    );
    assert.doesNotMatch(podsQuery({ namespace: undefined }, {}), /increase/);
  });
});
