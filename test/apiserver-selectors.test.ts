import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiServer } from '../src/sandbox/apiserver.js';
import { call, startFixtureServer, type Reply } from './helpers/apiserver.js';

describe('the sandbox API server over HTTPS', () => {
  let s: ApiServer;
  before(async () => {
    ({ s } = await startFixtureServer());
  });
  after(() => s.close());

  describe('get and list', () => {
    const names = (r: Reply) =>
      (r.json.items as { metadata: { name: string } }[]).map((i) => i.metadata.name);

    test('a list has kind, apiVersion, the store resourceVersion and items without kind', async () => {
      const r = await call(s, 'GET', '/api/v1/namespaces/app/pods?labelSelector=app%3Dclient');
      assert.equal(r.status, 200);
      assert.equal(r.json.kind, 'PodList');
      assert.equal(r.json.apiVersion, 'v1');
      assert.equal((r.json.metadata as { resourceVersion: string }).resourceVersion, s.store.resourceVersion);
      assert.deepEqual(names(r), ['client']);
      assert.equal((r.json.items as Record<string, unknown>[])[0]?.kind, undefined);
    });

    test('label selectors: =, ==, !=, in, notin, exists, !key, and ANDed terms', async () => {
      const sel = async (q: string) =>
        names(await call(s, 'GET', `/api/v1/namespaces/app/pods?labelSelector=${encodeURIComponent(q)}`));
      assert.deepEqual(await sel('app==worker'), ['pending', 'worker']);
      assert.deepEqual(await sel('app in (client, plain)'), ['client', 'plain']);
      assert.deepEqual(await sel('app=worker,app!=client'), ['pending', 'worker']);
      assert.deepEqual(await sel('tier'), ['client']);
      assert.deepEqual(await sel('app notin (worker,web,db),!tier,app'), ['plain']);
      assert.deepEqual(await sel('!app').then((n) => n.filter((x) => !x.startsWith('nightly'))), [
        'sidecar',
        'silent',
        'unscheduled',
      ]);
      const bad = await call(s, 'GET', '/api/v1/namespaces/app/pods?labelSelector=a%3D%3D%3Db');
      assert.equal(bad.status, 400);
      assert.equal(bad.json.reason, 'BadRequest');
      assert.match(String(bad.json.message), /^unable to parse requirement: /);
    });

    test('field selectors and the all-namespaces paths', async () => {
      assert.deepEqual(names(await call(s, 'GET', '/api/v1/pods?fieldSelector=metadata.name%3Dclient')), [
        'client',
        'client',
      ]);
      const all = (await call(s, 'GET', '/api/v1/pods?fieldSelector=metadata.name%3Dclient')).json.items as {
        metadata: { namespace: string };
      }[];
      assert.deepEqual(
        all.map((i) => i.metadata.namespace),
        ['app', 'other'],
      );
      assert.deepEqual(
        names(await call(s, 'GET', '/api/v1/namespaces/app/pods?fieldSelector=status.phase%3DPending')),
        ['pending', 'unscheduled'],
      );
      assert.deepEqual(names(await call(s, 'GET', '/apis/apps/v1/statefulsets')), ['db']);
      const bad = await call(s, 'GET', '/api/v1/pods?fieldSelector=spec.foo%3Dx');
      assert.equal(bad.status, 400);
      assert.equal(bad.json.message, 'field label not supported: spec.foo');
    });

    test('workloads own their pods by uid: Deployment → ReplicaSets (one old, mid-rollout) → Pods; CronJob → Jobs → Pods', async () => {
      const dep = (await call(s, 'GET', '/apis/apps/v1/namespaces/app/deployments/web')).json as {
        metadata: { uid: string; generation: number; creationTimestamp: string; resourceVersion: string };
        spec: { selector: { matchLabels: Record<string, string> } };
      };
      assert.deepEqual(dep.spec.selector.matchLabels, { app: 'web' });
      assert.match(dep.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(dep.metadata.generation, 1);
      const rss = (await call(s, 'GET', '/apis/apps/v1/namespaces/app/replicasets?labelSelector=app%3Dweb'))
        .json.items as {
        metadata: {
          name: string;
          uid: string;
          ownerReferences: { uid: string; controller: boolean; kind: string }[];
        };
        spec: { replicas: number };
      }[];
      assert.equal(rss.length, 2);
      for (const rs of rss)
        assert.deepEqual(
          [
            rs.metadata.ownerReferences[0]?.uid,
            rs.metadata.ownerReferences[0]?.controller,
            rs.metadata.ownerReferences[0]?.kind,
          ],
          [dep.metadata.uid, true, 'Deployment'],
        );
      const pods = (await call(s, 'GET', '/api/v1/namespaces/app/pods?labelSelector=app%3Dweb')).json
        .items as {
        metadata: { ownerReferences: { uid: string }[] };
      }[];
      assert.equal(pods.length, 3);
      assert.deepEqual(
        rss
          .map((rs) => pods.filter((p) => p.metadata.ownerReferences[0]?.uid === rs.metadata.uid).length)
          .sort(),
        [1, 2],
      );
      const jobs = (await call(s, 'GET', '/apis/batch/v1/namespaces/app/jobs')).json.items as {
        metadata: { name: string; ownerReferences: { kind: string; name: string }[] };
      }[];
      assert.deepEqual(
        jobs.map(
          (j) =>
            `${j.metadata.name}<-${j.metadata.ownerReferences[0]?.kind}/${j.metadata.ownerReferences[0]?.name}`,
        ),
        ['nightly-29630000<-CronJob/nightly', 'nightly-29630001<-CronJob/nightly'],
      );
      const sidecar = (await call(s, 'GET', '/api/v1/namespaces/app/pods/sidecar')).json as {
        spec: {
          initContainers: {
            name: string;
            restartPolicy: string;
            ports: { name: string; containerPort: number }[];
          }[];
        };
      };
      assert.deepEqual(sidecar.spec.initContainers[0]?.restartPolicy, 'Always');
      assert.deepEqual(sidecar.spec.initContainers[0]?.ports[1], {
        name: 'linkerd-admin',
        containerPort: 9991,
        protocol: 'TCP',
      });
    });
  });
});
