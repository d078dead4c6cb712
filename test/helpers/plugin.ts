import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A PATH directory holding what `npm i -g egressctl` links: `egressctl`, `kubectl-egress` and
 * `kubectl_complete-egress`, each a symlink to its bin/ script, so the program sees the name it was run
 * by (process.argv[1]) exactly as an installed one does.
 */
export function pluginBinDir(): { dir: string; kubectlEgress: string; path: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-bin-'));
  const bin = (f: string) => fileURLToPath(new URL(`../../bin/${f}`, import.meta.url));
  fs.symlinkSync(bin('egressctl.js'), path.join(dir, 'egressctl'));
  fs.symlinkSync(bin('egressctl.js'), path.join(dir, 'kubectl-egress'));
  fs.symlinkSync(bin('kubectl_complete-egress.js'), path.join(dir, 'kubectl_complete-egress'));
  return {
    dir,
    kubectlEgress: path.join(dir, 'kubectl-egress'),
    // node first: the links run through `#!/usr/bin/env node`.
    path: `${dir}:${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`,
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
