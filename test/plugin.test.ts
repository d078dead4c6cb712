// The kubectl plugin (kubectl-egress, kubectl_complete-egress), `completion`, `__complete` and `version`:
// run as a user runs them, through the links npm installs, against the sandbox; with the real kubectl
// (Debian's kubernetes-client) where it is installed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildProgram } from '../src/cli.js';
import { toCompletion, type Lister } from '../src/commands/complete.js';
import type { Deps } from '../src/deps.js';
import { startSandbox, type Sandbox } from '../src/sandbox/sandbox.js';
import { runCli } from './helpers/cli.js';
import { pluginBinDir } from './helpers/plugin.js';

const run = promisify(execFile);
const KUBECTL = '/usr/bin/kubectl';
const haveKubectl = fs.existsSync(KUBECTL);
const noKubectl = haveKubectl ? false : 'kubectl not installed (Debian package kubernetes-client)';
const onPath = (bin: string) =>
  (process.env.PATH ?? '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, bin)));
const noZsh = onPath('zsh') ? false : 'zsh not installed (Debian package zsh)';
const noFish = onPath('fish') ? false : 'fish not installed (Debian package fish)';

const links = pluginBinDir();
after(() => links.remove());

const program = (plugin = false) => buildProgram(null as unknown as Deps, () => {}, undefined, { plugin });
/** No cluster: a lookup must not be made for static candidates. */
const noLookups: Lister = () => Promise.reject(new Error('no lookup expected'));
const names = (c: { candidates: string[] }) => c.candidates.map((x) => x.split('\t')[0]);

describe('kubectl egress: the plugin tree', () => {
  test('the egress verbs are top level, and help says kubectl egress', async () => {
    const r = await runCli(['--help'], { bin: links.kubectlEgress });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: kubectl egress \[options\] \[command\]\n/);
    for (const verb of ['stat', 'allow', 'deny', 'route', 'get', 'delete', 'check', 'lint', 'plan'])
      assert.match(r.stdout, new RegExp(`\\n  ${verb} `), verb);
    for (const c of ['proxy-metrics', 'version', 'completion', 'sandbox'])
      assert.match(r.stdout, new RegExp(`\\n  ${c} `), c);
    assert.doesNotMatch(r.stdout, /\n {2}egress /);
    assert.doesNotMatch(r.stdout, /egressctl /);
    assert.match(r.stdout, /\n {2}kubectl egress stat -n egress-test deploy\/web /);
  });

  test('every command that talks to the cluster has --timeout (a new one fails here until it does)', () => {
    // completion prints a script, sandbox serves one, help prints help: nothing of theirs can hang.
    const offline = new Set(['completion', 'sandbox', 'help', 'egress help']);
    const missing: string[] = [];
    const walk = (c: ReturnType<typeof program>, prefix: string[]) => {
      for (const sub of c.commands) {
        const name = [...prefix, sub.name()];
        if (sub.commands.length) walk(sub, name);
        else if (!offline.has(name.join(' ')) && !sub.options.some((o) => o.long === '--timeout'))
          missing.push(name.join(' '));
      }
    };
    walk(program(), []);
    assert.deepEqual(missing, []);
  });

  test('every verb of the egress group is a plugin verb (new ones appear by themselves)', () => {
    const group = program().commands.find((c) => c.name() === 'egress');
    const top = new Set(program(true).commands.map((c) => c.name()));
    assert.ok(group);
    for (const c of group.commands) assert.ok(top.has(c.name()), c.name());
  });

  test("a verb's help and examples say kubectl egress", async () => {
    const r = await runCli(['stat', '--help'], {
      bin: links.kubectlEgress,
      env: { EGRESSCTL_NO_PRERENDER: '1' },
    });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: kubectl egress stat \[options\] \[target\]\n/);
    assert.doesNotMatch(r.stdout, /egressctl egress/);
  });

  test('errors say kubectl egress; an unknown verb is exit 2 with a suggestion', async () => {
    const r = await runCli(['stats'], { bin: links.kubectlEgress });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, "error: unknown command 'stats'\n(Did you mean stat?)\n");
    const h = await runCli(['help', 'nope'], { bin: links.kubectlEgress });
    assert.equal(h.code, 2);
    assert.equal(
      h.stderr,
      `error: unknown command "nope" for "kubectl egress": see 'kubectl egress --help'\n`,
    );
  });

  test('kubectl egress egress stat, the old spelling, still works but is not listed', async () => {
    const r = await runCli(['egress', 'stat', '--help'], { bin: links.kubectlEgress });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: kubectl egress egress stat /);
  });

  test('egressctl egress stat keeps its shape', async () => {
    const r = await runCli(['egress', 'stat', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: egressctl egress stat \[options\] \[target\]\n/);
    const top = await runCli(['stat']);
    assert.equal(top.code, 2);
    assert.match(top.stderr, /^error: unknown command 'stat'/);
  });

  test('the real kubectl finds the plugin: kubectl egress --help', { skip: noKubectl }, async () => {
    const r = await run(KUBECTL, ['egress', '--help'], { env: { ...process.env, PATH: links.path } });
    assert.match(r.stdout, /^Usage: kubectl egress /);
  });
});

