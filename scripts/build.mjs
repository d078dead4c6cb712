// Builds dist/ with esbuild: one ESM bundle for the entry point (commander included) and one lazily
// loaded chunk per command, so `egressctl --help` reads two files instead of dozens. Type checking is
// `npm run typecheck` (tsc); esbuild only strips types.
import { build } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';

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

// Pre-render `--help` for every command (and `--version`) into dist/help.json, so the shim can answer
// them without loading the bundle: help is the first thing a new user runs, and it must be instant.
// test/cli.test.ts checks that the pre-rendered text equals what the program prints.
const { main, buildProgram } = await import(new URL('../dist/main.js', import.meta.url).href);
const texts = {};
const render = async (argv, invokedAs) => {
  let out = '';
  const sink = { write: (s) => (out += s) };
  const deps = {
    out: sink,
    err: sink,
    env: {},
    stdoutIsTTY: false,
    cwd: process.cwd(),
    signal: new AbortController().signal,
    now: Date.now,
    ...(invokedAs ? { invokedAs } : {}),
  };
  const code = await main(argv, deps);
  if (code !== 0) throw new Error(`pre-rendering ${argv.join(' ')} exited ${code}: ${out}`);
  return out;
};
// Run as kubectl-egress the tree is the plugin's (egress verbs top level, `kubectl egress` in the text):
// its texts are keyed `kubectl-egress …`. Hidden commands (`__complete`, the old `egress` group) are
// rendered at run time.
const walk = async (cmd, path, invokedAs) => {
  const key = [...(invokedAs ? [invokedAs] : []), ...path, '--help'].join(' ');
  texts[key] = await render([...path, '--help'], invokedAs);
  for (const sub of cmd.commands) if (!sub._hidden) await walk(sub, [...path, sub.name()], invokedAs);
};
await walk(
  buildProgram(null, () => {}),
  [],
);
await walk(
  buildProgram(null, () => {}, undefined, { plugin: true }),
  [],
  'kubectl-egress',
);
texts['--version'] = await render(['--version']);
texts['kubectl-egress --version'] = await render(['--version'], 'kubectl-egress');
writeFileSync(new URL('../dist/help.json', import.meta.url), JSON.stringify(texts));
