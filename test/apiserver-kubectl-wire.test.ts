/**
 * What the sandbox API server speaks for kubectl, on the wire and without kubectl: OpenAPI v3/v2, Tables,
 * every served version with one stored object, and protobuf request bodies (test/sandbox-kubectl.test.ts
 * drives the same with the real kubectl).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { startApiServer, type ApiServer } from '../src/sandbox/apiserver.js';
import { humanDuration } from '../src/sandbox/table.js';
import { World } from '../src/sandbox/world.js';
import { TOKEN } from './helpers/apiserver.js';

interface Raw {
  status: number;
  type: string;
  body: Buffer;
  json: () => Record<string, unknown>;
}

function raw(
  s: ApiServer,
  method: string,
  path: string,
  o: { accept?: string; body?: Buffer | string; contentType?: string } = {},
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      new URL(path, s.url),
      {
        method,
        agent: false,
        ca: s.ca?.certPem,
        headers: {
          Authorization: `Bearer ${TOKEN}`,
          ...(o.accept ? { Accept: o.accept } : {}),
          ...(o.contentType ? { 'Content-Type': o.contentType } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type']),
            body,
            json: () => JSON.parse(body.toString('utf8')) as Record<string, unknown>,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

const GW = '/apis/gateway.networking.k8s.io';
const ROUTE = {
  kind: 'HTTPRoute',
  metadata: { name: 'r1', namespace: 'app' },
  spec: {
    hostnames: ['httpbin.org'],
    parentRefs: [
      { group: 'policy.linkerd.io', kind: 'EgressNetwork', name: 'all', namespace: 'app', port: 80 },
    ],
  },
};

/** A protobuf field: key then length-delimited bytes. */
const field = (n: number, v: Buffer | string): Buffer => {
  const b = Buffer.from(v);
  return Buffer.concat([Buffer.from([(n << 3) | 2, b.length]), b]);
};
/** `k8s\0` + runtime.Unknown{typeMeta{apiVersion, kind}, raw: {metadata{name, labels{k: v}}}}. */
const protobufObject = (apiVersion: string, kind: string, name: string) =>
  Buffer.concat([
    Buffer.from('k8s\0', 'latin1'),
    field(1, Buffer.concat([field(1, apiVersion), field(2, kind)])),
    field(
      2,
      field(1, Buffer.concat([field(1, name), field(11, Buffer.concat([field(1, 'team'), field(2, 'a')]))])),
    ),
    field(4, 'application/vnd.kubernetes.protobuf'),
  ]);

