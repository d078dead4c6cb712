// `egress plan` and `--plan`, end to end: the built CLI against the sandbox (its API server, proxies and
// traffic), as a user runs them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EgressLedger } from '../src/metrics/ledger.js';
import type { StatReport } from '../src/metrics/stat.js';
import type { PlanReport } from '../src/policy/plan.js';
import { startSandbox, type Sandbox } from '../src/sandbox/sandbox.js';
import { runCli } from './helpers/cli.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-plan-test-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

/** What each flow becomes, as `change protocol destination`, sorted. */
const changes = (r: PlanReport) =>
  r.flows.map((p) => `${p.change} ${p.flow.protocol} ${p.flow.destination}`).sort();

describe('egress plan and --plan against the sandbox', () => {
  let sb: Sandbox;
  let env: Record<string, string>;
  const policy = path.join(dir, 'policy');
  before(async () => {
    sb = await startSandbox({ tickMs: 50, rate: 20 });
    const kc = path.join(dir, 'kubeconfig');
    sb.server.writeKubeconfig(kc, { namespace: 'egress-test', token: 'sandbox-token' });
    env = { KUBECONFIG: kc };
    // Wait until every destination has been called at least once.
    for (let i = 0; i < 100; i++) {
      const r = await runCli(['egress', 'stat', '-o', 'json'], { env });
      if ((JSON.parse(r.stdout) as StatReport).rows.length >= 6) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    fs.mkdirSync(policy);
    const write = async (file: string, args: string[]) => {
      const r = await runCli([...args, '--dry-run=client', '-o', 'yaml'], { env });
      assert.equal(r.code, 0, r.stderr);
      fs.writeFileSync(path.join(policy, file), r.stdout);
    };
    await write('network.yaml', ['egress', 'deny']);
    // A route for httpbin.org that takes every path: the proxy reports no path, so only such a route
    // keeps the flow certainly.
    await write('httpbin.yaml', [
      'egress',
      'route',
      'http',
      'httpbin',
      '--port',
      '80',
      '--hostname',
      'httpbin.org',
    ]);
  });
  after(() => sb.stop());

  test('egress deny --plan: every allowed flow would break, and nothing is applied', async () => {
    const r = await runCli(['egress', 'deny', '-n', 'egress-test', '--plan', '-o', 'json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as PlanReport;
    assert.equal(plan.kind, 'EgressPlan');
    assert.deepEqual(plan.objects, [
      { action: 'update', kind: 'EgressNetwork', namespace: 'egress-test', name: 'all-egress-traffic' },
    ]);
    assert.deepEqual(changes(plan), [
      'break http google.com',
      'break http grpcb.in',
      'break http httpbin.org',
      'break tcp 192.0.2.50:443',
      'break tcp 198.51.100.60:5432',
      'break tcp 203.0.113.10:443',
    ]);
    for (const p of plan.flows) {
      assert.equal(p.current?.verdict, 'allow');
      assert.equal(p.proposed?.verdict, 'deny');
      assert.match(p.proposed?.route?.name ?? '', /^(http|tcp)-egress-deny$/);
      assert.deepEqual(p.flow.client.workload, { kind: 'pod', name: 'client' });
    }
    const table = await runCli(['egress', 'deny', '--plan'], { env });
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^Would break: 6 flows \(\d+ requests\/connections\):$/m);
    assert.match(
      table.stdout,
      /^Plan: 6 would break, 0 uncertain, 0 rerouted, 0 would open, 0 unchanged\.$/m,
    );
    const get = await runCli(['egress', 'get', '-o', 'json'], { env });
    assert.match(get.stdout, /"trafficPolicy": "Allow"/, 'the Deny was not applied');
  });

  test('egress plan -f: the route keeps httpbin.org, the rest breaks; --fail-on-break exits 1', async () => {
    const r = await runCli(['egress', 'plan', '-f', policy, '--interval', '1s', '-o', 'json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as PlanReport;
    assert.deepEqual(plan.objects, [
      { action: 'update', kind: 'EgressNetwork', namespace: 'egress-test', name: 'all-egress-traffic' },
      { action: 'create', kind: 'HTTPRoute', namespace: 'egress-test', name: 'httpbin' },
    ]);
    assert.deepEqual(changes(plan), [
      'break http google.com',
      'break http grpcb.in',
      'break tcp 192.0.2.50:443',
      'break tcp 198.51.100.60:5432',
      'break tcp 203.0.113.10:443',
      'reroute http httpbin.org',
    ]);
    assert.ok(plan.window.seconds !== null && plan.window.seconds >= 1);
    assert.ok((plan.summary.break.rate ?? 0) > 0);
    const gate = await runCli(['egress', 'plan', '-f', policy, '--fail-on-break'], { env });
    assert.equal(gate.code, 1);
    assert.match(gate.stderr, /^5 flows would break: egress-test\/client → google\.com, /);
  });

  test('a path-limited route is uncertain: the plan says why and lists both outcomes', async () => {
    const only = path.join(dir, 'get-only');
    fs.mkdirSync(only);
    fs.copyFileSync(path.join(policy, 'network.yaml'), path.join(only, 'network.yaml'));
    const r0 = await runCli(['egress', 'allow', 'http://httpbin.org/get', '--dry-run=client', '-o', 'yaml'], {
      env,
    });
    fs.writeFileSync(path.join(only, 'httpbin-get.yaml'), r0.stdout);
    const r = await runCli(['egress', 'plan', '-f', only], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Uncertain: 1 flow \(\d+ requests\/connections\):$/m);
    assert.match(
      r.stdout,
      /why: the proposed outcome depends on the path, method or headers, which route metrics do not carry/,
    );
    assert.match(r.stdout, /if \/<any other path>: deny http-egress-deny/);
    assert.match(r.stdout, /if \/get: allow HTTPRoute egress-test\/http-httpbin-org-get rule 1/);
  });

  test('offline: --from-file and --current need no cluster; bad ledgers name the field (exit 2)', async () => {
    // egress stat -o ledger saves the flows; plan replays them later without the cluster.
    const saved = await runCli(['egress', 'stat', '-o', 'ledger', '--interval', '1s'], { env });
    assert.equal(saved.code, 0, saved.stderr);
    const ledger = JSON.parse(saved.stdout) as EgressLedger;
    assert.equal(ledger.kind, 'EgressLedger');
    assert.ok(ledger.window.seconds !== null && ledger.window.seconds >= 1);
    assert.deepEqual(
      ledger.flows
        .map(
          (f) =>
            `${f.client.namespace}/${f.client.workload.name} ${f.protocol} ${f.destination} ${f.route.name}`,
        )
        .sort(),
      [
        'egress-test/client http google.com http-egress-allow',
        'egress-test/client http grpcb.in http-egress-allow',
        'egress-test/client http httpbin.org http-egress-allow',
        'egress-test/client tcp 192.0.2.50:443 tcp-egress-allow',
        'egress-test/client tcp 198.51.100.60:5432 tcp-egress-allow',
        'egress-test/client tcp 203.0.113.10:443 tcp-egress-allow',
      ],
    );
    const file = path.join(dir, 'ledger.json');
    fs.writeFileSync(file, saved.stdout);
    const current = path.join(dir, 'current');
    fs.mkdirSync(current);
    const allow = await runCli(['egress', 'allow', '--dry-run=client', '-o', 'yaml'], { env });
    fs.writeFileSync(path.join(current, 'network.yaml'), allow.stdout);
    const off = await runCli(
      [
        'egress',
        'plan',
        '-n',
        'egress-test',
        '-f',
        policy,
        '--from-file',
        file,
        '--current',
        current,
        '-o',
        'json',
      ],
      {},
    );
    assert.equal(off.code, 0, off.stderr);
    assert.deepEqual(changes(JSON.parse(off.stdout) as PlanReport), [
      'break http google.com',
      'break http grpcb.in',
      'break tcp 192.0.2.50:443',
      'break tcp 198.51.100.60:5432',
      'break tcp 203.0.113.10:443',
      'reroute http httpbin.org',
    ]);
    fs.writeFileSync(file, JSON.stringify({ ...ledger, flows: [{ ...ledger.flows[0], protocol: 'udp' }] }));
    const bad = await runCli([
      'egress',
      'plan',
      '-n',
      'egress-test',
      '-f',
      policy,
      '--from-file',
      file,
      '--current',
      current,
    ]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, `error: ${file}: flows[0].protocol: want one of http, grpc, tls, tcp\n`);
    const missing = await runCli(['egress', 'plan', '-f', path.join(dir, 'nope')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^error: .*nope/);
  });
});
