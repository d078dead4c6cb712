import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  KINDS,
  ROUTE_ENTRIES,
  ROUTE_KIND_NAMES,
  isRouteObject,
  kindByName,
  kindFor,
  precedenceText,
  routeKindForProtocol,
  singleRuleDenial,
} from '../src/kinds.js';
import { routeConflicts, routeTypeConflict } from '../src/policy/conflicts.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Crd {
  kind: string;
  spec: {
    group: string;
    scope: 'Namespaced' | 'Cluster';
    names: { kind: string; plural: string; singular: string; shortNames?: string[] };
    versions: { name: string; served: boolean; subresources?: { status?: unknown } }[];
  };
}

/** Every CRD in a crds/ folder. */
function readCrds(dir: string): Crd[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Crd)
    .filter((d) => d.kind === 'CustomResourceDefinition');
}

describe('the kinds registry and crds/', () => {
  const crds = readCrds(path.join(ROOT, 'crds'));

  it('every CRD entry matches a CRD in crds/: group, served versions, plural, singular, short names, scope', () => {
    const entries = KINDS.filter((k) => k.crd);
    assert.ok(entries.length >= 6);
    for (const k of entries) {
      const crd = crds.find((c) => c.spec.group === k.group && c.spec.names.kind === k.kind);
      assert.ok(crd, `${k.kind}.${k.group} has no CRD in crds/`);
      const served = crd.spec.versions.filter((v) => v.served).map((v) => v.name);
      assert.deepEqual([...k.versions].sort(), [...served].sort(), `${k.kind}.${k.group} served versions`);
      assert.ok(served.includes(k.version), `${k.kind}.${k.group} writes a version it serves`);
      assert.equal(k.plural, crd.spec.names.plural);
      assert.equal(k.singular, crd.spec.names.singular);
      assert.deepEqual([...k.shortNames], crd.spec.names.shortNames ?? []);
      assert.equal(k.namespaced, crd.spec.scope === 'Namespaced');
      const version = crd.spec.versions.find((v) => v.name === k.version);
      assert.equal(k.status, version?.subresources?.status !== undefined, `${k.kind}.${k.group} status`);
    }
  });

  it('every CRD in crds/ is in the registry, and every route kind there is a route entry', () => {
    for (const c of crds) {
      const k = KINDS.find((x) => x.group === c.spec.group && x.kind === c.spec.names.kind);
      assert.ok(k?.crd, `${c.spec.names.kind}.${c.spec.group} is not in src/kinds.ts`);
      if (c.spec.names.kind.endsWith('Route')) assert.ok(k.route, `${c.spec.names.kind} has no route facts`);
    }
  });

  it('holds the core and workload kinds with kubectl short names', () => {
    const short = Object.fromEntries(KINDS.filter((k) => !k.crd).map((k) => [k.kind, k.shortNames]));
    assert.deepEqual(short, {
      Namespace: ['ns'],
      Pod: ['po'],
      Service: ['svc'],
      ReplicationController: ['rc'],
      Deployment: ['deploy'],
      ReplicaSet: ['rs'],
      StatefulSet: ['sts'],
      DaemonSet: ['ds'],
      Job: [],
      CronJob: ['cj'],
    });
  });

  it('states the route precedence once, and the lookups read it', () => {
    assert.deepEqual(ROUTE_KIND_NAMES, ['GRPCRoute', 'HTTPRoute', 'TLSRoute', 'TCPRoute']);
    assert.equal(precedenceText(), 'GRPCRoute > HTTPRoute > TLSRoute > TCPRoute');
    assert.equal(ROUTE_ENTRIES.filter((k) => k.kind === 'HTTPRoute').length, 2);
    assert.deepEqual(
      ROUTE_ENTRIES.filter((k) => k.route.onePerPort).map((k) => k.kind),
      ['TCPRoute'],
    );
    assert.equal(routeKindForProtocol('tls').version, 'v1alpha2');
    assert.equal(kindByName('httproute')?.group, 'gateway.networking.k8s.io');
    assert.equal(kindByName('httproutes.policy.linkerd.io')?.version, 'v1beta3');
    assert.equal(kindByName('deploy')?.kind, 'Deployment');
    assert.equal(kindByName('svc')?.kind, 'Service');
    assert.equal(kindByName('nope'), undefined);
    assert.equal(kindFor('gateway.networking.k8s.io/v1alpha2', 'TCPRoute')?.plural, 'tcproutes');
    assert.equal(kindFor('gateway.networking.k8s.io/v1', 'TCPRoute'), undefined);
    assert.ok(isRouteObject({ apiVersion: 'policy.linkerd.io/v1beta1', kind: 'HTTPRoute' }));
    assert.ok(!isRouteObject({ apiVersion: 'policy.linkerd.io/v1alpha1', kind: 'EgressNetwork' }));
    assert.ok(!isRouteObject({ apiVersion: 'example.io/v1', kind: 'TCPRoute' }));
    assert.equal(singleRuleDenial('TLSRoute'), 'TlsRoute supports a single rule only');
  });
});

describe('the one route-conflict rule', () => {
  it('conflicts the lower kinds on a port and ignores a second one-per-port route', () => {
    const rs = [
      { kind: 'TCPRoute', port: 'a:1', n: 1 },
      { kind: 'HTTPRoute', port: 'a:1', n: 2 },
      { kind: 'TCPRoute', port: 'a:1', n: 3 },
      { kind: 'TCPRoute', port: 'b:1', n: 4 },
      { kind: 'HTTPRoute', port: 'b:2', n: 5 },
      { kind: 'HTTPRoute', port: 'b:2', n: 6 },
      { kind: 'Service', port: 'b:2', n: 7 },
    ];
    const v = routeConflicts(rs);
    const at = (n: number) => v.get(rs[n - 1] as (typeof rs)[number]);
    assert.equal(at(1)?.conflictedBy, 'HTTPRoute');
    assert.equal(at(1)?.ignoredFor, undefined);
    assert.equal(at(2)?.conflictedBy, undefined);
    assert.deepEqual(at(2)?.kindsOnPort, ['HTTPRoute', 'TCPRoute']);
    assert.equal(at(3)?.ignoredFor, rs[0]);
    assert.deepEqual(at(4), { kindsOnPort: ['TCPRoute'] });
    assert.deepEqual(at(6), { kindsOnPort: ['HTTPRoute'] });
    assert.equal(at(7), undefined);
  });

  it('routeTypeConflict says which kind wins, from the registry', () => {
    const existing = [
      {
        kind: 'TLSRoute',
        name: 't',
        namespace: 'ns',
        port: 443,
        network: 'n',
        networkNamespace: 'ns',
      },
    ];
    assert.equal(
      routeTypeConflict(
        { kind: 'TCPRoute', name: 'x', port: 443, network: 'n', networkNamespace: 'ns' },
        existing,
      ),
      'EgressNetwork ns/n port 443 already has TLSRoute ns/t: Linkerd accepts only TLSRoute on a port with mixed route types (precedence GRPCRoute > HTTPRoute > TLSRoute > TCPRoute), so this TCPRoute would be rejected as RouteReasonConflicted',
    );
    assert.equal(
      routeTypeConflict(
        { kind: 'TLSRoute', name: 'x', port: 444, network: 'n', networkNamespace: 'ns' },
        existing,
      ),
      undefined,
    );
  });
});
