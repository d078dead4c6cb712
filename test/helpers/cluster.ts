import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../src/sandbox/apiserver.js';
import { World } from '../../src/sandbox/world.js';

export const FIXTURES =
  process.env.EGRESSCTL_FIXTURES ??
  path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../shared/fixtures');

/** A fixture body from ../shared/fixtures (present in CI and for developers). */
export function fixture(name: string): string {
  return fs.readFileSync(path.join(FIXTURES, name), 'utf8');
}

export interface TestCluster {
  server: ApiServer;
  world: World;
  kubeconfig: string;
  /** Environment for runCli: KUBECONFIG pointing at this cluster. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** Starts the sandbox API server on loopback with a kubeconfig in a temp dir. */
export async function startCluster(o: ApiServerOptions & { namespace?: string } = {}): Promise<TestCluster> {
  const server = await startApiServer({ token: 'test-token', ...o });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-test-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  server.writeKubeconfig(kubeconfig, {
    namespace: o.namespace ?? 'egress-test',
    token: o.token ?? 'test-token',
  });
  return {
    server,
    world: new World(server.store),
    kubeconfig,
    env: { KUBECONFIG: kubeconfig },
    close: async () => {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
