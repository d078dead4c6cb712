// Builds dist/ with esbuild: one ESM bundle for the entry point (commander included) and one lazily
// loaded chunk per command, so `egressctl --help` reads two files instead of dozens. Type checking is
// `npm run typecheck` (tsc); esbuild only strips types.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: ['src/main.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  // client-node is huge and loaded only for legacy auth providers: leave it in node_modules.
  external: ['@kubernetes/client-node'],
  // Bundled CommonJS packages (ws, cli-table3) call require() for node built-ins.
  banner: {
    js: "import { createRequire as __egressctlRequire } from 'node:module'; const require = __egressctlRequire(import.meta.url);",
  },
  chunkNames: 'chunks/[name]-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
});
