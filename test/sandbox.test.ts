import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DESTINATIONS, startSandbox, type Sandbox } from '../src/sandbox/sandbox.js';
import { SERVED } from '../src/sandbox/resources.js';
import type { StatReport } from '../src/metrics/stat.js';
import {
  commandLine,
  grepOutput,
  GUIDE,
  waitsOf,
  type GuideCommand,
  type GuideStep,
  type GuideStepId,
} from '../src/sandbox/guide.js';
import { BIN, runCli } from './helpers/cli.js';
import { assertTranscript, renderTranscript, type TranscriptEntry } from './helpers/transcript.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-sandbox-test-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

async function until(what: string, fn: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the sandbox starts and stops cleanly many times in one run', async () => {
  for (let i = 0; i < 5; i++) {
    const sb = await startSandbox({ tls: i % 2 === 1, tickMs: 50 });
    const kc = path.join(dir, `kc-${i}`);
    sb.server.writeKubeconfig(kc, { namespace: 'egress-test', token: 'sandbox-token' });
    const r = await runCli(['egress', 'get'], { env: { KUBECONFIG: kc } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /EgressNetwork\/all-egress-traffic\s+Allow\s+\(all off-cluster\)\s+True/);
    await sb.stop();
  }
});

test('every URL a guide step waits for is one the sandbox sends traffic to', () => {
  const sent = new Set(DESTINATIONS.map((d) => d.url));
  for (const step of GUIDE) for (const w of waitsOf(step)) assert.ok(sent.has(w.url), `${step.id}: ${w.url}`);
});

