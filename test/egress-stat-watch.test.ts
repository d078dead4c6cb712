// `egress stat --watch` on a terminal, run in-process with a fake TTY (deps.stdoutIsTTY, deps.columns):
// the alternate screen, the header, the "waiting" line before the first window, the Ctrl-C hint and
// the per-row sparkline, against the sandbox's API server and a proxy simulator whose counters move.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../src/main.js';
import type { Deps } from '../src/deps.js';
import { connect } from '../src/kube/rest.js';
import { ProxySim } from '../src/sandbox/proxy-sim.js';
import { startCluster, type TestCluster } from './helpers/cluster.js';

/** In-process deps for a watch against a test cluster; the test's writers see what it prints. */
function watchDeps(
  kubeconfig: string,
  signal: AbortSignal,
  write: { out: (s: string) => void; err: (s: string) => void },
  terminal?: { columns: number },
): Deps {
  const env = { KUBECONFIG: kubeconfig };
  return {
    out: { write: write.out },
    err: { write: write.err },
    env,
    stdoutIsTTY: terminal !== undefined,
    ...(terminal ? { stderrIsTTY: false, columns: terminal.columns } : {}),
    cwd: process.cwd(),
    signal,
    now: () => Date.now(),
    kube: (settings) => connect(settings, env),
  };
}

describe('egress stat --watch on a terminal', () => {
  let c: TestCluster;
  const sim = new ProxySim({ hostnameLabels: true, startTime: Date.now() - 60_000, podIp: '10.42.0.10' });
  let round = 0;
  before(async () => {
    c = await startCluster({
      namespace: 'egress-test',
      metrics: () => {
        // More traffic each scrape, so the sparkline rises.
        round++;
        for (let i = 0; i < round * 5; i++)
          sim.record({
            protocol: 'http',
            parent: {
              group: 'policy.linkerd.io',
              kind: 'EgressNetwork',
              namespace: 'egress-test',
              name: 'all-egress-traffic',
              port: '80',
            },
            route: { group: '', kind: 'default', namespace: '', name: 'http-egress-allow' },
            hostname: 'httpbin.org',
            status: '200',
            error: '',
            seconds: 0.02,
          });
        return sim.render(Date.now());
      },
    });
    c.world.pod('egress-test', 'client');
  });
  after(() => c.close());

  test('draws in place on the alternate screen: header, waiting line, Ctrl-C hint, sparkline', async () => {
    let stdout = '';
    let stderr = '';
    const stop = new AbortController();
    const frames: string[] = [];
    const deps = watchDeps(
      c.kubeconfig,
      stop.signal,
      {
        out: (s) => {
          stdout += s;
          if (s.startsWith('\x1b[H\x1b[2J')) frames.push(s);
          // Three windows drawn: enough for a trend; Ctrl-C.
          if (frames.length === 3) stop.abort();
        },
        err: (s) => void (stderr += s),
      },
      { columns: 100 },
    );
    const code = await main(['egress', 'stat', '-n', 'egress-test', '--watch', '--interval', '1s'], deps);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
    // Enters the alternate screen first, leaves it last.
    assert.ok(stdout.startsWith('\x1b[?1049h\x1b[H\x1b[2J'), JSON.stringify(stdout.slice(0, 40)));
    assert.ok(stdout.endsWith('\x1b[?1049l'));
    // Before the first window: the header and the waiting line, not a blank screen.
    assert.match(
      stdout,
      // eslint-disable-next-line no-control-regex
      /^\x1b\[\?1049h\x1b\[H\x1b\[2J\d\d:\d\d:\d\d UTC {3}window 1s {3}pods in namespace egress-test {3}\(Ctrl-C to stop\)\n\nwaiting for the first window \(1s\) of pods in namespace egress-test\.\.\.\n/,
    );
    assert.equal(frames.length, 3);
    for (const f of frames) {
      const lines = f.slice('\x1b[H\x1b[2J'.length).split('\n');
      assert.match(lines[0] ?? '', /^\d\d:\d\d:\d\d UTC {3}window 1s {3}1 pod\(s\) {3}\(Ctrl-C to stop\)$/);
      assert.match(lines[2] ?? '', /^Egress over the last \d+(\.\d+)?s across 1 pod\(s\)\.$/);
      assert.match(lines[3] ?? '', /^NETWORK +ROUTE +DESTINATION +VERDICT +RATE +TREND/);
      // eslint-disable-next-line no-control-regex
      for (const l of lines) assert.ok([...l.replace(/\x1b\[[0-9;]*m/g, '')].length <= 100, l);
    }
    // One bar per round so far, rising with the traffic.
    const trend = (f: string) => /\/s +([▁▂▃▄▅▆▇█]+)/.exec(f)?.[1];
    assert.deepEqual(
      frames.map((f) => trend(f)?.length),
      [1, 2, 3],
    );
    assert.equal(trend(frames[2] ?? '')?.at(-1), '█');
  });

  test('piped, --watch prints each window without screen control', async () => {
    let stdout = '';
    const stop = new AbortController();
    let windows = 0;
    const deps = watchDeps(c.kubeconfig, stop.signal, {
      out: (s) => {
        stdout += s;
        if (s.startsWith('Egress over') && ++windows === 1) stop.abort();
      },
      err: () => undefined,
    });
    const code = await main(['egress', 'stat', '-n', 'egress-test', '--watch', '--interval', '1s'], deps);
    assert.equal(code, 0);
    assert.ok(!stdout.includes('\x1b['), JSON.stringify(stdout));
    assert.match(stdout, /^Egress over the last/);
  });
});

describe('egress stat --watch through a cluster blip', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster({ namespace: 'egress-test', metrics: () => '' });
    c.world.pod('egress-test', 'client');
  });
  after(() => c.close());

  test('a round that cannot list the pods is a warning; the watch goes on and draws the next window', async () => {
    let stdout = '';
    let stderr = '';
    const stop = new AbortController();
    let windows = 0;
    const rule = { verb: 'list', resource: 'pods', namespace: 'egress-test' };
    const deps = watchDeps(c.kubeconfig, stop.signal, {
      out: (s) => {
        stdout += s;
        if (!s.startsWith('Egress over')) return;
        windows++;
        // After the first window, the next pod list is refused (RBAC taken away, then restored).
        if (windows === 1) c.server.faults.deny.push(rule);
        if (windows === 2) stop.abort();
      },
      err: (s) => {
        stderr += s;
        if (s.startsWith('warning: ')) c.server.faults.deny.splice(c.server.faults.deny.indexOf(rule), 1);
      },
    });
    const code = await main(['egress', 'stat', '-n', 'egress-test', '--watch', '--interval', '1s'], deps);
    assert.equal(code, 0, stderr);
    assert.equal(windows, 2);
    assert.equal(stdout.match(/^Egress over the last/gm)?.length, 2, stdout);
    const warnings = stderr.split('\n').filter(Boolean);
    assert.equal(warnings.length, 1, stderr);
    assert.match(
      warnings[0] ?? '',
      /^warning: pods is forbidden: User "egressctl-test" cannot list resource "pods" .*: trying again in 1s \(Ctrl-C stops\)$/,
    );
  });
});
