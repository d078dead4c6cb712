import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiServer } from '../src/sandbox/apiserver.js';
import { call, startFixtureServer } from './helpers/apiserver.js';

describe('the sandbox API server over HTTPS', () => {
  let s: ApiServer;
  before(async () => {
    ({ s } = await startFixtureServer());
  });
  after(() => s.close());

  describe('Status bodies', () => {
    test('404 for a missing object, core and CRD', async () => {
      const pod = await call(s, 'GET', '/api/v1/namespaces/app/pods/nope');
      assert.equal(pod.status, 404);
      assert.equal(pod.headers['content-type'], 'application/json');
      assert.deepEqual(pod.json, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'pods "nope" not found',
        reason: 'NotFound',
        details: { name: 'nope', kind: 'pods' },
        code: 404,
      });
      const route = await call(s, 'GET', '/apis/gateway.networking.k8s.io/v1/namespaces/app/httproutes/r');
      assert.equal(route.json.message, 'httproutes.gateway.networking.k8s.io "r" not found');
      assert.deepEqual(route.json.details, {
        name: 'r',
        group: 'gateway.networking.k8s.io',
        kind: 'httproutes',
      });
    });
  });

  describe('writes', () => {
    const EN = '/apis/policy.linkerd.io/v1alpha1/namespaces/app/egressnetworks';
    const egress = (name: string, spec: Record<string, unknown>) => ({
      apiVersion: 'policy.linkerd.io/v1alpha1',
      kind: 'EgressNetwork',
      metadata: { name },
      spec,
    });

    test('POST creates (201) once, then 409 AlreadyExists; DELETE returns the object, then 404', async () => {
      const created = await call(s, 'POST', EN, { body: egress('c', { trafficPolicy: 'Allow' }) });
      assert.equal(created.status, 201);
      const meta = created.json.metadata as {
        uid: string;
        resourceVersion: string;
        generation: number;
        namespace: string;
      };
      assert.match(meta.uid, /^[0-9a-f-]{36}$/);
      assert.equal(meta.generation, 1);
      assert.equal(meta.namespace, 'app');
      const again = await call(s, 'POST', EN, { body: egress('c', { trafficPolicy: 'Allow' }) });
      assert.equal(again.status, 409);
      assert.deepEqual(again.json, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'egressnetworks.policy.linkerd.io "c" already exists',
        reason: 'AlreadyExists',
        details: { name: 'c', group: 'policy.linkerd.io', kind: 'egressnetworks' },
        code: 409,
      });
      const del = await call(s, 'DELETE', `${EN}/c`);
      assert.equal(del.status, 200);
      assert.equal((del.json.metadata as { uid: string }).uid, meta.uid);
      assert.equal((await call(s, 'DELETE', `${EN}/c`)).status, 404);
      const noNs = await call(s, 'POST', '/apis/policy.linkerd.io/v1alpha1/namespaces/ghost/egressnetworks', {
        body: egress('c', { trafficPolicy: 'Allow' }),
      });
      assert.equal(noNs.status, 404);
      assert.equal(noNs.json.message, 'namespaces "ghost" not found');
    });
  });
});
