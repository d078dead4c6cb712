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

  describe('writes: patch, PUT and the status subresource', () => {
    const EN = '/apis/policy.linkerd.io/v1alpha1/namespaces/app/egressnetworks';
    const egress = (name: string, spec: Record<string, unknown>) => ({
      apiVersion: 'policy.linkerd.io/v1alpha1',
      kind: 'EgressNetwork',
      metadata: { name },
      spec,
    });

    test('status subresource: merge patch and PUT write status only; apply on the main resource never touches it', async () => {
      await apply(s, `${EN}/st`, egress('st', { trafficPolicy: 'Allow' }));
      const condition = {
        type: 'Accepted',
        status: 'True',
        reason: 'Accepted',
        message: '',
        lastTransitionTime: '2026-11-28T06:00:00Z',
      };
      const patched = await call(s, 'PATCH', `${EN}/st/status`, {
        body: { status: { conditions: [condition] }, spec: { trafficPolicy: 'Deny' } },
        contentType: 'application/merge-patch+json',
      });
      assert.equal(patched.status, 200);
      assert.deepEqual(patched.json.status, { conditions: [condition] });
      assert.deepEqual(patched.json.spec, { trafficPolicy: 'Allow' }, 'spec is not written through /status');
      assert.equal((patched.json.metadata as { generation: number }).generation, 1);
      const applied = await apply(s, `${EN}/st`, {
        ...egress('st', { trafficPolicy: 'Deny' }),
        status: { conditions: [] },
      });
      assert.deepEqual(applied.json.status, { conditions: [condition] });
      const put = await call(s, 'PUT', `${EN}/st/status`, {
        body: { ...egress('st', {}), status: { conditions: [] } },
      });
      assert.equal(put.status, 200);
      assert.deepEqual(put.json.status, { conditions: [] });
      const badStatus = await call(s, 'PATCH', `${EN}/st/status`, {
        body: { status: { conditions: [{ ...condition, status: 'Yes' }] } },
        contentType: 'application/merge-patch+json',
      });
      assert.equal(badStatus.status, 422);
      assert.equal(
        badStatus.json.message,
        'EgressNetwork.policy.linkerd.io "st" is invalid: status.conditions[0].status: Unsupported value: "Yes": supported values: "True", "False", "Unknown"',
      );
      const events: string[] = [];
      s.store.on('change', (e: { type: string; object: { metadata: { name: string } } }) =>
        events.push(`${e.type} ${e.object.metadata.name}`),
      );
      await call(s, 'PATCH', `${EN}/st/status`, {
        body: { status: { conditions: [condition] } },
        contentType: 'application/merge-patch+json',
      });
      await call(s, 'DELETE', `${EN}/st`);
      s.store.removeAllListeners('change');
      assert.deepEqual(events, ['MODIFIED st', 'DELETED st']);
    });

    test('merge patch and JSON patch on the main resource; PUT with a stale resourceVersion is a 409', async () => {
      await apply(
        s,
        `${EN}/p`,
        egress('p', { trafficPolicy: 'Allow', networks: [{ cidr: '203.0.113.0/24' }] }),
      );
      const merged = await call(s, 'PATCH', `${EN}/p`, {
        body: { spec: { networks: null } },
        contentType: 'application/merge-patch+json',
      });
      assert.deepEqual(merged.json.spec, { trafficPolicy: 'Allow' });
      const jp = await call(s, 'PATCH', `${EN}/p`, {
        body: [{ op: 'replace', path: '/spec/trafficPolicy', value: 'Deny' }],
        contentType: 'application/json-patch+json',
      });
      assert.deepEqual(jp.json.spec, { trafficPolicy: 'Deny' });
      const live = jp.json as { metadata: { resourceVersion: string } };
      const put = await call(s, 'PUT', `${EN}/p`, {
        body: { ...egress('p', { trafficPolicy: 'Allow' }), metadata: { name: 'p', resourceVersion: '1' } },
      });
      assert.equal(put.status, 409);
      assert.equal(
        put.json.message,
        'Operation cannot be fulfilled on egressnetworks.policy.linkerd.io "p": the object has been modified; please apply your changes to the latest version and try again',
      );
      const ok = await call(s, 'PUT', `${EN}/p`, {
        body: {
          ...egress('p', { trafficPolicy: 'Allow' }),
          metadata: { name: 'p', resourceVersion: live.metadata.resourceVersion },
        },
      });
      assert.equal(ok.status, 200);
      assert.equal((ok.json.metadata as { generation: number }).generation, 4, 'three spec changes');
    });
  });
});
