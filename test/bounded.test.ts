import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, runCli } from './helpers/cli.js';
import { fixture, startCluster, type TestCluster } from './helpers/cluster.js';

// Issue 11: no command hangs past its deadline or ignores Ctrl-C, whatever the server does; durations
// are bounded; GETs are retried as client-go retries them, writes never.

const EGRESS = fixture('proxy-metrics-egress.txt');

/** Every command that talks to the cluster, as a user would type it (`--timeout` added by the tests). */
const COMMANDS: [string, string[]][] = [
  ['egress stat', ['egress', 'stat', 'po/client']],
  ['proxy-metrics', ['proxy-metrics', 'po/client']],
  ['egress deny', ['egress', 'deny']],
  ['egress check (live)', ['egress', 'check', 'https://example.com']],
  ['egress lint (live)', ['egress', 'lint']],
  ['egress get', ['egress', 'get']],
];

/** What each command is doing when the server stops answering: its first request. */
const STAGE: Record<string, string> = {
  'egress stat': 'get po/client in namespace egress-test',
  'proxy-metrics': 'get po/client in namespace egress-test',
  'egress deny': 'get egressnetwork.policy.linkerd.io/all-egress-traffic',
  'egress check (live)': 'list egressnetworks.policy.linkerd.io in egress-test',
  'egress lint (live)': 'list egressnetworks.policy.linkerd.io in egress-test',
  'egress get': 'list egressnetworks.policy.linkerd.io in egress-test',
};

/** Spawns the CLI, waits `afterMs`, sends `signal`, and measures how long it takes to exit after it. */
async function interrupt(
  args: string[],
  env: Record<string, string>,
  signal: 'SIGINT' | 'SIGTERM',
  ready: () => boolean,
): Promise<{ code: number | null; ms: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const end = Date.now() + 10_000;
  while (!ready() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  // Past node's start-up, so the signal handlers are installed.
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  child.kill(signal);
  const code = await closed;
  return { code, ms: Date.now() - t0, stdout, stderr };
}

describe('an API server that accepts connections and never answers', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster({ metrics: () => EGRESS });
    c.world.pod('egress-test', 'client', { labels: { app: 'client' } });
    c.server.faults.hangAll = true;
  });
  after(() => c.close());

  for (const [name, args] of COMMANDS) {
    test(`${name} ends at its --timeout with one line naming the server, the stage and the flag, exit 3`, async () => {
      const t0 = Date.now();
      const r = await runCli([...args, '--timeout', '2s'], { env: c.env, timeoutMs: 20_000 });
      const ms = Date.now() - t0;
      const host = new URL(c.server.url).host;
      assert.equal(r.stdout, '');
      assert.equal(
        r.stderr,
        `error: ${STAGE[name]}: not done within --timeout 2s, waiting on the API server at ${host} (raise --timeout to wait longer)\n`,
      );
      assert.equal(r.code, 3);
      assert.ok(ms < 3000, `${name} took ${ms} ms for a 2s deadline`);
    });
  }

  test('read commands default to a 30s deadline, writing commands to 60s', async () => {
    const { stdout } = await runCli(['egress', 'get', '--help']);
    const flag = (d: string) =>
      new RegExp(
        `--timeout <duration>\\s+deadline for the whole command, at most 24h\\s+\\(default:\\s+"${d}"\\)`,
      );
    assert.match(stdout, flag('30s'));
    for (const cmd of ['deny', 'allow', 'route', 'delete'])
      assert.match((await runCli(['egress', cmd, '--help'])).stdout, flag('60s'), cmd);
  });

  for (const [name, args] of COMMANDS) {
    for (const [signal, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      test(`${signal} ends ${name} within a second, exit ${code}`, async () => {
        const seen = c.server.requests.length;
        const r = await interrupt(
          [...args, '--timeout', '60s'],
          c.env,
          signal,
          () => c.server.requests.length > seen,
        );
        assert.equal(r.code, code, r.stderr);
        assert.ok(r.ms < 1000, `${name} took ${r.ms} ms after ${signal}`);
        assert.equal(r.stderr, `error: interrupted by ${signal} during ${STAGE[name]}\n`);
        assert.equal(r.stdout, '');
      });
    }
  }
});

