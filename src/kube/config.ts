import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { UsageError } from '../errors.js';

/**
 * kubeconfig loading with kubectl's semantics (client-go `clientcmd`), which client-node's
 * `loadFromDefault` does not follow: `--kubeconfig` must exist; a `KUBECONFIG` list is merged with the
 * first file winning for every named entry and for `current-context`, and missing files are skipped;
 * `-n` beats the context's namespace, which beats the in-cluster namespace, which beats `default`.
 *
 * It is also our own because importing @kubernetes/client-node costs about half a second (its
 * KubeConfig pulls in every generated API model); that module is loaded only for legacy
 * `auth-provider` users (oidc, gcp, azure), see `authHeaders`.
 */

export interface KubeSettings {
  kubeconfig?: string | undefined;
  context?: string | undefined;
  namespace?: string | undefined;
}

interface NamedEntry<T> {
  name: string;
  value: T;
}

export interface ClusterEntry {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  'proxy-url'?: string;
}

export interface ExecConfig {
  apiVersion?: string;
  command: string;
  args?: string[];
  env?: { name: string; value: string }[] | null;
  provideClusterInfo?: boolean;
  interactiveMode?: string;
}

export interface UserEntry {
  token?: string;
  'token-file'?: string;
  username?: string;
  password?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  exec?: ExecConfig;
  'auth-provider'?: { name: string; config?: Record<string, string> };
  as?: string;
  'as-groups'?: string[];
}

interface ContextEntry {
  cluster?: string;
  user?: string;
  namespace?: string;
}

/** Everything needed to talk to one API server as one user. */
export interface KubeConnection {
  server: URL;
  contextName: string;
  /** The namespace to use when none is given: `-n`, else the context's, else in-cluster, else `default`. */
  namespace: string;
  /** Where the connection came from, for messages: a kubeconfig path list or "in-cluster". */
  source: string;
  ca?: Buffer | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
  insecure: boolean;
  servername?: string | undefined;
  /**
   * Returns the auth and impersonation headers for a request (runs exec plugins, cached until expiry).
   * `signal` (the command's deadline and Ctrl-C) kills a credential plugin that is still running.
   */
  headers(signal?: AbortSignal): Promise<Record<string, string | string[]>>;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Loads the connection the way kubectl would for these flags and environment. */
export function loadKubeConnection(settings: KubeSettings, env: NodeJS.ProcessEnv): KubeConnection {
  const files = kubeconfigFiles(settings, env);
  const loaded = files.map((f) => ({ file: f, doc: readKubeconfig(f) }));
  if (loaded.length === 0) {
    if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && fs.existsSync(`${SA_DIR}/token`)) {
      return inCluster(settings, env);
    }
    throw new UsageError(
      'no kubeconfig found: set KUBECONFIG or pass --kubeconfig (or run in a cluster; for a local simulated one, run: egressctl sandbox)',
    );
  }
  const pick = <T>(key: 'clusters' | 'users' | 'contexts', field: 'cluster' | 'user' | 'context') => {
    const out = new Map<string, NamedEntry<T> & { file: string }>();
    for (const { file, doc } of loaded) {
      const list = (doc[key] ?? []) as { name?: string; [k: string]: unknown }[];
      if (!Array.isArray(list)) continue;
      for (const e of list) {
        if (e && typeof e.name === 'string' && !out.has(e.name))
          out.set(e.name, { name: e.name, value: (e[field] ?? {}) as T, file });
      }
    }
    return out;
  };
  const clusters = pick<ClusterEntry>('clusters', 'cluster');
  const users = pick<UserEntry>('users', 'user');
  const contexts = pick<ContextEntry>('contexts', 'context');
  const current = loaded
    .map((l) => l.doc['current-context'])
    .find((c): c is string => typeof c === 'string' && c !== '');
  const source = files.join(path.delimiter);

