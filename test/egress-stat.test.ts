/* eslint-disable no-control-regex -- the tests look for ANSI colour codes */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  deltaExposition,
  EgressModel,
  isEgressFamily,
  mergeModels,
  quantile,
  verdictOf,
} from '../src/metrics/egress.js';
import { parseMetrics } from '../src/metrics/parse.js';
import type { StatReport } from '../src/metrics/stat.js';
import { parse as parseYaml } from 'yaml';
import { runCli } from './helpers/cli.js';
import { fixture, startCluster, type TestCluster } from './helpers/cluster.js';

const EGRESS = fixture('proxy-metrics-egress.txt');
const DENY = fixture('proxy-metrics-deny.txt');

function rowsOf(body: string) {
  const m = new EgressModel();
  m.add('egress-test/client', parseMetrics(body, { keep: isEgressFamily }));
  return mergeModels([m]);
}

test('the egress model reads every protocol, route and verdict from the Allow fixture', () => {
  const rows = rowsOf(EGRESS);
  const find = (route: string, dest: string) =>
    rows.find((r) => r.route.name === route && r.destination === dest);
  const get = find('httpbin-get', 'httpbin.org');
  assert.deepEqual(
    [get?.network, get?.protocol, get?.route.kind, get?.counts.requests, verdictOf(get!)],
    [
      { namespace: 'egress-test', name: 'all-egress-traffic', port: '80' },
      'http',
      'HTTPRoute',
      697,
      'allowed',
    ],
  );
  const denied = find('http-egress-deny', 'github.com');
  assert.equal(verdictOf(denied!), 'denied');
  assert.equal(denied?.counts.denied, 4);
  const tls = find('tls-egress-deny', 'github.com');
  assert.deepEqual([tls?.protocol, tls?.counts.forbidden, verdictOf(tls!)], ['tls', 5, 'denied']);
  const tcp = rows.find((r) => r.protocol === 'tcp');
  assert.equal(tcp?.destination, '198.51.100.60:5432');
  const unknown = find('http-egress-allow', 'legacy-api.partner.example');
  assert.equal(verdictOf(unknown!), 'failed');
  assert.deepEqual(unknown?.counts.statuses, { 'error:UNKNOWN': 7 });
  assert.ok(rows.every((r) => r.network !== undefined));
});

test('quantiles interpolate like histogram_quantile; +Inf answers the highest finite bound', () => {
  const b = new Map([
    [0.05, 10],
    [0.5, 60],
    [1, 90],
    [10, 100],
    [Infinity, 100],
  ]);
  assert.equal(quantile(0.5, b), 0.05 + (0.45 * 40) / 50);
  assert.equal(quantile(0.05, b), 0.025);
  assert.equal(quantile(0.99, b), 1 + (9 * 9) / 10);
  assert.equal(quantile(0.5, new Map([[Infinity, 4]])), 0);
  assert.equal(
    quantile(
      0.5,
      new Map([
        [0.5, 1],
        [Infinity, 5],
      ]),
    ),
    0.5,
  );
  assert.equal(quantile(0.5, new Map()), undefined);
});

test('deltas: frozen series give 0, new series count from 0, a counter reset counts the new value', () => {
  const before = parseMetrics('# TYPE c counter\nc_total{a="frozen"} 5\nc_total{a="reset"} 100\n');
  const after = parseMetrics(
    '# TYPE c counter\nc_total{a="frozen"} 5\nc_total{a="reset"} 3\nc_total{a="new"} 7\n',
  );
  assert.deepEqual(
    deltaExposition(before, after).families[0]?.samples.map((s) => [s.labels.a, s.value]),
    [
      ['frozen', 0],
      ['reset', 3],
      ['new', 7],
    ],
  );
  // Allow → Deny: the frozen allow series stay, the new deny series are the whole window.
  const rows = new EgressModel();
  rows.add(
    'p',
    deltaExposition(
      parseMetrics(EGRESS, { keep: isEgressFamily }),
      parseMetrics(DENY, { keep: isEgressFamily }),
    ),
  );
  const httpbinDeny = [...rows.rows.values()].find(
    (r) => r.route.name === 'http-egress-deny' && r.destination === 'httpbin.org',
  );
  assert.equal(httpbinDeny?.counts.denied, 45);
  const frozen = [...rows.rows.values()].find((r) => r.route.name === 'httpbin-get');
  assert.ok(frozen && frozen.counts.requests < 697, 'only the window counts');
});