test('a kubeconfig credential plugin that never returns is inside the deadline, and killed by Ctrl-C', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-bounded-'));
  try {
    const plugin = path.join(dir, 'plugin.sh');
    fs.writeFileSync(plugin, '#!/bin/sh\necho started >> "$0.log"\nexec sleep 60\n', { mode: 0o755 });
    const kc = path.join(dir, 'kubeconfig');
    fs.writeFileSync(
      kc,
      `apiVersion: v1
kind: Config
current-context: x
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: egress-test}}]
users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: ${plugin}, interactiveMode: Never}}}]
`,
    );
    const t0 = Date.now();
    const r = await runCli(['egress', 'get', '--timeout', '1s'], {
      env: { KUBECONFIG: kc },
      timeoutMs: 20_000,
    });
    assert.ok(Date.now() - t0 < 2500, `took ${Date.now() - t0} ms`);
    assert.equal(
      r.stderr,
      "error: list egressnetworks.policy.linkerd.io in egress-test (running the kubeconfig's credential plugin): not done within --timeout 1s, waiting on the API server at 127.0.0.1:1 (raise --timeout to wait longer)\n",
    );
    assert.equal(r.code, 3);
    // Ready when this run has started the plugin (the first run's mark is removed).
    fs.rmSync(`${plugin}.log`, { force: true });
    const i = await interrupt(['egress', 'get'], { KUBECONFIG: kc }, 'SIGINT', () =>
      fs.existsSync(`${plugin}.log`),
    );
    assert.equal(i.code, 130);
    assert.ok(i.ms < 1000, `took ${i.ms} ms`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('interrupting work that answers', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster({ metrics: () => EGRESS });
    c.world.pod('egress-test', 'client', { labels: { app: 'client' } });
  });
  after(() => c.close());

  test('a one-shot stat --interval interrupted between its scrapes prints nothing and says so, exit 130', async () => {
    const forwards = () => c.server.requests.filter((q) => q.path.endsWith('/portforward')).length;
    const before = forwards();
    const r = await interrupt(
      ['egress', 'stat', 'po/client', '--interval', '20s'],
      c.env,
      'SIGINT',
      () => forwards() > before,
    );
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'error: interrupted by SIGINT before the second scrape: no rates to show\n');
    assert.equal(r.code, 130);
    assert.ok(r.ms < 1000, `took ${r.ms} ms`);
  });

  test('SIGTERM to the same: exit 143', async () => {
    const forwards = () => c.server.requests.filter((q) => q.path.endsWith('/portforward')).length;
    const before = forwards();
    const r = await interrupt(
      ['egress', 'stat', 'po/client', '--interval', '20s'],
      c.env,
      'SIGTERM',
      () => forwards() > before,
    );
    assert.equal(r.stderr, 'error: interrupted by SIGTERM before the second scrape: no rates to show\n');
    assert.equal(r.code, 143);
  });
});

describe('durations have a maximum of 24h', () => {
  const cases: [string[], string][] = [
    [
      ['egress', 'stat', '--interval', '2147484s'],
      'error: invalid value "2147484s" for --interval: the longest duration allowed is 24h\n',
    ],
    [
      ['proxy-metrics', 'po/client', '--timeout', '25h'],
      'error: invalid value "25h" for --timeout: the longest duration allowed is 24h\n',
    ],
    [
      ['egress', 'get', '--timeout', '1e20s'],
      'error: invalid value "1e20s" for --timeout: want a duration such as 500ms, 10s or 2m\n',
    ],
    [
      ['egress', 'get', '--timeout', `${'9'.repeat(400)}s`],
      `error: invalid value "${'9'.repeat(400)}s" for --timeout: the longest duration allowed is 24h\n`,
    ],
    [
      ['--request-timeout', '24h1ms', 'egress', 'get'],
      'error: invalid value "24h1ms" for --request-timeout: the longest duration allowed is 24h\n',
    ],
    [
      ['egress', 'deny', '--timeout', 'soon'],
      'error: invalid value "soon" for --timeout: want a duration such as 500ms, 10s or 2m\n',
    ],
  ];
  for (const [args, stderr] of cases) {
    test(`${args.join(' ')}: usage error before any API call, exit 2`, async () => {
      // No kubeconfig at all: the refusal must come first.
      const r = await runCli(args);
      assert.equal(r.stderr, stderr);
      assert.equal(r.stdout, '');
      assert.equal(r.code, 2);
    });
  }

  test('24h itself is allowed', async () => {
    const { parseDuration, MAX_DURATION_MS } = await import('../src/options/duration.js');
    assert.equal(parseDuration('24h', '--timeout'), MAX_DURATION_MS);
    assert.equal(parseDuration('1h30m', '--timeout'), 5_400_000);
    assert.ok(MAX_DURATION_MS < 2 ** 31 - 1);
  });
});

