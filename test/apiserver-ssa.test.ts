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

  describe('writes: server-side apply', () => {
    const EN = '/apis/policy.linkerd.io/v1alpha1/namespaces/app/egressnetworks';
    const egress = (name: string, spec: Record<string, unknown>) => ({
      apiVersion: 'policy.linkerd.io/v1alpha1',
      kind: 'EgressNetwork',
      metadata: { name },
      spec,
    });

    test('server-side apply: 201 when created, 200 after, managedFields, generation, dryRun persists nothing', async () => {
      const dry = await apply(
        s,
        `${EN}/a`,
        egress('a', { trafficPolicy: 'Deny' }),
        'fieldManager=egressctl&dryRun=All',
      );
      assert.equal(dry.status, 201);
      assert.equal((await call(s, 'GET', `${EN}/a`)).status, 404, 'dryRun=All stores nothing');
      const first = await apply(s, `${EN}/a`, egress('a', { trafficPolicy: 'Deny' }));
      assert.equal(first.status, 201);
      const mf = (first.json.metadata as { managedFields: Record<string, unknown>[] }).managedFields;
      assert.equal(mf.length, 1);
      assert.deepEqual(
        { ...mf[0], time: 'T' },
        {
          manager: 'egressctl',
          operation: 'Apply',
          apiVersion: 'policy.linkerd.io/v1alpha1',
          time: 'T',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:spec': { 'f:trafficPolicy': {} } },
        },
      );
      const rv = (first.json.metadata as { resourceVersion: string }).resourceVersion;
      const same = await apply(s, `${EN}/a`, egress('a', { trafficPolicy: 'Deny' }));
      assert.equal(same.status, 200);
      assert.equal(
        (same.json.metadata as { resourceVersion: string }).resourceVersion,
        rv,
        'a no-op keeps the resourceVersion',
      );
      const flip = await apply(s, `${EN}/a`, egress('a', { trafficPolicy: 'Allow' }));
      assert.equal(flip.status, 200);
      assert.equal((flip.json.metadata as { generation: number }).generation, 2);
      const dryFlip = await apply(
        s,
        `${EN}/a`,
        egress('a', { trafficPolicy: 'Deny' }),
        'fieldManager=egressctl&dryRun=All',
      );
      assert.equal((dryFlip.json.spec as { trafficPolicy: string }).trafficPolicy, 'Deny');
      assert.equal(
        ((await call(s, 'GET', `${EN}/a`)).json.spec as { trafficPolicy: string }).trafficPolicy,
        'Allow',
      );
      const log = s.requests.filter((q) => q.method === 'PATCH' && q.path === `${EN}/a`);
      assert.deepEqual(log.at(-1), {
        method: 'PATCH',
        path: `${EN}/a`,
        query: { fieldManager: 'egressctl', dryRun: 'All' },
        contentType: 'application/apply-patch+yaml',
      });
    });

    test('a field another manager owns: 409 Conflict with causes; force takes it over; a YAML body works too', async () => {
      await apply(s, `${EN}/shared`, egress('shared', { trafficPolicy: 'Allow' }), 'fieldManager=gitops');
      const conflict = await apply(
        s,
        `${EN}/shared`,
        egress('shared', { trafficPolicy: 'Deny' }),
        'fieldManager=egressctl&force=false',
      );
      assert.equal(conflict.status, 409);
      assert.deepEqual(conflict.json, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Apply failed with 1 conflict: conflict with "gitops": .spec.trafficPolicy',
        reason: 'Conflict',
        details: {
          causes: [
            {
              reason: 'FieldManagerConflict',
              message: 'conflict with "gitops"',
              field: '.spec.trafficPolicy',
            },
          ],
        },
        code: 409,
      });
      // The same value is no conflict: both managers then share the field.
      assert.equal(
        (await apply(s, `${EN}/shared`, egress('shared', { trafficPolicy: 'Allow' }))).status,
        200,
      );
      const yamlBody =
        'apiVersion: policy.linkerd.io/v1alpha1\nkind: EgressNetwork\nmetadata:\n  name: shared\nspec:\n  trafficPolicy: Deny\n';
      const forced = await call(s, 'PATCH', `${EN}/shared?fieldManager=egressctl&force=true`, {
        body: yamlBody,
        contentType: 'application/apply-patch+yaml; charset=utf-8',
      });
      assert.equal(forced.status, 200);
      const mf = (forced.json.metadata as { managedFields: { manager: string }[] }).managedFields;
      assert.deepEqual(
        mf.map((m) => m.manager),
        ['egressctl'],
        'gitops lost its only field',
      );
      // An Update manager is named with its apiVersion.
      await call(s, 'PATCH', `${EN}/shared?fieldManager=kubectl-edit`, {
        body: { spec: { trafficPolicy: 'Allow' } },
        contentType: 'application/merge-patch+json',
      });
      const c2 = await apply(s, `${EN}/shared`, egress('shared', { trafficPolicy: 'Deny' }));
      assert.equal(
        c2.json.message,
        'Apply failed with 1 conflict: conflict with "kubectl-edit" using policy.linkerd.io/v1alpha1: .spec.trafficPolicy',
      );
    });

    test('apply refuses: no fieldManager (422), force on a merge patch (422), bad dryRun (422), strategic merge on a CRD (415)', async () => {
      const noManager = await apply(s, `${EN}/x`, egress('x', { trafficPolicy: 'Deny' }), '');
      assert.equal(noManager.status, 422);
      assert.equal(
        noManager.json.message,
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      );
      assert.deepEqual(noManager.json.details, {
        group: 'meta.k8s.io',
        kind: 'PatchOptions',
        causes: [
          {
            reason: 'FieldValueRequired',
            message: 'Required value: is required for apply patch',
            field: 'fieldManager',
          },
        ],
      });
      const force = await call(s, 'PATCH', `${EN}/x?force=true`, {
        body: {},
        contentType: 'application/merge-patch+json',
      });
      assert.equal(force.status, 422);
      assert.equal(
        force.json.message,
        'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
      );
      const dry = await apply(
        s,
        `${EN}/x`,
        egress('x', { trafficPolicy: 'Deny' }),
        'fieldManager=e&dryRun=Server',
      );
      assert.equal(dry.status, 422);
      assert.equal(dry.json.message, 'dryRun: Unsupported value: "Server": supported values: "All"');
      const smp = await call(s, 'PATCH', `${EN}/x`, {
        body: {},
        contentType: 'application/strategic-merge-patch+json',
      });
      assert.equal(smp.status, 415);
      assert.deepEqual(smp.json, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message:
          'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
        reason: 'UnsupportedMediaType',
        code: 415,
      });
    });
  });
});