describe('__complete: the one completion logic', () => {
  test('commands, then subcommands, with descriptions; hidden ones are not offered', async () => {
    const c = await toCompletion(program(), [''], noLookups);
    assert.deepEqual(names(c), ['proxy-metrics', 'egress', 'version', 'completion', 'sandbox', 'help']);
    assert.equal(c.directive, 4);
    const e = await toCompletion(program(), ['egress', 'd'], noLookups);
    assert.deepEqual(e.candidates, [
      "deny\tSet an EgressNetwork's trafficPolicy to Deny (creating it if missing)",
      'delete\tDelete an EgressNetwork or a route',
    ]);
    const p = await toCompletion(program(true), ['st'], noLookups);
    assert.deepEqual(names(p), ['stat']);
    assert.deepEqual(names(await toCompletion(program(true), ['eg'], noLookups)), []);
  });

  test("flags of the command and the program's, and flag values from choices", async () => {
    const c = await toCompletion(program(), ['egress', 'stat', '--b'], noLookups);
    assert.deepEqual(c, { candidates: ["--by\tgroup rows by (workload: the pods' owner)"], directive: 4 });
    const g = await toCompletion(program(), ['egress', 'stat', '--cont'], noLookups);
    assert.deepEqual(names(g), ['--context']);
    const by = await toCompletion(program(), ['egress', 'stat', '--by', ''], noLookups);
    assert.deepEqual(by, { candidates: ['network', 'route', 'host', 'pod', 'workload'], directive: 4 });
    // get's and stat's -o take jsonpath=TEMPLATE too, so they carry no fixed choices; lint's -o does.
    // -o of a listing command takes jsonpath=TEMPLATE too, so its formats are suggested, not choices.
    const stat = await toCompletion(program(), ['egress', 'stat', '-o', ''], noLookups);
    assert.deepEqual(names(stat), ['table', 'wide', 'name', 'json', 'yaml', 'ledger', 'jsonpath=']);
    const get = await toCompletion(program(), ['egress', 'get', '-o', 'j'], noLookups);
    assert.deepEqual(names(get), ['json', 'jsonpath=']);
    const eq = await toCompletion(program(), ['egress', 'lint', '-o=j'], noLookups);
    assert.deepEqual(eq.candidates, ['-o=json']);
    const shell = await toCompletion(program(), ['completion', ''], noLookups);
    assert.deepEqual(shell.candidates, ['bash', 'zsh', 'fish', 'powershell']);
    const route = await toCompletion(program(), ['egress', 'route', ''], noLookups);
    assert.deepEqual(route.candidates, ['http', 'grpc', 'tls', 'tcp']);
  });

  test('TYPE/ first, without a space; files for -f; nothing for a URL', async () => {
    const t = await toCompletion(program(), ['proxy-metrics', ''], noLookups);
    assert.deepEqual(t, {
      candidates: ['po/', 'rc/', 'deploy/', 'rs/', 'sts/', 'ds/', 'job/', 'cj/'],
      directive: 6,
    });
    const d = await toCompletion(program(), ['egress', 'delete', 'tl'], noLookups);
    assert.deepEqual(d, { candidates: ['tlsroute/'], directive: 6 });
    const f = await toCompletion(program(), ['egress', 'lint', '-f', ''], noLookups);
    assert.deepEqual(f, { candidates: [], directive: 0 });
    const u = await toCompletion(program(), ['egress', 'check', ''], noLookups);
    assert.deepEqual(u, { candidates: [], directive: 4 });
  });

  test('cluster lookups get the namespace and kubeconfig typed on the line', async () => {
    const asked: unknown[] = [];
    const list: Lister = (lookup, s) => {
      asked.push({
        what: lookup.what,
        kinds: 'kinds' in lookup ? lookup.kinds.map((k) => k.kind) : [],
        ...s,
      });
      return Promise.resolve(['web', 'worker']);
    };
    const c = await toCompletion(
      program(),
      ['--context', 'c1', 'egress', 'stat', '-n', 'shop', 'deploy/w'],
      list,
    );
    assert.deepEqual(c, { candidates: ['deploy/web', 'deploy/worker'], directive: 4 });
    assert.deepEqual(asked, [
      { what: 'objects', kinds: ['Deployment'], kubeconfig: undefined, context: 'c1', namespace: 'shop' },
    ]);
  });

  test('an unreachable cluster gives no candidates, quickly, and nothing on stderr', async () => {
    const t0 = Date.now();
    const r = await runCli(['__complete', 'egress', 'get', ''], {
      env: { KUBECONFIG: writeKubeconfig('https://127.0.0.1:1') },
    });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, ':4\n');
    assert.equal(r.stderr, '');
    assert.ok(Date.now() - t0 < 5000);
    const none = await runCli(['__complete', 'egress', 'stat', 'po/']);
    assert.deepEqual([none.code, none.stdout, none.stderr], [0, ':4\n', '']);
  });
});

