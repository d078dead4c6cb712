import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from './helpers/cli.js';
import { pluginBinDir } from './helpers/plugin.js';

test('--version prints the package version and exits 0', async () => {
  const r = await runCli(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, '0.1.0\n');
  assert.equal(r.stderr, '');
});

test('--help lists every command with examples and exit codes', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.code, 0);
  for (const c of ['proxy-metrics', 'egress', 'sandbox', 'Exit codes:'])
    assert.match(r.stdout, new RegExp(c));
});

test('egress --help lists the subcommands', async () => {
  const r = await runCli(['egress', '--help']);
  assert.equal(r.code, 0);
  for (const c of ['stat', 'allow', 'deny', 'route', 'get', 'delete', 'check', 'lint'])
    assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
});

test('an unknown command is a usage error (exit 2) with a suggestion on stderr', async () => {
  const r = await runCli(['proxy-metric']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /unknown command 'proxy-metric'/);
  assert.match(r.stderr, /Did you mean proxy-metrics\?/);
});

test('a bad choice for -o is a usage error naming the allowed values', async () => {
  const r = await runCli(['proxy-metrics', 'po/x', '-o', 'xml']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /argument 'xml' is invalid. Allowed choices are raw, json/);
});

test('pre-rendered --help and --version are exactly what the program prints', async () => {
  const { readFileSync } = await import('node:fs');
  const texts = JSON.parse(readFileSync(new URL('../dist/help.json', import.meta.url), 'utf8')) as Record<
    string,
    string
  >;
  assert.ok(Object.keys(texts).length >= 12);
  // Keys `kubectl-egress …` are the plugin's texts: run through the kubectl-egress link.
  const links = pluginBinDir();
  try {
    for (const [key, text] of Object.entries(texts)) {
      const words = key.split(' ');
      const plugin = words[0] === 'kubectl-egress';
      const args = plugin ? words.slice(1) : words;
      const bin = plugin ? { bin: links.kubectlEgress } : {};
      const live = await runCli(args, { env: { EGRESSCTL_NO_PRERENDER: '1' }, ...bin });
      assert.equal(live.code, 0, key);
      assert.equal(live.stdout, text, key);
      const fast = await runCli(args, bin);
      assert.equal(fast.stdout, text, key);
    }
  } finally {
    links.remove();
  }
});

test('egress check --ip bogus is a usage error (exit 2) found before any file or cluster is read', async () => {
  const r = await runCli(['egress', 'check', 'https://github.com', '--ip', 'bogus', '-f', 'no/such/dir']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'error: invalid --ip "bogus": want an IPv4 or IPv6 address, e.g. 203.0.113.10\n');
});

test('egress get declares --egress-namespace, the flag it reads', async () => {
  const r = await runCli(['egress', 'get', '--egress-namespace', 'Not_A_Namespace']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error: invalid --egress-namespace "Not_A_Namespace": /);
});
