/**
 * Issue 9's "Prove it": a new route kind is one registry entry (and its CRD). A copy of the repo gets a
 * made-up UDPRoute (group udp.example.io, opaque like TCPRoute, one per port, below TCPRoute in
 * precedence) in its src/kinds.ts and crds/ only; the copy is built with the repo's own build, and the
 * kind flows through code nobody touched: `egress check -f`, `egress lint -f`, the sandbox's discovery
 * and REST, its policy controller, `egress get`, `egress delete`, and the apply-time conflict check of
 * `egress allow`.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GROUP = 'udp.example.io';

const ENTRY = `  crd('${GROUP}', ['v1alpha1'], 'v1alpha1', 'UDPRoute', 'install the UDPRoute CRD (kubectl apply -f udproutes.yaml)', {
    protocol: 'tcp',
    rank: 4,
    onePerPort: true,
    singleRule: true,
  }),
`;

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: udproutes.${GROUP}
spec:
  group: ${GROUP}
  names:
    kind: UDPRoute
    listKind: UDPRouteList
    plural: udproutes
    singular: udproute
  scope: Namespaced
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources:
      status: {}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          apiVersion: {type: string}
          kind: {type: string}
          metadata: {type: object}
          spec:
            type: object
            x-kubernetes-preserve-unknown-fields: true
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
`;

const udpRoute = (name: string, port: number, ts: string) => ({
  apiVersion: `${GROUP}/v1alpha1`,
  kind: 'UDPRoute',
  metadata: { name, namespace: 'egress-test', creationTimestamp: ts },
  spec: {
    parentRefs: [{ group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all-egress-traffic', port }],
    rules: [
      { backendRefs: [{ group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all-egress-traffic' }] },
    ],
  },
});

const NETWORK = {
  apiVersion: 'policy.linkerd.io/v1alpha1',
  kind: 'EgressNetwork',
  metadata: { name: 'all-egress-traffic', namespace: 'egress-test' },
  spec: { trafficPolicy: 'Deny' },
};

const TCP_ROUTE = {
  apiVersion: 'gateway.networking.k8s.io/v1alpha2',
  kind: 'TCPRoute',
  metadata: { name: 'tcp-7000', namespace: 'egress-test', creationTimestamp: '2026-01-03T00:00:00Z' },
  spec: {
    parentRefs: [
      { group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all-egress-traffic', port: 7000 },
    ],
    rules: [
      { backendRefs: [{ group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all-egress-traffic' }] },
    ],
  },
};

function run(bin: string, args: string[], env: Record<string, string>, cwd: string) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', ...env },
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('a new route kind is one registry entry (issue 9, "Prove it")', () => {
  let dir: string;
  let bin: string;
  let sandbox: ChildProcess | undefined;
  let kubeconfig: string;
  let server: string;
  const token = 'sandbox-token';

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-newkind-'));
    for (const p of ['src', 'crds', 'scripts', 'bin'])
      fs.cpSync(path.join(ROOT, p), path.join(dir, p), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
    fs.symlinkSync(fs.realpathSync(path.join(ROOT, 'node_modules')), path.join(dir, 'node_modules'));
    // The only source change: one entry at the end of KINDS.
    const kindsFile = path.join(dir, 'src/kinds.ts');
    const text = fs.readFileSync(kindsFile, 'utf8');
    const end = text.indexOf('\n];\n', text.indexOf('export const KINDS'));
    assert.ok(end > 0, 'the KINDS array in src/kinds.ts');
    fs.writeFileSync(kindsFile, `${text.slice(0, end + 1)}${ENTRY}${text.slice(end + 1)}`);
    fs.writeFileSync(path.join(dir, 'crds', `${GROUP}_udproutes.yaml`), CRD);
    const built = spawnSync(process.execPath, ['scripts/build.mjs'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(built.status, 0, built.stderr);
    bin = path.join(dir, 'bin/egressctl.js');

    kubeconfig = path.join(dir, 'kubeconfig');
    const child = spawn(process.execPath, [bin, 'sandbox', '--no-tls', '--kubeconfig', kubeconfig], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    sandbox = child;
    server = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`sandbox did not start: ${out}`)), 15_000);
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = / at (http:\/\/\S+)/.exec(out);
        if (m && out.includes('export KUBECONFIG')) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      });
      child.on('exit', (code) => reject(new Error(`sandbox exited ${code}: ${out}`)));
    });
  });

  after(async () => {
    if (sandbox && sandbox.exitCode === null) {
      const done = new Promise((r) => sandbox?.on('exit', r));
      sandbox.kill('SIGINT');
      await done;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const api = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${server}${p}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  it('egress check -f decides with it: opaque, one per port, the oldest used', () => {
    const file = path.join(dir, 'udp.yaml');
    fs.writeFileSync(
      file,
      [
        NETWORK,
        udpRoute('udp-b', 5353, '2026-01-02T00:00:00Z'),
        udpRoute('udp-a', 5353, '2026-01-01T00:00:00Z'),
      ]
        .map((o) => JSON.stringify(o))
        .join('\n---\n'),
    );
    const r = run(
      bin,
      ['egress', 'check', '-n', 'egress-test', '-f', file, 'tcp://example.com:5353'],
      {},
      dir,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /Only one UDPRoute per port is used, the oldest; it takes all traffic \(linkerd2 policy-controller\/k8s\/index\/src\/outbound\/index\.rs\)/,
    );
    assert.match(r.stdout, /UDPRoute egress-test\/udp-a \(ignored: egress-test\/udp-b\)/);
    assert.match(r.stdout, /GRPCRoute > HTTPRoute > TLSRoute > TCPRoute > UDPRoute > detect/);
  });

  it('egress lint -f finds the conflicts the one rule derives', () => {
    const file = path.join(dir, 'lint.yaml');
    fs.writeFileSync(
      file,
      [
        NETWORK,
        udpRoute('udp-a', 5353, '2026-01-01T00:00:00Z'),
        udpRoute('udp-b', 5353, '2026-01-02T00:00:00Z'),
        udpRoute('udp-c', 7000, '2026-01-01T00:00:00Z'),
        TCP_ROUTE,
        {
          ...udpRoute('udp-rules', 6000, '2026-01-01T00:00:00Z'),
          spec: { ...udpRoute('x', 6000, '').spec, rules: [{}, {}] },
        },
      ]
        .map((o) => JSON.stringify(o))
        .join('\n---\n'),
    );
    const r = run(bin, ['egress', 'lint', '-f', file], {}, dir);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stdout,
      /UDPRoute egress-test\/udp-b .*already has UDPRoute egress-test\/udp-a \(older\): Linkerd uses only one UDPRoute per port and ignores this one \[second-udproute\]/,
    );
    assert.match(
      r.stdout,
      /UDPRoute egress-test\/udp-c .*mixes TCPRoute, UDPRoute: Linkerd uses TCPRoute and rejects this UDPRoute \(RouteReasonConflicted\) \[mixed-route-types\]/,
    );
    assert.match(
      r.stdout,
      /UDPRoute must have exactly one rule \(Linkerd's admission: "UdpRoute supports a single rule only"\)/,
    );
  });

  it("the sandbox's discovery serves it", async () => {
    const groups = await api('GET', '/apis');
    assert.ok(
      JSON.stringify(groups.body).includes(`"name":"${GROUP}"`),
      `/apis lists ${GROUP}: ${JSON.stringify(groups.body)}`,
    );
    const list = await api('GET', `/apis/${GROUP}/v1alpha1`);
    assert.equal(list.status, 200);
    const names = (list.body.resources as { name: string; kind: string; singularName: string }[]).map(
      (x) => `${x.name}:${x.kind}:${x.singularName}`,
    );
    assert.deepEqual(names, ['udproutes:UDPRoute:udproute', 'udproutes/status:UDPRoute:']);
  });

  it("the sandbox's REST creates, gets, lists and deletes it; admission applies its facts", async () => {
    const base = `/apis/${GROUP}/v1alpha1/namespaces/egress-test/udproutes`;
    const created = await api('POST', base, udpRoute('rest-udp', 5300, '2026-01-01T00:00:00Z'));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const got = await api('GET', `${base}/rest-udp`);
    assert.equal(got.status, 200);
    assert.equal((got.body.spec as { parentRefs: { port: number }[] }).parentRefs[0]?.port, 5300);
    const listed = await api('GET', base);
    assert.deepEqual(
      (listed.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name),
      ['rest-udp'],
    );
    const denied = await api('POST', base, {
      ...udpRoute('two-rules', 5301, ''),
      spec: { ...udpRoute('x', 5301, '').spec, rules: [{}, {}] },
    });
    assert.equal(denied.status, 400);
    assert.match(String(denied.body.message), /UdpRoute supports a single rule only/);
    const gone = await api('DELETE', `${base}/rest-udp`);
    assert.equal(gone.status, 200);
    assert.equal((await api('GET', `${base}/rest-udp`)).status, 404);
  });

  it('egress get lists it, egress allow refuses a conflicting TCPRoute, egress delete deletes it', async () => {
    const base = `/apis/${GROUP}/v1alpha1/namespaces/egress-test/udproutes`;
    assert.equal((await api('POST', base, udpRoute('dns', 5353, ''))).status, 201);
    const env = { KUBECONFIG: kubeconfig };
    const got = run(bin, ['egress', 'get', '-n', 'egress-test', '-o', 'json'], env, dir);
    assert.equal(got.code, 0, got.stderr);
    const report = JSON.parse(got.stdout) as {
      items: { name: string; routes: { kind: string; name: string; port: number }[] }[];
    };
    const route = report.items.find((i) => i.name === 'all-egress-traffic')?.routes[0];
    assert.deepEqual(route && [route.kind, route.name, route.port], ['UDPRoute', 'dns', 5353]);

    const allow = run(bin, ['egress', 'allow', '-n', 'egress-test', 'tcp://:5353'], env, dir);
    assert.equal(allow.code, 2, allow.stdout);
    assert.match(
      allow.stderr,
      /already has UDPRoute egress-test\/dns: mixing route types on a port makes Linkerd accept only TCPRoute \(precedence GRPCRoute > HTTPRoute > TLSRoute > TCPRoute > UDPRoute\)/,
    );

    const del = run(bin, ['egress', 'delete', '-n', 'egress-test', 'udproute/dns'], env, dir);
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stdout, /udproute\.udp\.example\.io\/dns deleted/);
    assert.equal((await api('GET', `${base}/dns`)).status, 404);
    const bad = run(bin, ['egress', 'delete', '-n', 'egress-test', 'nosuchroute/x'], env, dir);
    assert.equal(bad.code, 2);
  });

  it("the sandbox's policy controller accepts it", async () => {
    const base = `/apis/${GROUP}/v1alpha1/namespaces/egress-test/udproutes`;
    assert.equal((await api('POST', base, udpRoute('accepted', 5400, ''))).status, 201);
    let parents: { conditions?: { type: string; status: string }[] }[] = [];
    for (let i = 0; i < 20 && !parents.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const got = await api('GET', `${base}/accepted`);
      parents = (got.body.status as { parents?: typeof parents } | undefined)?.parents ?? [];
    }
    assert.equal(parents[0]?.conditions?.find((c) => c.type === 'Accepted')?.status, 'True');
  });

  it('the copy is the repo plus one entry and one CRD', () => {
    const crd = parse(CRD) as { spec: { names: { plural: string } } };
    assert.equal(crd.spec.names.plural, 'udproutes');
    const diff = spawnSync('diff', ['-r', path.join(ROOT, 'src'), path.join(dir, 'src')], {
      encoding: 'utf8',
    });
    const changed = diff.stdout.split('\n').filter((l) => /^diff |^Only in /.test(l));
    assert.deepEqual(changed.length, 1, diff.stdout);
    assert.match(changed[0] as string, /src\/kinds\.ts/);
  });
});
