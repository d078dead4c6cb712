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

  describe('discovery', () => {
    test('/api, /api/v1 with subresources, /apis, a group and a group-version', async () => {
      assert.deepEqual((await call(s, 'GET', '/api')).json.versions, ['v1']);
      const core = (await call(s, 'GET', '/api/v1')).json as {
        groupVersion: string;
        resources: Record<string, unknown>[];
      };
      assert.equal(core.groupVersion, 'v1');
      assert.deepEqual(
        core.resources.find((r) => r.name === 'pods'),
        {
          name: 'pods',
          singularName: 'pod',
          namespaced: true,
          kind: 'Pod',
          verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
          shortNames: ['po'],
        },
      );
      assert.deepEqual(
        core.resources.find((r) => r.name === 'pods/portforward'),
        {
          name: 'pods/portforward',
          singularName: '',
          namespaced: true,
          kind: 'PodPortForwardOptions',
          verbs: ['create', 'get'],
        },
      );
      assert.equal(core.resources.find((r) => r.name === 'namespaces')?.namespaced, false);
      const names = core.resources.map((r) => r.name);
      assert.ok(names.indexOf('pods') < names.indexOf('pods/status'), 'main resources come first');
      const groups = (await call(s, 'GET', '/apis')).json.groups as {
        name: string;
        versions: { version: string }[];
      }[];
      assert.deepEqual(
        groups.map((g) => `${g.name}:${g.versions.map((v) => v.version).join(',')}`),
        [
          'apps:v1',
          'batch:v1',
          // Every version the CRDs serve, by version priority; CRD groups alphabetically after built-ins.
          'gateway.networking.k8s.io:v1,v1beta1,v1alpha2',
          'policy.linkerd.io:v1beta3,v1beta2,v1beta1,v1alpha1',
        ],
      );
      const gw = (await call(s, 'GET', '/apis/gateway.networking.k8s.io')).json;
      assert.deepEqual(gw.preferredVersion, { groupVersion: 'gateway.networking.k8s.io/v1', version: 'v1' });
      const tlsList = (await call(s, 'GET', '/apis/gateway.networking.k8s.io/v1alpha2')).json as {
        resources: { name: string; kind: string }[];
      };
      assert.deepEqual(
        tlsList.resources.map((r) => `${r.name}:${r.kind}`),
        [
          'grpcroutes:GRPCRoute',
          'tlsroutes:TLSRoute',
          'tcproutes:TCPRoute',
          'grpcroutes/status:GRPCRoute',
          'tlsroutes/status:TLSRoute',
          'tcproutes/status:TCPRoute',
        ],
      );
      assert.equal((await call(s, 'GET', '/version')).json.major, '1');
    });

    test('a CRD not installed: its group-version and paths answer 404 page not found, like a real server', async () => {
      s.faults.notServed
        .add('tlsroutes.gateway.networking.k8s.io')
        .add('tcproutes.gateway.networking.k8s.io')
        .add('grpcroutes.gateway.networking.k8s.io');
      try {
        for (const path of [
          '/apis/gateway.networking.k8s.io/v1alpha2',
          '/apis/gateway.networking.k8s.io/v1alpha2/namespaces/app/tlsroutes',
          '/apis/gateway.networking.k8s.io/v1alpha2/namespaces/app/tlsroutes/x',
        ]) {
          const r = await call(s, 'GET', path);
          assert.equal(r.status, 404, path);
          assert.equal(r.text, '404 page not found\n');
          assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
        }
        const gw = (await call(s, 'GET', '/apis/gateway.networking.k8s.io')).json as {
          versions: { version: string }[];
        };
        assert.deepEqual(
          gw.versions.map((v) => v.version),
          ['v1', 'v1beta1'],
        );
        s.faults.notServed.add('egressnetworks.policy.linkerd.io').add('httproutes.policy.linkerd.io');
        assert.equal((await call(s, 'GET', '/apis/policy.linkerd.io')).status, 404);
        const groups = (await call(s, 'GET', '/apis')).json.groups as { name: string }[];
        assert.ok(!groups.some((g) => g.name === 'policy.linkerd.io'));
      } finally {
        s.faults.notServed.clear();
      }
      assert.equal((await call(s, 'GET', '/apis/gateway.networking.k8s.io/v1alpha2')).status, 200);
    });
  });
});