describe('the sandbox API server, as kubectl talks to it', () => {
  let s: ApiServer;
  before(async () => {
    s = await startApiServer({ token: TOKEN });
    new World(s.store).namespace('app');
  });
  after(() => s.close());

  test('every version the CRDs serve reads and writes one stored object; unserved versions 404', async () => {
    const created = await raw(s, 'POST', `${GW}/v1beta1/namespaces/app/httproutes`, {
      body: JSON.stringify({ apiVersion: 'gateway.networking.k8s.io/v1beta1', ...ROUTE }),
      contentType: 'application/json',
    });
    assert.equal(created.status, 201, created.body.toString());
    assert.equal(created.json().apiVersion, 'gateway.networking.k8s.io/v1beta1');
    const v1 = await raw(s, 'GET', `${GW}/v1/namespaces/app/httproutes/r1`);
    assert.equal(v1.json().apiVersion, 'gateway.networking.k8s.io/v1');
    assert.deepEqual(v1.json().spec, created.json().spec);
    const list = await raw(s, 'GET', `${GW}/v1beta1/namespaces/app/httproutes`);
    assert.equal(list.json().apiVersion, 'gateway.networking.k8s.io/v1beta1');
    assert.equal((list.json().items as unknown[]).length, 1);
    // The body's apiVersion must be the URL's.
    const mismatch = await raw(s, 'PUT', `${GW}/v1beta1/namespaces/app/httproutes/r1`, {
      body: JSON.stringify({ apiVersion: 'gateway.networking.k8s.io/v1', ...ROUTE }),
      contentType: 'application/json',
    });
    assert.equal(mismatch.status, 400);
    assert.equal(
      mismatch.json().message,
      'the API version in the data (gateway.networking.k8s.io/v1) does not match the expected API version (gateway.networking.k8s.io/v1beta1)',
    );
    const alpha = await raw(s, 'GET', `${GW}/v1alpha2/namespaces/app/httproutes`);
    assert.deepEqual([alpha.status, alpha.body.toString()], [404, '404 page not found\n']);
  });

  test('/openapi/v3 lists each served group-version; a kind PATCH takes fieldValidation; unknown paths 404', async () => {
    const root = (await raw(s, 'GET', '/openapi/v3')).json().paths as Record<
      string,
      { serverRelativeURL: string }
    >;
    assert.ok(root['apis/gateway.networking.k8s.io/v1beta1']);
    assert.ok(root['api/v1']);
    assert.match(
      root['apis/policy.linkerd.io/v1alpha1']?.serverRelativeURL ?? '',
      /^\/openapi\/v3\/apis\/policy\.linkerd\.io\/v1alpha1\?hash=[0-9A-F]{128}$/,
    );
    const alpha = (await raw(s, 'GET', '/openapi/v3/apis/gateway.networking.k8s.io/v1alpha2')).json();
    const paths = Object.keys(alpha.paths as object);
    assert.ok(
      paths.includes('/apis/gateway.networking.k8s.io/v1alpha2/namespaces/{namespace}/tlsroutes/{name}'),
    );
    assert.ok(!paths.some((p) => p.includes('httproutes')), 'HTTPRoute v1alpha2 is not served');
    const en = (await raw(s, 'GET', '/openapi/v3/apis/policy.linkerd.io/v1alpha1')).json();
    const patch = (
      en.paths as Record<
        string,
        { patch?: { parameters: { name: string }[]; 'x-kubernetes-group-version-kind': unknown } }
      >
    )['/apis/policy.linkerd.io/v1alpha1/namespaces/{namespace}/egressnetworks/{name}']?.patch;
    assert.deepEqual(patch?.['x-kubernetes-group-version-kind'], {
      group: 'policy.linkerd.io',
      version: 'v1alpha1',
      kind: 'EgressNetwork',
    });
    assert.ok(patch?.parameters.some((p) => p.name === 'fieldValidation'));
    const schema = (en.components as { schemas: Record<string, { properties: Record<string, unknown> }> })
      .schemas['io.linkerd.policy.v1alpha1.EgressNetwork'];
    assert.ok(schema?.properties.spec);
    for (const p of [
      '/openapi/v3/apis/nope.example.com/v1',
      '/openapi/v3/apis/gateway.networking.k8s.io',
      '/openapi/v4',
    ])
      assert.deepEqual([(await raw(s, 'GET', p)).status], [404], p);
  });

  test('/openapi/v2: JSON with definitions; protobuf without; 406 for anything else', async () => {
    const j = await raw(s, 'GET', '/openapi/v2', { accept: 'application/json' });
    assert.equal(j.json().swagger, '2.0');
    assert.ok(
      (j.json().definitions as Record<string, unknown>)['io.k8s.networking.gateway.v1beta1.HTTPRoute'],
    );
    const pb = await raw(s, 'GET', '/openapi/v2', {
      accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf',
    });
    assert.equal(pb.type, 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    assert.deepEqual([...pb.body.subarray(0, 5)], [0x0a, 3, 0x32, 0x2e, 0x30]);
    const other = await raw(s, 'GET', '/openapi/v2', { accept: 'text/html' });
    assert.equal(other.status, 406);
  });

  test('a Table for CRDs when asked (NAME, the printer columns, AGE); built-ins answer JSON', async () => {
    const accept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
    const t = (await raw(s, 'GET', `${GW}/v1/namespaces/app/httproutes`, { accept })).json();
    assert.equal(t.kind, 'Table');
    assert.deepEqual(
      (t.columnDefinitions as { name: string }[]).map((c) => c.name),
      ['Name', 'Hostnames', 'Age'],
    );
    const [row] = t.rows as { cells: unknown[]; object: { metadata: { namespace: string } } }[];
    assert.deepEqual(row?.cells.slice(0, 2), ['r1', '["httpbin.org"]']);
    assert.match(String(row?.cells[2]), /^\d+s$/);
    assert.equal(row?.object.metadata.namespace, 'app');
    const one = (await raw(s, 'GET', `${GW}/v1/namespaces/app/httproutes/r1`, { accept })).json();
    assert.equal((one.rows as unknown[]).length, 1);
    assert.equal((await raw(s, 'GET', '/api/v1/namespaces', { accept })).json().kind, 'NamespaceList');
    // v1beta1 is no Table version we answer: JSON.
    const beta = await raw(s, 'GET', `${GW}/v1/namespaces/app/httproutes`, {
      accept: 'application/json;as=Table;v=v1beta1;g=meta.k8s.io',
    });
    assert.equal(beta.json().kind, 'HTTPRouteList');
  });

  test('protobuf bodies: a Namespace is decoded (kubectl create ns); other kinds are 415', async () => {
    const ns = await raw(s, 'POST', '/api/v1/namespaces', {
      body: protobufObject('v1', 'Namespace', 'from-kubectl'),
      contentType: 'application/vnd.kubernetes.protobuf',
    });
    assert.equal(ns.status, 201, ns.body.toString());
    assert.deepEqual((ns.json().metadata as { labels: unknown }).labels, { team: 'a' });
    const pod = await raw(s, 'POST', '/api/v1/namespaces/app/pods', {
      body: protobufObject('v1', 'Pod', 'p'),
      contentType: 'application/vnd.kubernetes.protobuf',
    });
    assert.equal(pod.status, 415);
    assert.equal(pod.json().message, 'protobuf bodies of v1/Pod are not supported: send JSON');
    const garbage = await raw(s, 'POST', '/api/v1/namespaces', {
      body: Buffer.from('not protobuf'),
      contentType: 'application/vnd.kubernetes.protobuf',
    });
    assert.equal(garbage.status, 415);
  });
});

test('AGE reads as kubectl prints it (apimachinery duration.HumanDuration)', () => {
  const s = 1000;
  assert.deepEqual(
    [
      -5 * s,
      0,
      59 * s,
      119 * s,
      150 * s,
      600 * s,
      179 * 60 * s,
      3 * 3600 * s,
      7.5 * 3600 * s,
      30 * 3600 * s,
      50 * 3600 * s,
      10 * 86400 * s,
      800 * 86400 * s,
      3000 * 86400 * s,
    ].map(humanDuration),
    [
      '<invalid>',
      '0s',
      '59s',
      '119s',
      '2m30s',
      '10m',
      '179m',
      '3h',
      '7h30m',
      '30h',
      '2d2h',
      '10d',
      '2y70d',
      '8y',
    ],
  );
});
