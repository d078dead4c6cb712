#!/usr/bin/env node
// Tiny shim: the CLI lives in dist/ (npm run build, run by npm ci).
import fs from 'node:fs';
import module from 'node:module';
import path from 'node:path';

// `--help` and `--version` are answered from text pre-rendered at build time (dist/help.json) when
// stdout is not a terminal of another width, so they never load the CLI bundle.
const argv = process.argv.slice(2);
const last = argv[argv.length - 1];
if (
  (last === '--help' || last === '-h' || (argv.length === 1 && last === '--version')) &&
  !process.env.EGRESSCTL_NO_PRERENDER
) {
  const width = process.stdout.isTTY ? process.stdout.columns : 80;
  if (width === 80 || !process.stdout.isTTY) {
    try {
      const texts = JSON.parse(fs.readFileSync(new URL('../dist/help.json', import.meta.url), 'utf8'));
      // Run as kubectl-egress (the plugin), help has its own texts: `kubectl egress stat --help`.
      const plugin = path.basename(process.argv[1] ?? '').replace(/\.js$/, '') === 'kubectl-egress';
      const key = [
        ...(plugin ? ['kubectl-egress'] : []),
        ...(last === '--version' ? [] : argv.slice(0, -1)),
        last === '--version' ? '--version' : '--help',
      ].join(' ');
      if (typeof texts[key] === 'string') {
        process.stdout.write(texts[key]);
        process.exit(0);
      }
    } catch {
      // fall through to the full CLI
    }
  }
}
// Node >= 22.1 can cache compiled code between runs; on Node 20 this is a no-op.
module.enableCompileCache?.();
const { runProcess } = await import('../dist/main.js');
await runProcess();
