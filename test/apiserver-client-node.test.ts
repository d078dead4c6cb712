import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { withServer } from './helpers/apiserver.js';

describe('@kubernetes/client-node 1.4 against the sandbox over HTTPS', () => {
  test('KubeConfig + CoreV1Api + CustomObjectsApi: list, read, 404 ApiException, server-side apply', async () => {
    const k8s = await import('@kubernetes/client-node');
    await withServer({}, async (s, w) => {
      w.pod('app', 'client', { labels: { app: 'client' } });
      w.pod('app', 'other', { labels: { app: 'other' } });
      const kc = new k8s.KubeConfig();
      kc.loadFromString(s.kubeconfig({ namespace: 'app' }));
      assert.match(kc.getCurrentCluster()?.caData ?? '', /^LS0t/);
      const core = kc.makeApiClient(k8s.CoreV1Api);
      const pods = await core.listNamespacedPod({ namespace: 'app', labelSelector: 'app=client' });
      assert.deepEqual(
        pods.items.map((p) => p.metadata?.name),
        ['client'],
      );
      const pod = await core.readNamespacedPod({ namespace: 'app', name: 'client' });
      assert.equal(
        pod.spec?.containers[0]?.ports?.find((p) => p.name === 'linkerd-admin')?.containerPort,
        4191,
      );
      await assert.rejects(core.readNamespacedPod({ namespace: 'app', name: 'nope' }), (e: unknown) => {
        assert.ok(e instanceof k8s.ApiException);
        assert.equal(e.code, 404);
        assert.equal((JSON.parse(e.body as string) as { message: string }).message, 'pods "nope" not found');
        return true;
      });
      const coa = kc.makeApiClient(k8s.CustomObjectsApi);
      const body = {
        apiVersion: 'policy.linkerd.io/v1alpha1',
        kind: 'EgressNetwork',
        metadata: { name: 'all-egress-traffic', namespace: 'app' },
        spec: { trafficPolicy: 'Deny' },
      };
      const out = (await coa.patchNamespacedCustomObject(
        {
          group: 'policy.linkerd.io',
          version: 'v1alpha1',
          namespace: 'app',
          plural: 'egressnetworks',
          name: 'all-egress-traffic',
          body,
          fieldManager: 'egressctl',
          force: true,
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
      )) as { metadata: { uid: string }; spec: unknown };
      assert.deepEqual(out.spec, { trafficPolicy: 'Deny' });
      assert.deepEqual(s.requests.at(-1), {
        method: 'PATCH',
        path: '/apis/policy.linkerd.io/v1alpha1/namespaces/app/egressnetworks/all-egress-traffic',
        query: { fieldManager: 'egressctl', force: 'true' },
        contentType: 'application/apply-patch+yaml',
      });
      const objs = k8s.KubernetesObjectApi.makeApiClient(kc);
      const read = await objs.read({
        apiVersion: 'policy.linkerd.io/v1alpha1',
        kind: 'EgressNetwork',
        metadata: { name: 'all-egress-traffic', namespace: 'app' },
      });
      assert.equal(read.metadata?.uid, out.metadata.uid);
    });
  });
});