describe('the Linkerd egress guide, end to end against the sandbox with the real CLI', () => {
  let sb: Sandbox;
  let env: Record<string, string>;
  before(async () => {
    sb = await startSandbox({ tickMs: 50, rate: 20 });
    const kc = path.join(dir, 'guide');
    sb.server.writeKubeconfig(kc, { namespace: 'egress-test', token: 'sandbox-token' });
    env = { KUBECONFIG: kc };
  });
  after(() => sb.stop());

  const window = async () => {
    const r = await runCli(['egress', 'stat', 'po/client', '--interval', '1s', '-o', 'json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as StatReport;
    return (route: string, dest: string) =>
      doc.rows.find((x) => x.route.name === route && x.destination === dest);
  };

  /**
   * Replays one step of the guide's table (src/sandbox/guide.ts, which the demo prints), asserting each
   * command's exit code; returns the comparison of its transcript with test/transcripts/.
   */
  const replay = async (i: number, step: GuideStep): Promise<() => void> => {
    const entries: TranscriptEntry[] = [];
    const exec = async (c: GuideCommand) => {
      const r = await runCli([...c.args], { env });
      const command = commandLine(c);
      assert.equal(r.code, c.exitCode, `${command}: ${r.stderr}`);
      const stdout = grepOutput(c, r.stdout);
      if (c.grep?.length) assert.notEqual(stdout, '', `${command} printed no line`);
      entries.push({ command, stdout, stderr: r.stderr, code: r.code });
    };
    for (const c of step.run) await exec(c);
    for (const w of waitsOf(step)) await until(w.why, () => sb.latest().get(w.url)?.verdict === w.verdict);
    for (const c of step.show) await exec(c);
    return () =>
      assertTranscript(`guide-${i + 1}-${step.id}.md`, renderTranscript(`${i + 1}. ${step.title}`, entries));
  };

  /** What each step must show beyond its commands' exit codes, keyed by the step's id. */
  const checks: Record<GuideStepId, { name: string; check: () => Promise<void> }> = {
    'allow-all': {
      name: 'Allow: every destination goes through the default allow routes, and the EgressNetwork is Accepted',
      check: async () => {
        const en = sb.server.store.get(
          SERVED.find((r) => r.kind === 'EgressNetwork')!,
          'egress-test',
          'all-egress-traffic',
        );
        assert.deepEqual(
          (en?.status?.conditions as { type: string; status: string }[])?.map((c) => `${c.type}=${c.status}`),
          ['Accepted=True'],
        );
        // Every injected pod of the namespace answers, internal-egress (no egress of its own) included.
        const whole = await runCli(['egress', 'stat', '-o', 'json'], { env });
        assert.equal(whole.code, 0, whole.stderr);
        assert.deepEqual((JSON.parse(whole.stdout) as StatReport).pods, {
          scraped: 2,
          meshed: 2,
          total: 2,
          unmeshed: [],
          failed: [],
        });
        // The network was made as the guide's kubectl apply makes it: kubectl owns trafficPolicy, so a
        // plain deny is refused (as kubectl refuses it) and the guide step passes --force-conflicts.
        const refused = await runCli(['egress', 'deny'], { env });
        assert.equal(refused.code, 3);
        assert.match(refused.stderr, /conflict with "kubectl": \.spec\.trafficPolicy/);
        const row = await window();
        assert.equal(row('http-egress-allow', 'httpbin.org')?.verdict, 'allowed');
        assert.equal(
          row('tcp-egress-allow', '203.0.113.10:443')?.verdict,
          'allowed',
          'HTTPS without a TLSRoute is opaque TCP',
        );
        assert.equal(row('tcp-egress-allow', '198.51.100.60:5432')?.verdict, 'allowed');
        // The step greps like the guide; the whole --egress body it used to print is still pinned here.
        const args = ['proxy-metrics', '-n', 'egress-test', 'po/client', '--egress'];
        const body = await runCli(args, { env });
        assert.equal(body.code, 0, body.stderr);
        assertTranscript(
          'guide-1-allow-all-egress-metrics.md',
          renderTranscript('1. The whole --egress body under Allow', [
            { command: `egressctl ${args.join(' ')}`, ...body },
          ]),
        );
      },
    },
    'deny-all': {
      name: 'Deny: the metric deltas show 403s on http-egress-deny and forbidden closes; the allow series are frozen',
      check: async () => {
        const row = await window();
        const http = row('http-egress-deny', 'httpbin.org');
        assert.equal(http?.verdict, 'denied');
        assert.deepEqual(Object.keys(http?.statuses ?? {}), ['403']);
        assert.equal(
          row('tcp-egress-deny', '198.51.100.60:5432')?.connections?.forbidden,
          row('tcp-egress-deny', '198.51.100.60:5432')?.connections?.opened,
        );
        assert.equal(
          row('http-egress-allow', 'httpbin.org'),
          undefined,
          'frozen series add nothing to the window',
        );
        const metrics = await runCli(['proxy-metrics', 'po/client', '--egress'], { env });
        assert.match(
          metrics.stdout,
          /route_name="http-egress-allow",hostname="httpbin.org"/,
          'the old series stay in the body',
        );
        assert.match(
          metrics.stdout,
          /route_name="http-egress-deny",hostname="httpbin.org",http_status="403",error=""/,
        );
      },
    },
    'allow-get': {
      name: 'allow GET /get: HTTPRoute httpbin-get is accepted by the simulated controller, then only /get goes through',
      check: async () => {
        const route = sb.server.store.get(
          SERVED.find((r) => r.kind === 'HTTPRoute' && r.group === 'gateway.networking.k8s.io')!,
          'egress-test',
          'httpbin-get',
        );
        const conds = (
          route?.status?.parents as {
            controllerName: string;
            conditions: { type: string; status: string }[];
          }[]
        )[0];
        assert.equal(conds?.controllerName, 'linkerd.io/policy-controller');
        assert.deepEqual(
          conds?.conditions.map((c) => `${c.type}=${c.status}`),
          ['Accepted=True', 'ResolvedRefs=True'],
        );
        const row = await window();
        assert.equal(row('httpbin-get', 'httpbin.org')?.verdict, 'allowed');
        assert.equal(row('http-egress-deny', 'google.com')?.verdict, 'denied');
        // The guide's route matches the path on every host of the port, as Linkerd reads it.
        const other = await runCli(['egress', 'check', 'http://google.com/get', '-o', 'json'], { env });
        assert.equal(other.code, 0, other.stderr);
        assert.equal((JSON.parse(other.stdout) as { route: { name: string } }).route.name, 'httpbin-get');
      },
    },
    'allow-tls': {
      // The step itself asserts `egress check https://httpbin.org` exits 1 before the TLSRoute.
      name: 'HTTPS fails until TLSRoute tls-egress allows it by SNI',
      check: async () => {
        const row = await window();
        assert.equal(row('tls-egress', 'httpbin.org')?.verdict, 'allowed');
        assert.equal(row('tls-egress-deny', 'github.com')?.verdict, 'denied');
        assert.equal((await runCli(['egress', 'check', 'https://httpbin.org'], { env })).code, 0);
      },
    },
    'grpc-tcp': {
      name: 'GRPCRoute and TCPRoute: gRPC is counted as gRPC with its status, Postgres opens through the TCPRoute',
      check: async () => {
        const row = await window();
        const g = row('grpcbin', 'grpcb.in');
        assert.deepEqual(
          [g?.protocol, g?.verdict, Object.keys(g?.statuses ?? {})],
          ['grpc', 'allowed', ['OK']],
        );
        const t = row('postgres', '198.51.100.60:5432');
        assert.deepEqual([t?.protocol, t?.verdict, t?.connections?.forbidden], ['tcp', 'allowed', 0]);
      },
    },
    'final-state': {
      name: "the guide's final state: redirected rows name the Service, all TLS is allowed, the guide's cases pass live",
      check: async () => {
        const row = await window();
        const g = row('unencrypted-http', 'google.com');
        assert.deepEqual([g?.verdict, g?.redirectTo], ['redirected', 'egress-test/internal-egress:80']);
        assert.equal(row('httpbin-get', 'httpbin.org')?.verdict, 'allowed', 'the longer path still wins');
        assert.equal(row('tls-egress', 'github.com')?.verdict, 'allowed', 'a TLSRoute without hostnames');
        const tls = sb.server.store.get(
          SERVED.find((r) => r.kind === 'TLSRoute')!,
          'egress-test',
          'tls-egress',
        );
        assert.equal(
          (tls?.spec as { hostnames?: string[] }).hostnames,
          undefined,
          're-applying drops hostnames',
        );
        // The cases written for the guide's final state (examples/guide/), against the live cluster.
        const cases = await runCli(['egress', 'check', '--cases', 'examples/guide-cases.yaml'], { env });
        assert.equal(cases.code, 0, cases.stdout + cases.stderr);
        assert.match(cases.stdout, /^\d+ passed, 0 failed$/m);
      },
    },
    check: {
      name: 'live egress check and egress lint read the cluster, status included',
      check: async () => {
        const yes = await runCli(['egress', 'check', 'http://google.com', '-o', 'json'], { env });
        assert.equal(yes.code, 0);
        const d = JSON.parse(yes.stdout) as { verdict: string; assumptions: string[] };
        assert.equal(d.verdict, 'redirect');
        assert.ok(
          !d.assumptions.some((a) => a.includes('--assume-accepted')),
          'live status is used, not assumed',
        );
        const from = await runCli(['egress', 'check', 'tcp://198.51.100.60:5432', '--from', 'po/client'], {
          env,
        });
        assert.equal(from.code, 1);
        const missing = await runCli(['egress', 'check', 'https://github.com', '--from', 'po/nope'], { env });
        assert.equal(missing.code, 3);
        assert.equal(
          missing.stderr,
          'error: pod egress-test/nope not found: check the name and the namespace (-n)\n',
        );
        // A conflicting TLSRoute on port 80, written around egressctl's checks: the controller rejects it, lint says so.
        const tls = SERVED.find((r) => r.kind === 'TLSRoute')!;
        sb.server.store.apply(
          tls,
          'egress-test',
          'tls-on-80',
          {
            apiVersion: 'gateway.networking.k8s.io/v1alpha2',
            kind: 'TLSRoute',
            metadata: { name: 'tls-on-80', namespace: 'egress-test' },
            spec: {
              parentRefs: [
                { group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all-egress-traffic', port: 80 },
              ],
              hostnames: ['x.org'],
              rules: [
                {
                  backendRefs: [
                    { group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all-egress-traffic' },
                  ],
                },
              ],
            },
          },
          { fieldManager: 'kubectl', force: true, dryRun: false },
        );
        await until(
          'the controller',
          () =>
            (
              (sb.server.store.get(tls, 'egress-test', 'tls-on-80')?.status?.parents as
                unknown[] | undefined) ?? []
            ).length > 0,
        );
        const lint = await runCli(['egress', 'lint', '-o', 'json'], { env });
        assert.equal(lint.code, 1);
        const f = (
          JSON.parse(lint.stdout) as { findings: { rule: string; object: string; message: string }[] }
        ).findings;
        assert.ok(
          f.some(
            (x) =>
              x.rule === 'not-accepted' &&
              x.object === 'TLSRoute egress-test/tls-on-80' &&
              /RouteReasonConflicted/.test(x.message),
          ),
        );
        assert.ok(f.some((x) => x.rule === 'mixed-route-types'));
      },
    },
    'allow-again': {
      name: 'Allow again: GitHub goes through the default allow route',
      check: async () => {
        assert.equal(sb.latest().get('https://github.com')?.verdict, 'allow');
        // Step 6's check left a conflicting TLSRoute on port 80 that the guide never makes: gone before
        // learning, as in the demo.
        const r = await runCli(['egress', 'delete', 'tlsroute/tls-on-80'], { env });
        assert.equal(r.code, 0, r.stderr);
      },
    },
    learn: {
      name: 'Learn, apply, deny: every destination the sandbox sends to stays allowed or redirected',
      check: async () => {
        const stat = await runCli(['egress', 'stat', 'po/client', '--interval', '1s', '--fail-on-deny'], {
          env,
        });
        assert.equal(stat.code, 0, `nothing is denied after learn and deny: ${stat.stdout}`);
        const en = sb.server.store.get(
          SERVED.find((r) => r.kind === 'EgressNetwork')!,
          'egress-test',
          'all-egress-traffic',
        );
        assert.equal((en?.spec as { trafficPolicy?: string } | undefined)?.trafficPolicy, 'Deny');
        for (const [url, d] of sb.latest()) assert.notEqual(d.verdict, 'deny', url);
      },
    },
  };

  for (const [i, step] of GUIDE.entries()) {
    test(`${i + 1}. ${checks[step.id].name}`, async () => {
      const transcript = await replay(i, step);
      await checks[step.id].check();
      transcript();
    });
  }
});

test('egressctl sandbox prints the kubeconfig export, serves until SIGINT, saves --state and leaves nothing behind', async () => {
  const state = path.join(dir, 'state.json');
  const kc = path.join(dir, 'cmd.kubeconfig');
  const child = spawn(process.execPath, [BIN, 'sandbox', '--kubeconfig', kc, '--state', state], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await until('the banner', () => out.includes('Press Ctrl-C to stop.'), 10_000);
  assert.match(
    out,
    /^Sandbox ready in \d+ ms: a simulated cluster with Linkerd's egress guide \(1 client pod\) at https:\/\/127\.0\.0\.1:\d+\n\n {2}export KUBECONFIG=/,
  );
  assert.ok(out.includes(`export KUBECONFIG=${kc}\n`));
  const deny = await runCli(['egress', 'deny', 'extra-net'], { env: { KUBECONFIG: kc } });
  assert.equal(deny.code, 0, deny.stderr);
  const code = await new Promise<number | null>((resolve) => {
    child.on('close', resolve);
    child.kill('SIGINT');
  });
  assert.equal(code, 0);
  const saved = JSON.parse(fs.readFileSync(state, 'utf8')) as { kind: string; metadata: { name: string } }[];
  assert.ok(saved.some((o) => o.kind === 'EgressNetwork' && o.metadata.name === 'extra-net'));
  const port = /127\.0\.0\.1:(\d+)/.exec(out)?.[1];
  const refused = await runCli(['egress', 'get'], { env: { KUBECONFIG: kc } });
  assert.equal(refused.code, 3, `port ${port} must be closed`);
  // Started again with --state, the object is back.
  const again = spawn(process.execPath, [BIN, 'sandbox', '--kubeconfig', kc, '--state', state], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out2 = '';
  again.stdout.on('data', (d: Buffer) => (out2 += d.toString()));
  await until('the second banner', () => out2.includes('Press Ctrl-C'), 10_000);
  const get = await runCli(['egress', 'get', 'extra-net'], { env: { KUBECONFIG: kc } });
  assert.match(get.stdout, /EgressNetwork\/extra-net\s+Deny/);
  await new Promise((resolve) => {
    again.on('close', resolve);
    again.kill('SIGTERM');
  });
});

test("npm run demo: the whole guide, exit 0, with the guide's names and grep lines", async (t) => {
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, 'sandbox', '--demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  // A figure to read, not a timed assertion (README says how long the demo takes).
  t.diagnostic(`the demo took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  assert.equal(code, 0, out);
  for (const step of ['# 1.', '# 2.', '# 3.', '# 4.', '# 5.', '# 6.', '# 7.', 'Done.'])
    assert.ok(out.includes(step), step);
  // The demo walks the same table the guide test replays: every step's title and command, in order.
  let at = 0;
  for (const [i, step] of GUIDE.entries())
    for (const line of [
      `# ${i + 1}. ${step.title}\n`,
      ...[...step.run, ...step.show].map((c) => `$ ${commandLine(c)}\n`),
    ]) {
      const found = out.indexOf(line, at);
      assert.ok(found >= at, `the demo prints, in order: ${line}`);
      at = found + line.length;
    }
  // The guide's own lines, as its greps show them (values other than 0 are timing).
  const EN =
    'parent_group="policy.linkerd.io",parent_kind="EgressNetwork",parent_namespace="egress-test",parent_name="all-egress-traffic"';
  for (const series of [
    `outbound_http_route_request_statuses_total{${EN},parent_port="80",parent_section_name="",route_group="",route_kind="default",route_namespace="",route_name="http-egress-allow",hostname="httpbin.org",http_status="200",error=""} `,
    `outbound_http_route_request_statuses_total{${EN},parent_port="80",parent_section_name="",route_group="",route_kind="default",route_namespace="",route_name="http-egress-deny",hostname="httpbin.org",http_status="403",error=""} `,
    `outbound_http_route_request_statuses_total{${EN},parent_port="80",parent_section_name="",route_group="gateway.networking.k8s.io",route_kind="HTTPRoute",route_namespace="egress-test",route_name="httpbin-get",hostname="httpbin.org",http_status="200",error=""} `,
    `outbound_tls_route_open_total{${EN},parent_port="443",parent_section_name="",route_group="gateway.networking.k8s.io",route_kind="TLSRoute",route_namespace="egress-test",route_name="tls-egress",hostname="httpbin.org"} `,
    `outbound_tls_route_close_total{${EN},parent_port="443",parent_section_name="",route_group="",route_kind="default",route_namespace="",route_name="tls-egress-deny",hostname="github.com",error="forbidden"} `,
  ])
    assert.match(out, new RegExp(`^${series.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[1-9]\\d*$`, 'm'), series);
  assert.match(out, /GRPCRoute\/grpcbin\s+grpcb\.in\s+allowed/);
  assert.match(out, /TCPRoute\/postgres\s+198\.51\.100\.60:5432\s+allowed/);
  // It ends in the guide's final state.
  assert.match(out, /HTTPRoute\/unencrypted-http\s+google\.com\s+redirected/);
  assert.match(out, /TLSRoute\/tls-egress\s+github\.com\s+allowed/);
});