/**
 * A body as the proxy serves it with hostname labels off: every hostname is "", and the series that
 * differed only in hostname are one series whose value is their sum (the proxy's registry is keyed by
 * label set), not repeated lines, which the parser would drop as Prometheus does.
 */
function withoutHostnames(body: string): string {
  const first = new Map<string, number>();
  const lines: string[] = [];
  for (const line of body.replace(/hostname="[^"]*"/g, 'hostname=""').split('\n')) {
    const sp = line.lastIndexOf(' ');
    const series = line.slice(0, sp);
    const at = line.startsWith('#') || sp < 0 ? undefined : first.get(series);
    if (at === undefined) {
      if (!line.startsWith('#') && sp >= 0) first.set(series, lines.length);
      lines.push(line);
    } else {
      const prev = lines[at] as string;
      const sum = Number(prev.slice(prev.lastIndexOf(' ') + 1)) + Number(line.slice(sp + 1));
      lines[at] = `${series} ${sum}`;
    }
  }
  return lines.join('\n');
}

describe('egress stat against the test API server', () => {
  let c: TestCluster;
  let scrapes = 0;
  before(async () => {
    c = await startCluster({
      metrics: (_ns, pod) => {
        if (pod === 'switching') return scrapes++ === 0 ? EGRESS : DENY;
        if (pod === 'nohost') return withoutHostnames(EGRESS);
        if (pod === 'broken') return EGRESS.replace(/(outbound_tls_route_open_total\{[^}]*)\}/, '$1');
        return EGRESS;
      },
    });
    c.world.deployment('egress-test', 'web', { replicas: 2 });
    c.world.pod('egress-test', 'switching');
    c.world.pod('egress-test', 'nohost');
    c.world.pod('egress-test', 'broken');
    c.world.pod('other-team', 'worker');
  });
  after(() => c.close());

  test('the table aggregates across pods and says it shows totals; no colour when piped', async () => {
    const r = await runCli(['egress', 'stat', 'deploy/web'], { env: c.env });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(
      lines[0],
      'Egress totals since each proxy started, across 2 pod(s) (use --interval 10s for rates).',
    );
    assert.match(
      lines[1] ?? '',
      /^NETWORK\s+PORT\s+PROTO\s+ROUTE\s+DESTINATION\s+VERDICT\s+REQ\/CONN\s+SUCCESS\s+DENIED\s+P50\s+P95\s+P99$/,
    );
    assert.match(
      r.stdout,
      /egress-test\/all-egress-traffic\s+80\s+http\s+HTTPRoute\/httpbin-get\s+httpbin\.org\s+allowed\s+1394\s+100\.0%\s+0\s/,
    );
    assert.match(
      r.stdout,
      /egress-test\/github-egress\s+443\s+tls\s+default\/tls-egress-deny\s+github\.com\s+denied\s+10\s+0\.0%\s+10\s/,
    );
    assert.doesNotMatch(r.stdout, /\x1b\[/);
  });

  test('FORCE_COLOR paints denied traffic red; NO_COLOR wins', async () => {
    const colored = await runCli(['egress', 'stat', 'deploy/web'], { env: { ...c.env, FORCE_COLOR: '1' } });
    assert.match(colored.stdout, /\x1b\[31mdenied\x1b\[39m/);
    const plain = await runCli(['egress', 'stat', 'deploy/web'], {
      env: { ...c.env, FORCE_COLOR: '1', NO_COLOR: '1' },
    });
    assert.doesNotMatch(plain.stdout, /\x1b\[/);
  });

  test('--interval gives rates over the window: only the Deny period counts, and --fail-on-deny exits 1', async () => {
    scrapes = 0;
    const r = await runCli(
      ['egress', 'stat', 'po/switching', '--interval', '1s', '-o', 'json', '--fail-on-deny'],
      { env: c.env },
    );
    assert.equal(r.code, 1, r.stderr);
    const doc = JSON.parse(r.stdout) as StatReport;
    assert.equal(doc.window.mode, 'rate');
    assert.ok(doc.window.mode === 'rate' && doc.window.seconds >= 1 && doc.window.seconds < 5);
    const deny = doc.rows.find((x) => x.route.name === 'http-egress-deny' && x.destination === 'httpbin.org');
    assert.equal(deny?.denied, 45);
    assert.equal(deny?.verdict, 'denied');
    assert.ok(
      deny?.rate !== null &&
        deny !== undefined &&
        Math.abs(deny.rate - 45 / (doc.window.mode === 'rate' ? doc.window.seconds : 1)) < 0.01,
    );
    assert.match(r.stderr, /^denied egress seen in the last [\d.]+s: \d+ to /);
  });

  test('the JSON document is the documented, stable schema', async () => {
    const r = await runCli(['egress', 'stat', 'deploy/web', '-o', 'json'], { env: c.env });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as StatReport;
    assert.deepEqual(Object.keys(doc), [
      'apiVersion',
      'kind',
      'schemaVersion',
      'window',
      'groupBy',
      'pods',
      'notices',
      'rows',
      'uncaptured',
      'totals',
    ]);
    assert.deepEqual(
      [doc.apiVersion, doc.kind, doc.schemaVersion, doc.groupBy],
      ['egressctl.linkerd.io/v1', 'EgressStat', 1, 'host'],
    );
    assert.deepEqual(doc.window, { mode: 'total' });
    const row = doc.rows[0];
    assert.deepEqual(Object.keys(row ?? {}), [
      'network',
      'port',
      'protocol',
      'route',
      'destination',
      'verdict',
      'redirectTo',
      'requests',
      'statuses',
      'connections',
      'denied',
      'failed',
      'rate',
      'latencyMs',
      'pods',
      'stale',
    ]);
    // This cluster has no EgressNetwork objects to judge the rows against: stale is unknown.
    assert.ok(doc.rows.every((x) => x.stale === null));
    assert.equal(doc.pods.scraped, 2);
    assert.ok(doc.rows.every((x) => x.pods.length === 2));
    // Per pod: 1208 requests (697+120+60+7+314+6+4); failed 30 (12 x 503, 7 transport errors, 4 NOT_FOUND, 6 UNIMPLEMENTED, 1 TLS close).
    assert.deepEqual(doc.totals, {
      requests: 2 * 1208,
      connections: 2 * 115,
      denied: 2 * 9,
      failed: 2 * 30,
      redirected: 0,
    });
  });

  test('--by network and --by route merge rows', async () => {
    const byNet = JSON.parse(
      (await runCli(['egress', 'stat', 'deploy/web', '-o', 'json', '--by', 'network'], { env: c.env }))
        .stdout,
    ) as StatReport;
    assert.deepEqual(
      byNet.rows.map((x) => `${x.network?.name}:${x.port}/${x.protocol}`),
      [
        'all-egress-traffic:80/http',
        'all-egress-traffic:443/tls',
        'all-egress-traffic:5432/tcp',
        'all-egress-traffic:9000/grpc',
        'github-egress:80/http',
        'github-egress:443/tls',
      ],
    );
    const byRoute = parseYaml(
      (await runCli(['egress', 'stat', 'deploy/web', '-o', 'yaml', '--by', 'route'], { env: c.env })).stdout,
    ) as StatReport;
    assert.equal(byRoute.groupBy, 'route');
    const tlsDefault = byRoute.rows.find((x) => x.route.name === 'tls-egress-allow');
    assert.deepEqual([tlsDefault?.destination, tlsDefault?.connections?.opened], ['*', 2 * 32]);
  });

  test('hostname labels off: destinations show "?" and a note says how to turn them on', async () => {
    const r = await runCli(['egress', 'stat', 'po/nohost'], { env: c.env });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /HTTPRoute\/httpbin-get\s+\?\s+allowed/);
    assert.match(
      r.stdout,
      /note: hostname labels are off for pod egress-test\/nohost, .*config\.linkerd\.io\/proxy-metrics-hostname-labels: "true"/,
    );
  });

  test('a malformed body is a per-pod error with its line number; the other pods are still reported', async () => {
    const r = await runCli(['egress', 'stat', '--all', '-o', 'json'], { env: c.env });
    assert.equal(r.code, 3);
    const doc = JSON.parse(r.stdout) as StatReport;
    assert.equal(doc.pods.scraped, 5);
    assert.deepEqual(
      doc.pods.failed.map((f) => f.pod),
      ['broken'],
    );
    assert.match(
      doc.pods.failed[0]?.error ?? '',
      /^pod egress-test\/broken: malformed metrics at line \d+: /,
    );
    assert.match(r.stderr, /^error: 1 of 5 pods could not be read, so these numbers are partial: /);
  });

  test('--watch redraws every interval until Ctrl-C, then exits 0', async () => {
    const { spawn } = await import('node:child_process');
    const { BIN } = await import('./helpers/cli.js');
    const child = spawn(
      process.execPath,
      [BIN, 'egress', 'stat', 'deploy/web', '--watch', '--interval', '1s'],
      { env: { ...process.env, ...c.env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const end = Date.now() + 15_000;
    while ((out.match(/^Egress over the last/gm) ?? []).length < 2 && Date.now() < end)
      await new Promise((r) => setTimeout(r, 100));
    const code = await new Promise<number | null>((resolve) => {
      child.on('close', resolve);
      child.kill('SIGINT');
    });
    assert.equal(code, 0);
    assert.ok((out.match(/^Egress over the last [\d.]+s across 2 pod\(s\)\.$/gm) ?? []).length >= 2, out);
    assert.doesNotMatch(out, /\x1b\[2J/, 'no screen clearing when stdout is not a terminal');
  });

  test('-A reads every namespace and names pods namespace/name', async () => {
    const r = await runCli(['egress', 'stat', '-A', '-o', 'json', '--by', 'pod'], { env: c.env });
    const doc = JSON.parse(r.stdout) as StatReport;
    assert.equal(doc.pods.scraped, 6);
    assert.ok(doc.rows.some((x) => x.pods.includes('other-team/worker')));
    const withTarget = await runCli(['egress', 'stat', '-A', 'po/worker'], { env: c.env });
    assert.equal(withTarget.stderr, 'error: a TYPE/NAME target needs one namespace: use -n instead of -A\n');
  });

  test('with no target, stat reads every pod of the namespace', async () => {
    const r = await runCli(['egress', 'stat', '-o', 'json'], { env: c.env });
    assert.equal(r.code, 3, 'the broken pod is among them');
    assert.equal((JSON.parse(r.stdout) as StatReport).pods.scraped, 5);
  });

  test('bad flags are usage errors before any request', async () => {
    const r = await runCli(['egress', 'stat', '-A', '-n', 'x'], { env: c.env });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'error: -A and -n are exclusive: choose all namespaces or one\n');
    const i = await runCli(['egress', 'stat', '--all', '--interval', '100ms'], { env: c.env });
    assert.equal(i.stderr, 'error: --interval 100ms is too short: use 1s or more\n');
    const by = await runCli(['egress', 'stat', '--all', '--by', 'planet'], { env: c.env });
    assert.equal(by.code, 2);
    assert.match(by.stderr, /Allowed choices are network, route, host, pod/);
  });
});
