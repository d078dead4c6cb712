import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DESTINATIONS, startSandbox, type Sandbox } from '../src/sandbox/sandbox.js';
import { SERVED } from '../src/sandbox/resources.js';
import type { StatReport } from '../src/metrics/stat.js';
import { GUIDE, type GuideCommand, type GuideStep, type GuideStepId } from '../src/sandbox/guide.js';
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
  for (const step of GUIDE)
    if (step.waitFor) assert.ok(sent.has(step.waitFor.url), `${step.id}: ${step.waitFor.url}`);
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
      assert.equal(r.code, c.exitCode, `egressctl ${c.args.join(' ')}: ${r.stderr}`);
      entries.push({ args: c.args, stdout: r.stdout, stderr: r.stderr, code: r.code });
    };
    for (const c of step.run) await exec(c);
    const w = step.waitFor;
    if (w) await until(w.why, () => sb.latest().get(w.url)?.verdict === w.verdict);
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
      name: 'allow GET /get: the HTTPRoute is accepted by the simulated controller, then only /get goes through',
      check: async () => {
        const route = sb.server.store.get(
          SERVED.find((r) => r.kind === 'HTTPRoute' && r.group === 'gateway.networking.k8s.io')!,
          'egress-test',
          'http-httpbin-org-get',
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
        assert.equal(row('http-httpbin-org-get', 'httpbin.org')?.verdict, 'allowed');
        assert.equal(row('http-egress-deny', 'google.com')?.verdict, 'denied');
      },
    },
    'allow-tls': {
      // The step itself asserts `egress check https://httpbin.org` exits 1 before the TLSRoute.
      name: 'HTTPS fails until a TLSRoute allows it by SNI',
      check: async () => {
        const row = await window();
        assert.equal(row('tls-httpbin-org', 'httpbin.org')?.verdict, 'allowed');
        assert.equal(row('tls-egress-deny', 'github.com')?.verdict, 'denied');
        assert.equal((await runCli(['egress', 'check', 'https://httpbin.org'], { env })).code, 0);
      },
    },
    'redirect-http': {
      name: 'redirect plaintext HTTP to internal-egress: redirected rows name the Service',
      check: async () => {
        const row = await window();
        const g = row('unencrypted-http', 'google.com');
        assert.deepEqual([g?.verdict, g?.redirectTo], ['redirected', 'egress-test/internal-egress:80']);
        assert.equal(
          row('http-httpbin-org-get', 'httpbin.org')?.verdict,
          'allowed',
          'the longer path still wins',
        );
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
        const from = await runCli(['egress', 'check', 'https://github.com', '--from', 'po/client'], { env });
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
    /^Sandbox ready in \d+ ms: a simulated cluster with Linkerd's egress guide \(1 client pod\) at http:\/\/127\.0\.0\.1:\d+\n\n {2}export KUBECONFIG=/,
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

test('npm run demo: the whole guide, exit 0', async () => {
  const child = spawn(process.execPath, [BIN, 'sandbox', '--demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, out);
  for (const step of ['# 1.', '# 2.', '# 3.', '# 4.', '# 5.', '# 6.', 'Done.'])
    assert.ok(out.includes(step), step);
  // The demo walks the same table the guide test replays: every step's title and command, in order.
  let at = 0;
  for (const [i, step] of GUIDE.entries())
    for (const line of [
      `# ${i + 1}. ${step.title}\n`,
      ...[...step.run, ...step.show].map((c) => `$ egressctl ${c.args.join(' ')}\n`),
    ]) {
      const found = out.indexOf(line, at);
      assert.ok(found >= at, `the demo prints, in order: ${line}`);
      at = found + line.length;
    }
  assert.match(out, /HTTPRoute\/unencrypted-http\s+google\.com\s+redirected/);
});