function writeKubeconfig(server: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-kc-'));
  const file = path.join(dir, 'kubeconfig');
  fs.writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: egress-test}}]
current-context: c
`,
  );
  return file;
}

describe('completion and version against the sandbox', () => {
  let sb: Sandbox;
  let env: Record<string, string>;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egressctl-plugin-'));
  before(async () => {
    sb = await startSandbox({ tickMs: 200, rate: 1 });
    const kc = path.join(dir, 'kubeconfig');
    sb.server.writeKubeconfig(kc, { namespace: 'egress-test', token: 'sandbox-token' });
    env = { ...(process.env as Record<string, string>), KUBECONFIG: kc, PATH: links.path };
  });
  after(async () => {
    await sb.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Sources `egressctl completion bash` in a real bash and completes `words` (the last one typed so far). */
  const bash = async (...words: string[]): Promise<string[]> => {
    const script = `source <(egressctl completion bash)
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_egressctl_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = await run('bash', ['-c', script], { env });
    return r.stdout.split('\n').filter(Boolean);
  };

  test('bash: commands and flags', async () => {
    assert.deepEqual(await bash('egressctl', 'eg'), ['egress']);
    assert.deepEqual(await bash('egressctl', 'egress', 'stat', '--int'), ['--interval']);
    assert.deepEqual(await bash('egressctl', 'egress', 'stat', '--by', 'h'), ['host']);
  });

  test('bash: namespaces, pods and workloads, EgressNetworks and routes from the cluster', async () => {
    assert.deepEqual(await bash('egressctl', 'egress', 'stat', '-n', ''), ['egress-test', 'linkerd']);
    assert.deepEqual(await bash('egressctl', 'egress', 'stat', 'po/'), [
      'po/client',
      `po/${podName(sb, 'internal-egress')}`,
    ]);
    assert.deepEqual(await bash('egressctl', 'proxy-metrics', '-n', 'egress-test', 'deploy/'), [
      'deploy/internal-egress',
    ]);
    assert.deepEqual(await bash('egressctl', 'proxy-metrics', '-n', 'linkerd', 'deploy/'), [
      'deploy/linkerd-destination',
    ]);
    assert.deepEqual(await bash('egressctl', 'egress', 'get', ''), ['all-egress-traffic']);
    assert.deepEqual(await bash('egressctl', 'egress', 'delete', 'egressnetwork/a'), [
      'egressnetwork/all-egress-traffic',
    ]);
    const allowed = await runCli(['egress', 'allow', 'https://httpbin.org', '--dry-run=none'], { env });
    assert.equal(allowed.code, 0, allowed.stderr);
    const routes = await bash('egressctl', 'egress', 'delete', 'tlsroute/');
    assert.equal(routes.length, 1, routes.join());
    assert.match(routes[0] ?? '', /^tlsroute\/[a-z0-9-]+$/);
  });

  /**
   * Sources `egressctl completion zsh` in a real zsh and runs its completer on `words`, with zsh's
   * completion builtins (`_describe`, `_files`, `compdef`) stubbed to print what they were given:
   * the script's own word handling, directive bits and `:` escaping run as zsh runs them.
   */
  const zsh = async (...words: string[]): Promise<string[]> => {
    const script = `_describe() { print -rl -- "\${(@P)2}" "opts:\${(j: :)@[3,-1]}"; }
_files() { print -r -- _files; }
compdef() { :; }
source <(egressctl completion zsh)
words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}
_egressctl_complete`;
    const r = await run('zsh', ['-f', '-c', script], { env });
    return r.stdout.split('\n').filter(Boolean);
  };

  /** Sources `egressctl completion fish` in a real fish and asks it what completes the line. */
  const fish = async (line: string): Promise<string[]> => {
    const r = await run(
      'fish',
      ['--no-config', '-c', `egressctl completion fish | source; complete -C '${line}'`],
      {
        env,
      },
    );
    return r.stdout.split('\n').filter(Boolean);
  };

  test(
    'zsh: candidates with descriptions, no space after TYPE/, files where the command reads files',
    { skip: noZsh },
    async () => {
      assert.deepEqual(await zsh('egressctl', 'egress', 'de'), [
        "deny:Set an EgressNetwork's trafficPolicy to Deny (creating it if missing)",
        'delete:Delete an EgressNetwork or a route',
        'opts:',
      ]);
      assert.deepEqual(await zsh('egressctl', 'egress', 'stat', '--by', 'h'), ['host', 'opts:']);
      assert.deepEqual(await zsh('egressctl', 'egress', 'stat', '-n', ''), [
        'egress-test',
        'linkerd',
        'opts:',
      ]);
      // TYPE/ prefixes take no space after them (cobra's NoSpace directive → _describe -S '').
      const types = await zsh('egressctl', 'proxy-metrics', 'dep');
      assert.deepEqual(types, ['deploy/', 'opts:-S ']);
      assert.deepEqual(await zsh('egressctl', 'egress', 'lint', '-f', ''), ['_files']);
    },
  );

  test('fish: commands, flag values and cluster names', { skip: noFish }, async () => {
    assert.deepEqual(await fish('egressctl eg'), [
      'egress\tSee and shape egress traffic (EgressNetworks and their routes)',
    ]);
    assert.deepEqual(await fish('egressctl egress stat --by h'), ['host']);
    assert.deepEqual(await fish('egressctl proxy-metrics -n egress-test deploy/'), [
      'deploy/internal-egress',
    ]);
  });

  test('kubectl_complete-egress answers as kubectl calls it', async () => {
    const r = await run(path.join(links.dir, 'kubectl_complete-egress'), ['stat', 'deploy/'], { env });
    assert.equal(r.stdout, 'deploy/internal-egress\n:4\n');
    const verbs = await run(path.join(links.dir, 'kubectl_complete-egress'), ['de'], { env });
    assert.equal(
      verbs.stdout,
      "deny\tSet an EgressNetwork's trafficPolicy to Deny (creating it if missing)\ndelete\tDelete an EgressNetwork or a route\n:4\n",
    );
  });

  test(
    'the real kubectl completes the plugin through kubectl_complete-egress',
    { skip: noKubectl },
    async () => {
      const r = await run(KUBECTL, ['__complete', 'egress', 'stat', 'po/c'], { env });
      assert.equal(r.stdout, 'po/client\n:4\n');
    },
  );

  test('version: client, Kubernetes, Linkerd, Gateway API bundle and hostname labels', async () => {
    const r = await runCli(['version'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      `Client Version: v0.1.0
Kubernetes Version: v1.34.2-egressctl-sandbox
Linkerd Version: edge-26.8.3 (namespace linkerd)
Gateway API Bundle Version: v1.1.1
Hostname Labels: on in namespace egress-test (namespace annotation config.linkerd.io/proxy-metrics-hostname-labels=true)
`,
    );
    assert.equal(r.stderr, '');
    const j = await runCli(['version', '-o', 'json', '-n', 'linkerd'], { env });
    assert.equal(j.code, 0, j.stderr);
    assert.deepEqual(JSON.parse(j.stdout), {
      apiVersion: 'egressctl.linkerd.io/v1',
      kind: 'Version',
      client: { version: 'v0.1.0' },
      server: {
        kubernetes: {
          gitVersion: 'v1.34.2-egressctl-sandbox',
          major: '1',
          minor: '34',
          platform: 'linux/amd64',
        },
        linkerd: { version: 'edge-26.8.3', namespace: 'linkerd' },
        gatewayAPI: {
          bundleVersions: {
            GRPCRoute: 'v1.1.1',
            HTTPRoute: 'v1.1.1',
            TCPRoute: 'v1.1.1',
            TLSRoute: 'v1.1.1',
          },
        },
        hostnameLabels: {
          namespace: 'linkerd',
          enabled: false,
          source: 'linkerd-config proxy.metrics.hostnameLabels',
        },
      },
      notes: [],
    });
    const plugin = await runCli(['version', '--client'], { env, bin: links.kubectlEgress });
    assert.deepEqual([plugin.code, plugin.stdout, plugin.stderr], [0, 'Client Version: v0.1.0\n', '']);
  });

  test('version: Linkerd elsewhere is a note naming the flag', async () => {
    const r = await runCli(['version', '--linkerd-namespace', 'mesh'], { env });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Linkerd Version: unavailable$/m);
    assert.equal(
      r.stderr,
      'note: Linkerd not found: no configmap mesh/linkerd-config (is the control plane elsewhere? pass --linkerd-namespace)\n',
    );
  });
});