describe('retries as client-go does them', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster({ metrics: () => EGRESS });
    c.world.pod('egress-test', 'client', { labels: { app: 'client' } });
  });
  after(() => c.close());

  test('a GET answered 503 with Retry-After: 1 twice, then 200, succeeds; -v prints each retry', async () => {
    c.server.faults.answer = [{ status: 503, retryAfterSeconds: 1, match: /^/, times: 2 }];
    const t0 = Date.now();
    const r = await runCli(['proxy-metrics', 'po/client', '-v'], { env: c.env });
    const ms = Date.now() - t0;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stderr,
      'retrying GET /api/v1/namespaces/egress-test/pods/client after 1s: 503 Service Unavailable (attempt 2)\n' +
        'retrying GET /api/v1/namespaces/egress-test/pods/client after 1s: 503 Service Unavailable (attempt 3)\n',
    );
    assert.equal(r.stdout, `#\n# POD client (1 of 1)\n#\n${EGRESS}`);
    assert.ok(ms >= 2000, `Retry-After was honoured: ${ms} ms`);
  });

  test('without -v the retries are silent; 429 is retried too', async () => {
    c.server.faults.answer = [{ status: 429, retryAfterSeconds: 0, match: /^/, times: 1 }];
    const r = await runCli(['proxy-metrics', 'po/client'], { env: c.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.equal(c.server.faults.answer.length, 0, 'the 429 was used up');
  });

  test('a GET whose connection is reset is retried after a backoff; a write is not', async () => {
    c.server.faults.answer = [{ status: 'reset', match: /^/, times: 1 }];
    const r = await runCli(['proxy-metrics', 'po/client', '-v'], { env: c.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stderr,
      'retrying GET /api/v1/namespaces/egress-test/pods/client after 500ms: connection reset by the server (attempt 2)\n',
    );
    c.server.faults.answer = [{ status: 'reset', match: /^PATCH /, times: 1 }];
    const seen = c.server.requests.length;
    const w = await runCli(['egress', 'deny', 'reset-net', '-v'], { env: c.env });
    assert.equal(w.code, 3);
    assert.doesNotMatch(w.stderr, /retrying/);
    assert.match(
      w.stderr,
      /^error: apply egressnetwork\.policy\.linkerd\.io\/reset-net failed: cannot reach the API server at /,
    );
    assert.equal(c.server.requests.slice(seen).filter((q) => q.method === 'PATCH').length, 1);
    c.server.faults.answer = [];
  });

  test('a Retry-After past the deadline is not waited for: the 503 is the error, at once', async () => {
    c.server.faults.answer = [{ status: 503, retryAfterSeconds: 3600, match: /^/, times: 5 }];
    const t0 = Date.now();
    const r = await runCli(['egress', 'get', '--timeout', '5s'], { env: c.env });
    assert.ok(Date.now() - t0 < 3000);
    assert.equal(r.code, 3);
    assert.match(
      r.stderr,
      // A server failure names what was asked (whichever list failed first), since its own message names nothing.
      /^error: list [a-z0-9.]+ in [a-z0-9-]+: the server is currently unable to handle the request \(503 ServiceUnavailable\)\n$/,
    );
    c.server.faults.answer = [];
  });

  test('a PATCH (server-side apply) answered 503 is not retried', async () => {
    c.server.faults.answer = [{ status: 503, retryAfterSeconds: 1, match: /^PATCH /, times: 1 }];
    const seen = c.server.requests.length;
    const r = await runCli(['egress', 'deny', '-v'], { env: c.env });
    const patches = c.server.requests.slice(seen).filter((q) => q.method === 'PATCH');
    assert.equal(patches.length, 1, 'one PATCH, never sent again');
    assert.equal(r.code, 3);
    assert.doesNotMatch(r.stderr, /retrying/);
    assert.match(r.stderr, /the server is currently unable to handle the request/);
    c.server.faults.answer = [];
  });
});