  const contextName = settings.context ?? current;
  if (!contextName) {
    throw new UsageError(
      `no current context in ${source}: pass --context NAME or run 'kubectl config use-context NAME'`,
    );
  }
  const ctx = contexts.get(contextName);
  if (!ctx) {
    const known = [...contexts.keys()].join(', ') || 'none';
    throw new UsageError(`context "${contextName}" does not exist in ${source} (contexts: ${known})`);
  }
  const clusterName = ctx.value.cluster ?? '';
  const cluster = clusters.get(clusterName);
  if (!cluster?.value.server) {
    throw new UsageError(
      `context "${contextName}" names cluster "${clusterName}", which has no server in ${source}`,
    );
  }
  const user = ctx.value.user ? users.get(ctx.value.user) : undefined;
  if (ctx.value.user && !user) {
    throw new UsageError(
      `context "${contextName}" names user "${ctx.value.user}", which is not in ${source}`,
    );
  }
  const server = parseServer(cluster.value.server, `cluster "${clusterName}"`);
  const c = cluster.value;
  const u = user?.value ?? {};
  const clusterDir = path.dirname(cluster.file);
  const userDir = path.dirname(user?.file ?? cluster.file);
  if (c['proxy-url']) {
    throw new UsageError(
      `cluster "${clusterName}" sets proxy-url, which egressctl does not support yet: reach the API server directly`,
    );
  }
  return {
    server,
    contextName,
    namespace: settings.namespace ?? ctx.value.namespace ?? 'default',
    source,
    ca: readMaybe(
      c['certificate-authority'],
      c['certificate-authority-data'],
      clusterDir,
      'certificate-authority',
    ),
    cert: readMaybe(u['client-certificate'], u['client-certificate-data'], userDir, 'client-certificate'),
    key: readMaybe(u['client-key'], u['client-key-data'], userDir, 'client-key'),
    insecure: c['insecure-skip-tls-verify'] === true,
    servername: c['tls-server-name'],
    headers: makeAuth(u, userDir, ctx.value.user ?? '', server, c, env),
  };
}

function kubeconfigFiles(settings: KubeSettings, env: NodeJS.ProcessEnv): string[] {
  if (settings.kubeconfig) {
    if (!fs.existsSync(settings.kubeconfig)) {
      throw new UsageError(`--kubeconfig ${settings.kubeconfig}: no such file`);
    }
    return [settings.kubeconfig];
  }
  if (env.KUBECONFIG) {
    return [...new Set(env.KUBECONFIG.split(path.delimiter).filter(Boolean))].filter((f) => fs.existsSync(f));
  }
  const home = path.join(env.HOME ?? os.homedir(), '.kube', 'config');
  return fs.existsSync(home) ? [home] : [];
}

