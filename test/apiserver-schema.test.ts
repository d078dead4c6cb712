import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiServer } from '../src/sandbox/apiserver.js';
import { apply, call, startFixtureServer } from './helpers/apiserver.js';

describe('the sandbox API server over HTTPS', () => {
  let s: ApiServer;
  before(async () => {
    ({ s } = await startFixtureServer());
  });
  after(() => s.close());

  describe("validation: the CRD schemas and Linkerd's webhook", () => {
    const GW = '/apis/gateway.networking.k8s.io';
    const route = (kind: string, spec: Record<string, unknown>, name = 'r') => ({
      apiVersion:
        kind === 'TLSRoute' || kind === 'TCPRoute'
          ? 'gateway.networking.k8s.io/v1alpha2'
          : 'gateway.networking.k8s.io/v1',
      kind,
      metadata: { name },
      spec,
    });
    const parent = { group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all' };

    test('422 Invalid with causes, worded like kube-apiserver', async () => {
      // The schema requires spec.rules on a TCPRoute (not parentRefs on any route: that is Linkerd's use).
      const r = await apply(
        s,
        `${GW}/v1alpha2/namespaces/app/tcproutes/r`,
        route('TCPRoute', { parentRefs: [{ ...parent, port: 5432 }] }),
      );
      assert.equal(r.status, 422);
      assert.deepEqual(r.json, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'TCPRoute.gateway.networking.k8s.io "r" is invalid: spec.rules: Required value',
        reason: 'Invalid',
        details: {
          name: 'r',
          group: 'gateway.networking.k8s.io',
          kind: 'TCPRoute',
          causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.rules' }],
        },
        code: 422,
      });
      const many = await apply(s, '/apis/policy.linkerd.io/v1alpha1/namespaces/app/egressnetworks/bad', {
        apiVersion: 'policy.linkerd.io/v1alpha1',
        kind: 'EgressNetwork',
        metadata: { name: 'bad' },
        spec: { trafficPolicy: 'Maybe', networks: [{}] },
      });
      assert.equal(
        many.json.message,
        'EgressNetwork.policy.linkerd.io "bad" is invalid: [spec.trafficPolicy: Unsupported value: "Maybe": supported values: "Allow", "Deny", spec.networks[0].cidr: Required value]',
      );
      const port = await apply(
        s,
        `${GW}/v1/namespaces/app/httproutes/r`,
        route('HTTPRoute', { parentRefs: [{ ...parent, port: 70000 }], hostnames: ['Not_A_Host'] }),
      );
      assert.deepEqual(
        (port.json.details as { causes: { field: string; reason: string }[] }).causes.map(
          (c) => `${c.field} ${c.reason}`,
        ),
        ['spec.parentRefs[0].port FieldValueInvalid', 'spec.hostnames[0] FieldValueInvalid'],
      );
      assert.match(
        String(port.json.message),
        /spec\.parentRefs\[0\]\.port: Invalid value: 70000: spec\.parentRefs\[0\]\.port in body should be less than or equal to 65535/,
      );
      const typed = await apply(
        s,
        `${GW}/v1/namespaces/app/httproutes/r`,
        route('HTTPRoute', { parentRefs: [{ ...parent, port: '80' }] }),
      );
      assert.match(
        String(typed.json.message),
        /spec\.parentRefs\[0\]\.port: Invalid value: "string": spec\.parentRefs\[0\]\.port in body must be of type integer: "string"/,
      );
      const created = await call(s, 'POST', `${GW}/v1/namespaces/app/grpcroutes`, {
        body: route('GRPCRoute', { parentRefs: [{ ...parent, port: 0 }] }, 'g'),
      });
      assert.equal(created.status, 422, 'create validates too');
      const noSpec = await apply(s, `${GW}/v1/namespaces/app/httproutes/r`, {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'r' },
      });
      assert.equal(
        noSpec.json.message,
        'HTTPRoute.gateway.networking.k8s.io "r" is invalid: spec: Required value',
      );
    });

    test('defaults from the schema are stored; unknown fields are pruned with a warning, or refused with fieldValidation=Strict', async () => {
      const r = await apply(
        s,
        `${GW}/v1/namespaces/app/httproutes/d`,
        route(
          'HTTPRoute',
          {
            parentRefs: [{ ...parent, port: 80 }],
            rules: [{ backendRefs: [{ name: 'svc', port: 80 }] }],
            extra: 1,
          },
          'd',
        ),
      );
      assert.equal(r.status, 201);
      assert.equal(r.headers.warning, '299 - "unknown field \\"spec.extra\\""');
      assert.deepEqual(r.json.spec, {
        parentRefs: [{ ...parent, port: 80 }],
        rules: [
          {
            backendRefs: [{ group: '', kind: 'Service', name: 'svc', port: 80, weight: 1 }],
            matches: [{ path: { type: 'PathPrefix', value: '/' } }],
          },
        ],
      });
      const mf = (r.json.metadata as { managedFields: { fieldsV1: unknown }[] }).managedFields;
      assert.deepEqual(
        mf[0]?.fieldsV1,
        { 'f:spec': { 'f:parentRefs': {}, 'f:rules': {} } },
        'defaults are not owned',
      );
      const strict = await apply(
        s,
        `${GW}/v1/namespaces/app/httproutes/d`,
        route('HTTPRoute', { parentRefs: [{ ...parent, port: 80 }], extra: 1 }, 'd'),
        'fieldManager=egressctl&fieldValidation=Strict',
      );
      assert.equal(strict.status, 400);
      assert.equal(
        strict.json.message,
        'failed to create typed patch object (app/d; gateway.networking.k8s.io/v1, Kind=HTTPRoute): .spec.extra: field not declared in schema',
      );
    });

    test('Linkerd admission: networks [], exceptions outside or negating the cidr, EgressNetwork parents without a port, one rule for TLS/TCP', async () => {
      const denied = (msg: string) => ({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `admission webhook "linkerd-policy-validator.linkerd.io" denied the request: ${msg}`,
        code: 400,
      });
      const EN = '/apis/policy.linkerd.io/v1alpha1/namespaces/app/egressnetworks/n';
      const en = (networks: unknown) => ({
        apiVersion: 'policy.linkerd.io/v1alpha1',
        kind: 'EgressNetwork',
        metadata: { name: 'n' },
        spec: { trafficPolicy: 'Allow', networks },
      });
      assert.deepEqual((await apply(s, EN, en([]))).json, denied('at least one network must be specified'));
      assert.deepEqual(
        (await apply(s, EN, en([{ cidr: '203.0.113.0/24', except: ['198.51.100.0/24'] }]))).json,
        denied("cidr '203.0.113.0/24' does not include exception '198.51.100.0/24'"),
      );
      assert.deepEqual(
        (await apply(s, EN, en([{ cidr: '203.0.113.0/24', except: ['203.0.0.0/16'] }]))).json,
        denied("cidr '203.0.113.0/24' is completely negated by exception '203.0.0.0/16'"),
      );
      assert.equal(
        (await apply(s, EN, en([{ cidr: '203.0.113.0/24', except: ['203.0.113.7'] }]))).status,
        201,
      );
      const noPort = await apply(
        s,
        `${GW}/v1/namespaces/app/httproutes/np`,
        route('HTTPRoute', { parentRefs: [parent] }, 'np'),
      );
      assert.deepEqual(noPort.json, denied('cannot target an EgressNetwork without specifying a port'));
      const tls2 = await apply(
        s,
        `${GW}/v1alpha2/namespaces/app/tlsroutes/t`,
        route(
          'TLSRoute',
          {
            parentRefs: [{ ...parent, port: 443 }],
            hostnames: ['a.example.com'],
            rules: [{ backendRefs: [{ name: 'a', port: 443 }] }, { backendRefs: [{ name: 'b', port: 443 }] }],
          },
          't',
        ),
      );
      assert.deepEqual(tls2.json, denied('TlsRoute supports a single rule only'));
      const tcp0 = await apply(
        s,
        `${GW}/v1alpha2/namespaces/app/tcproutes/t`,
        route(
          'TCPRoute',
          { parentRefs: [{ ...parent, port: 5432 }], rules: [{ backendRefs: [{ ...parent, port: 5432 }] }] },
          't',
        ),
      );
      assert.equal(tcp0.status, 201);
    });
  });
});
