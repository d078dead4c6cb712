import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import tls from 'node:tls';
import { generateServingCerts } from '../src/sandbox/x509.js';
import { call, TOKEN, withServer } from './helpers/apiserver.js';

describe('x509: the in-process CA and serving certificate', () => {
  test('a CA and a leaf for 127.0.0.1 and localhost that node:crypto parses and verifies', () => {
    const { ca, server } = generateServingCerts();
    const caCert = new crypto.X509Certificate(ca.certPem);
    const leaf = new crypto.X509Certificate(server.certPem);
    assert.equal(caCert.ca, true);
    assert.equal(leaf.ca, false);
    assert.equal(caCert.subject, 'CN=egressctl-sandbox-ca');
    assert.equal(leaf.issuer, 'CN=egressctl-sandbox-ca');
    assert.equal(leaf.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1');
    assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(leaf.checkHost('localhost'), 'localhost');
    assert.equal(leaf.checkIP('127.0.0.2'), undefined);
    assert.equal(leaf.verify(caCert.publicKey), true);
    assert.equal(caCert.verify(caCert.publicKey), true);
    assert.equal(leaf.verify(new crypto.X509Certificate(generateServingCerts().ca.certPem).publicKey), false);
    assert.equal(leaf.checkIssued(caCert), true);
    assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'extended key usage: serverAuth');
    assert.ok(Date.parse(leaf.validTo) > Date.now());
  });

  test('a real TLS handshake trusts the server with the CA, and refuses it without', async () => {
    await withServer({}, async (s) => {
      const port = Number(new URL(s.url).port);
      const handshake = (o: tls.ConnectionOptions) =>
        new Promise<string>((resolve) => {
          const sock = tls.connect({ host: '127.0.0.1', port, ...o }, () => {
            resolve(sock.authorized ? 'authorized' : String(sock.authorizationError));
            sock.destroy();
          });
          sock.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
        });
      assert.equal(await handshake({ ca: s.ca?.certPem }), 'authorized');
      assert.equal(await handshake({ ca: s.ca?.certPem, servername: 'localhost' }), 'authorized');
      assert.equal(await handshake({}), 'SELF_SIGNED_CERT_IN_CHAIN');
    });
  });
});

describe('plain HTTP serving', () => {
  test('plain HTTP: kubeconfig with insecure-skip-tls-verify and a token', async () => {
    await withServer({ tls: false }, async (s, w) => {
      w.pod('app', 'client');
      assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(s.ca, undefined);
      assert.equal(
        s.kubeconfig({ namespace: 'app' }),
        `apiVersion: v1
kind: Config
current-context: sandbox
clusters:
  - name: sandbox
    cluster:
      server: ${s.url}
      insecure-skip-tls-verify: true
users:
  - name: sandbox-user
    user:
      token: ${TOKEN}
contexts:
  - name: sandbox
    context:
      cluster: sandbox
      user: sandbox-user
      namespace: app
`,
      );
      assert.equal((await call(s, 'GET', '/api/v1/namespaces/app/pods/client')).status, 200);
    });
  });
});