function readKubeconfig(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read kubeconfig ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new UsageError(`kubeconfig ${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new UsageError(`kubeconfig ${file} is not a kubeconfig (expected a mapping)`);
  return doc as Record<string, unknown>;
}

function parseServer(text: string, what: string): URL {
  try {
    const u = new URL(text);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('scheme');
    return u;
  } catch {
    throw new UsageError(`${what} has an invalid server URL "${text}" (want https://HOST[:PORT])`);
  }
}

function readMaybe(
  file: string | undefined,
  data: string | undefined,
  dir: string,
  what: string,
): Buffer | undefined {
  if (data) return Buffer.from(data, 'base64');
  if (!file) return undefined;
  const p = path.isAbsolute(file) ? file : path.join(dir, file);
  try {
    return fs.readFileSync(p);
  } catch (e) {
    throw new UsageError(`cannot read ${what} file ${p}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

function inCluster(settings: KubeSettings, env: NodeJS.ProcessEnv): KubeConnection {
  const host = env.KUBERNETES_SERVICE_HOST as string;
  const server = new URL(`https://${host.includes(':') ? `[${host}]` : host}:${env.KUBERNETES_SERVICE_PORT}`);
  const nsFile = `${SA_DIR}/namespace`;
  const saNamespace =
    env.POD_NAMESPACE ?? (fs.existsSync(nsFile) ? fs.readFileSync(nsFile, 'utf8').trim() : undefined);
  return {
    server,
    contextName: 'in-cluster',
    namespace: settings.namespace ?? saNamespace ?? 'default',
    source: 'in-cluster service account',
    ca: fs.existsSync(`${SA_DIR}/ca.crt`) ? fs.readFileSync(`${SA_DIR}/ca.crt`) : undefined,
    insecure: false,
    // The token is projected and rotated: read it for every request, as client-go does (cheaply).
    headers: () =>
      Promise.resolve({ Authorization: `Bearer ${fs.readFileSync(`${SA_DIR}/token`, 'utf8').trim()}` }),
  };
}

type HeaderMap = Record<string, string | string[]>;

function makeAuth(
  u: UserEntry,
  dir: string,
  userName: string,
  server: URL,
  cluster: ClusterEntry,
  env: NodeJS.ProcessEnv,
): (signal?: AbortSignal) => Promise<HeaderMap> {
  const base: HeaderMap = {};
  if (u.as) base['Impersonate-User'] = u.as;
  if (u['as-groups']?.length) base['Impersonate-Group'] = u['as-groups'];
  if (u.token) {
    base.Authorization = `Bearer ${u.token}`;
  } else if (u['token-file']) {
    const p = path.isAbsolute(u['token-file']) ? u['token-file'] : path.join(dir, u['token-file']);
    const read = readMaybe(p, undefined, dir, 'token-file');
    base.Authorization = `Bearer ${read?.toString('utf8').trim() ?? ''}`;
  } else if (u.username !== undefined) {
    base.Authorization = `Basic ${Buffer.from(`${u.username}:${u.password ?? ''}`).toString('base64')}`;
  }
  if (u.exec) {
    const exec = u.exec;
    let cached: { headers: HeaderMap; expires: number } | undefined;
    return async (signal?: AbortSignal) => {
      if (!cached || Date.now() >= cached.expires) {
        const cred = await runExecPlugin(exec, dir, userName, server, cluster, env, signal);
        cached = { headers: { ...base, Authorization: `Bearer ${cred.token}` }, expires: cred.expires };
      }
      return cached.headers;
    };
  }
  if (u['auth-provider']) {
    const provider = u['auth-provider'];
    return async () => ({ ...base, ...(await legacyAuthProvider(userName, provider, server)) });
  }
  return () => Promise.resolve(base);
}

/**
 * Runs a client-go credential plugin (`users[].user.exec`) and returns its bearer token. Unlike
 * client-node 1.4, it sets KUBERNETES_EXEC_INFO (plugins such as aws and gke read it) and caches a
 * credential without an expiry for the whole run instead of re-running the plugin on every request.
 */
async function runExecPlugin(
  exec: ExecConfig,
  dir: string,
  userName: string,
  server: URL,
  cluster: ClusterEntry,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal | undefined,
): Promise<{ token: string; expires: number }> {
  const apiVersion = exec.apiVersion ?? 'client.authentication.k8s.io/v1';
  // client-go resolves a relative command that contains a path separator against the kubeconfig's folder.
  const command =
    exec.command.includes('/') && !path.isAbsolute(exec.command)
      ? path.join(dir, exec.command)
      : exec.command;
  const info = {
    apiVersion,
    kind: 'ExecCredential',
    spec: {
      interactive: false,
      ...(exec.provideClusterInfo
        ? {
            cluster: {
              server: server.toString().replace(/\/$/, ''),
              'tls-server-name': cluster['tls-server-name'],
              'insecure-skip-tls-verify': cluster['insecure-skip-tls-verify'],
              'certificate-authority-data': cluster['certificate-authority-data'],
            },
          }
        : {}),
    },
  };
  const childEnv: NodeJS.ProcessEnv = { ...env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
  for (const e of exec.env ?? []) childEnv[e.name] = e.value;
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      command,
      exec.args ?? [],
      { env: childEnv, timeout: 60_000, maxBuffer: 4 << 20, ...(signal ? { signal } : {}) },
      (err, out, errOut) => {
        // Killed by the deadline or Ctrl-C: the caller names which.
        if (err && signal?.aborted) reject(new Error(err.message, { cause: err }));
        else if (err) {
          const why =
            (err as NodeJS.ErrnoException).code === 'ENOENT'
              ? 'command not found'
              : errOut.trim().split('\n')[0] || err.message;
          reject(
            new UsageError(`exec credential plugin "${exec.command}" for user "${userName}" failed: ${why}`),
          );
        } else resolve(out);
      },
    );
  });
  let cred: { status?: { token?: string; expirationTimestamp?: string } };
  try {
    cred = JSON.parse(stdout) as typeof cred;
  } catch {
    throw new UsageError(
      `exec credential plugin "${exec.command}" for user "${userName}" printed no ExecCredential JSON`,
    );
  }
  const token = cred.status?.token;
  if (!token) {
    throw new UsageError(
      `exec credential plugin "${exec.command}" for user "${userName}" returned no status.token (client certificates from plugins are not supported yet)`,
    );
  }
  const exp = cred.status?.expirationTimestamp ? Date.parse(cred.status.expirationTimestamp) : NaN;
  return { token, expires: Number.isNaN(exp) ? Number.POSITIVE_INFINITY : exp - 10_000 };
}

/** oidc, gcp and azure `auth-provider`s: delegated to @kubernetes/client-node, loaded only here. */
async function legacyAuthProvider(
  userName: string,
  provider: NonNullable<UserEntry['auth-provider']>,
  server: URL,
): Promise<HeaderMap> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: server.toString(), skipTLSVerify: false }],
    users: [{ name: userName || 'u', authProvider: provider }],
    contexts: [{ name: 'x', cluster: 'c', user: userName || 'u' }],
    currentContext: 'x',
  });
  const opts: { headers?: Record<string, string> } = {};
  try {
    await kc.applyToHTTPSOptions(opts);
  } catch (e) {
    throw new UsageError(
      `auth-provider "${provider.name}" for user "${userName}" failed: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  return opts.headers ?? {};
}

/**
 * The namespace a command that may not contact the cluster (`--dry-run=client`) should use: `-n`, else
 * the kubeconfig context's namespace when a kubeconfig is there, else `default` (as kubectl does).
 */
export function defaultNamespace(settings: KubeSettings, env: NodeJS.ProcessEnv): string {
  if (settings.namespace) return settings.namespace;
  try {
    return loadKubeConnection(settings, env).namespace;
  } catch {
    return 'default';
  }
}
