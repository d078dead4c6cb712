import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadKubeConnection } from '../src/kube/config.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-kc-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, doc: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, doc);
  return p;
}

const a = write(
  'a.yaml',
  `apiVersion: v1
kind: Config
current-context: ctx-a
clusters:
- name: shared
  cluster: {server: "https://a.example:6443", certificate-authority: ca.pem}
contexts:
- name: ctx-a
  context: {cluster: shared, user: alice, namespace: team-a}
- name: shared-ctx
  context: {cluster: shared, user: alice}
users:
- name: alice
  user: {token: token-a}
`,
);
const b = write(
  'b.yaml',
  `apiVersion: v1
kind: Config
current-context: ctx-b
clusters:
- name: shared
  cluster: {server: "https://b.example:6443"}
- name: plain
  cluster: {server: "http://127.0.0.1:8001"}
contexts:
- name: ctx-b
  context: {cluster: plain, user: bob}
- name: shared-ctx
  context: {cluster: plain, user: bob, namespace: from-b}
users:
- name: alice
  user: {token: token-from-b}
- name: bob
  user: {username: bob, password: secret, as: admin, as-groups: [ops]}
`,
);
write('ca.pem', 'not really a CA but bytes');

test('KUBECONFIG list: the first file wins for current-context and every named entry', async () => {
  const c = loadKubeConnection({}, { KUBECONFIG: `${a}${path.delimiter}${b}` });
  assert.equal(c.contextName, 'ctx-a');
  assert.equal(c.server.toString(), 'https://a.example:6443/');
  assert.equal(c.namespace, 'team-a');
  assert.deepEqual(await c.headers(), { Authorization: 'Bearer token-a' });
  // certificate-authority is read relative to the kubeconfig's folder.
  assert.equal(c.ca?.toString(), 'not really a CA but bytes');
});

test('missing KUBECONFIG entries are skipped, like kubectl', () => {
  const c = loadKubeConnection({}, { KUBECONFIG: `${path.join(dir, 'missing.yaml')}${path.delimiter}${b}` });
  assert.equal(c.contextName, 'ctx-b');
  assert.equal(c.namespace, 'default');
});

test('--context picks a context; the first file defines it; -n beats the context namespace', async () => {
  const c = loadKubeConnection({ context: 'shared-ctx' }, { KUBECONFIG: `${b}${path.delimiter}${a}` });
  assert.equal(c.server.toString(), 'http://127.0.0.1:8001/');
  assert.equal(c.namespace, 'from-b');
  assert.deepEqual(await c.headers(), {
    Authorization: `Basic ${Buffer.from('bob:secret').toString('base64')}`,
    'Impersonate-User': 'admin',
    'Impersonate-Group': ['ops'],
  });
  assert.equal(
    loadKubeConnection({ context: 'shared-ctx', namespace: 'x' }, { KUBECONFIG: b }).namespace,
    'x',
  );
});

test('errors name the file, the context and the next step', () => {
  assert.throws(
    () => loadKubeConnection({ kubeconfig: path.join(dir, 'nope') }, {}),
    /--kubeconfig .*nope: no such file/,
  );
  assert.throws(
    () => loadKubeConnection({ context: 'zzz' }, { KUBECONFIG: a }),
    /context "zzz" does not exist in .*a\.yaml \(contexts: ctx-a, shared-ctx\)/,
  );
  assert.throws(
    () => loadKubeConnection({}, { KUBECONFIG: path.join(dir, 'none.yaml'), HOME: dir }),
    /no kubeconfig found: set KUBECONFIG or pass --kubeconfig/,
  );
  const bad = write('bad.yaml', 'clusters: [\n');
  assert.throws(
    () => loadKubeConnection({ kubeconfig: bad }, {}),
    /kubeconfig .*bad\.yaml is not valid YAML/,
  );
  const noCtx = write('noctx.yaml', 'apiVersion: v1\nkind: Config\nclusters: []\n');
  assert.throws(
    () => loadKubeConnection({ kubeconfig: noCtx }, {}),
    /no current context in .*: pass --context NAME/,
  );
});

test('exec credential plugins: token, KUBERNETES_EXEC_INFO, env, caching and failures', async () => {
  const plugin = write(
    'plugin.sh',
    `#!/bin/sh
echo run >> "${dir}/plugin.log"
case "$KUBERNETES_EXEC_INFO" in *'"interactive":false'*) ;; *) echo "no exec info" >&2; exit 1;; esac
echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"'"$TOKEN_PREFIX"'-from-plugin"}}'
`,
  );
  fs.chmodSync(plugin, 0o755);
  const kc = write(
    'exec.yaml',
    `apiVersion: v1
kind: Config
current-context: x
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
users:
- name: u
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1, command: ./plugin.sh, env: [{name: TOKEN_PREFIX, value: abc}], interactiveMode: Never}
`,
  );
  const c = loadKubeConnection({ kubeconfig: kc }, { PATH: process.env.PATH });
  assert.deepEqual(await c.headers(), { Authorization: 'Bearer abc-from-plugin' });
  assert.deepEqual(await c.headers(), { Authorization: 'Bearer abc-from-plugin' });
  assert.equal(
    fs.readFileSync(path.join(dir, 'plugin.log'), 'utf8'),
    'run\n',
    'a credential without expiry is cached for the run',
  );

  const broken = write(
    'broken.yaml',
    fs.readFileSync(kc, 'utf8').replace('command: ./plugin.sh', 'command: ./does-not-exist.sh'),
  );
  await assert.rejects(
    loadKubeConnection({ kubeconfig: broken }, {}).headers(),
    /exec credential plugin "\.\/does-not-exist\.sh" for user "u" failed: command not found/,
  );
});