test('version: an unreachable cluster is a note, not a failure', async () => {
  const r = await runCli(['version', '-o', 'json', '--timeout', '1s'], {
    env: { KUBECONFIG: writeKubeconfig('https://127.0.0.1:1') },
  });
  assert.equal(r.code, 0);
  const j = JSON.parse(r.stdout) as { server?: unknown; notes: string[] };
  assert.equal(j.server, undefined);
  assert.equal(j.notes.length, 1);
  assert.match(j.notes[0] ?? '', /^note: no cluster version: /);
  assert.equal(r.stderr, `${j.notes[0]}\n`);
});

test('completion scripts for the four shells call __complete; bash parses', async () => {
  for (const shell of ['bash', 'zsh', 'fish', 'powershell']) {
    const r = await runCli(['completion', shell]);
    assert.equal(r.code, 0, shell);
    assert.match(r.stdout, /__complete/, shell);
  }
  const bad = await runCli(['completion', 'tcsh']);
  assert.equal(bad.code, 2);
  assert.equal(
    bad.stderr,
    "error: command-argument value 'tcsh' is invalid for argument 'shell'. Allowed choices are bash, zsh, fish, powershell.\n",
  );
  const b = await runCli(['completion', 'bash']);
  await run('bash', ['-n', '-c', b.stdout]);
});

function podName(sb: Sandbox, prefix: string): string {
  const pods = sb.server.store
    .all()
    .filter((o) => o.kind === 'Pod' && o.metadata.name.startsWith(`${prefix}-`))
    .map((o) => o.metadata.name);
  assert.equal(pods.length, 1);
  return pods[0] as string;
}
