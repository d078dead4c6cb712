import { stringify as toYaml } from 'yaml';

export interface KubeconfigOptions {
  namespace?: string;
  token?: string;
  context?: string;
  /** Authenticate with this client certificate instead of a token. */
  clientCert?: { certPem: string; keyPem: string };
}

/**
 * A kubeconfig for the server at `url`: token auth, or a client certificate; CA data for HTTPS,
 * insecure-skip-tls-verify for HTTP (client-node refuses plain http otherwise).
 */
export function renderKubeconfig(
  server: { url: string; caPem: string | undefined; token: string },
  k: KubeconfigOptions = {},
): string {
  return toYaml({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': k.context ?? 'sandbox',
    clusters: [
      {
        name: 'sandbox',
        cluster:
          server.caPem !== undefined
            ? {
                server: server.url,
                'certificate-authority-data': Buffer.from(server.caPem).toString('base64'),
              }
            : { server: server.url, 'insecure-skip-tls-verify': true },
      },
    ],
    users: [
      {
        name: 'sandbox-user',
        user: k.clientCert
          ? {
              'client-certificate-data': Buffer.from(k.clientCert.certPem).toString('base64'),
              'client-key-data': Buffer.from(k.clientCert.keyPem).toString('base64'),
            }
          : { token: k.token ?? server.token },
      },
    ],
    contexts: [
      {
        name: k.context ?? 'sandbox',
        context: { cluster: 'sandbox', user: 'sandbox-user', namespace: k.namespace ?? 'default' },
      },
    ],
  });
}
