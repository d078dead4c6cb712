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
    test('401 without or with a wrong token', async () => {
      for (const token of [null, 'wrong']) {
        const r = await call(s, 'GET', '/api/v1/namespaces/app/pods', { token });
        assert.equal(r.status, 401);
        assert.deepEqual(r.json, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: 'Unauthorized',
          reason: 'Unauthorized',
          code: 401,
        });
      }
    });

    test('403 from the RBAC deny list, for lists, gets and CRDs', async () => {
      s.faults.deny.push(
        { verb: 'list', resource: 'pods', namespace: 'app' },
        { verb: 'get', resource: 'egressnetworks' },
      );
      try {
        const list = await call(s, 'GET', '/api/v1/namespaces/app/pods');
        assert.equal(list.status, 403);
        assert.deepEqual(list.json, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message:
            'pods is forbidden: User "egressctl-test" cannot list resource "pods" in API group "" in the namespace "app"',
          reason: 'Forbidden',
          details: { kind: 'pods' },
          code: 403,
        });
        assert.equal(
          (await call(s, 'GET', '/api/v1/namespaces/other/pods')).status,
          200,
          'other namespaces are allowed',
        );
        const en = await call(s, 'GET', '/apis/policy.linkerd.io/v1alpha1/namespaces/app/egressnetworks/x');
        assert.equal(
          en.json.message,
          'egressnetworks.policy.linkerd.io "x" is forbidden: User "egressctl-test" cannot get resource "egressnetworks" in API group "policy.linkerd.io" in the namespace "app"',
        );
        assert.deepEqual(en.json.details, { name: 'x', group: 'policy.linkerd.io', kind: 'egressnetworks' });
      } finally {
        s.faults.deny.length = 0;
      }
    });
  });
});
