// argv → options, table-driven (as changesets' packages/cli tests its flag parsing): each row is what
// a user types and the exact typed options the command's validate() produces, or the exact usage error
// and exit code. Nothing runs and nothing is contacted: these are the flags, defaults and checks alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOptions } from '../src/cli.js';
import type { Deps } from '../src/deps.js';
import { errorMessage, exitCodeOf } from '../src/errors.js';
import { parseClusterNetworks, parseNetworkFlag } from '../src/manifests/validate.js';
import type { GlobalOptions } from '../src/options/global.js';

/** The Prometheus flags' defaults, as stat, plan and learn validate them. */
const NO_PROM = {
  url: undefined,
  source: 'auto',
  sinceSeconds: undefined,
  tokenFile: undefined,
  caFile: undefined,
  basicAuthFile: undefined,
  headers: {},
};

const G: GlobalOptions = { kubeconfig: undefined, context: undefined, requestTimeoutMs: 0, verbose: false };
const CLUSTER = parseClusterNetworks('10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8');

function deps(): Deps & { text: () => string } {
  let text = '';
  const sink = { write: (s: string) => void (text += s) };
  return {
    out: sink,
    err: sink,
    env: {},
    stdoutIsTTY: false,
    cwd: process.cwd(),
    signal: new AbortController().signal,
    now: () => 0,
    kube: () => Promise.reject(new Error('validate() must not connect')),
    text: () => text,
  };
}

type Row =
  { argv: string; command: string; options: unknown } | { argv: string; error: string; code: number };

/** Splits like a shell would for these rows: on spaces, with '…' quoting. */
const split = (s: string) => (s.match(/'[^']*'|\S+/g) ?? []).map((a) => a.replace(/^'(.*)'$/, '$1'));

async function check(row: Row): Promise<void> {
  const d = deps();
  try {
    const got = await parseOptions(split(row.argv), d);
    assert.ok('options' in row, `${row.argv}: expected an error, got options`);
    assert.equal(got.command, row.command, row.argv);
    assert.deepEqual(got.options, row.options, row.argv);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    assert.ok('error' in row, `${row.argv}: unexpected error ${errorMessage(e)}`);
    // commander prints its own errors (on deps.err); ours are thrown to main, which prints them.
    const message = (e as { code?: string }).code?.startsWith('commander.')
      ? d.text().trim()
      : `error: ${errorMessage(e)}`;
    assert.equal(message, row.error, row.argv);
    assert.equal(exitCodeOf(e), row.code, row.argv);
  }
}

const source = {
  global: G,
  files: [] as string[],
  clusterNetworks: CLUSTER,
  egressNamespace: 'linkerd-egress',
  namespace: undefined as string | undefined,
};

const write = {
  global: G,
  dryRun: 'none',
  output: undefined,
  diff: false,
  fieldManager: 'egressctl',
  force: false,
  strict: false,
  plan: false,
  namespace: undefined,
  toGlobal: false,
  egressNamespace: 'linkerd-egress',
};

const rows: Row[] = [
  // ── global options, resolved once ──
  {
    argv: '--kubeconfig /k --context dev --request-timeout 1m30s -v egress deny',
    command: 'deny',
    options: {
      name: 'all-egress-traffic',
      trafficPolicy: 'Deny',
      networks: [],
      clusterNetworks: CLUSTER,
      write: {
        ...write,
        global: { kubeconfig: '/k', context: 'dev', requestTimeoutMs: 90_000, verbose: true },
      },
    },
  },
  {
    argv: '--request-timeout soon egress get',
    error: 'error: invalid value "soon" for --request-timeout: want a duration such as 500ms, 10s or 2m',
    code: 2,
  },
  {
    argv: '--request-timeout 2 egress get',
    command: 'get',
    options: expectGet({ global: { ...G, requestTimeoutMs: 2000 } }),
  },

  // ── proxy-metrics ──
  {
    argv: 'proxy-metrics po/client',
    command: 'proxy-metrics',
    options: {
      global: G,
      pods: { by: 'target', target: { kind: 'pod', name: 'client', text: 'po/client' } },
      namespace: undefined,
      output: 'raw',
      egress: false,
      obfuscate: false,
      concurrency: 16,
      timeoutMs: 30_000,
      podTimeoutMs: 10_000,
    },
  },
  {
    argv: 'proxy-metrics -n egress-test -l app=web --egress --obfuscate -o json --max-concurrency 4 --timeout 1m --pod-timeout 500ms',
    command: 'proxy-metrics',
    options: {
      global: G,
      pods: { by: 'selector', selector: 'app=web' },
      namespace: 'egress-test',
      output: 'json',
      egress: true,
      obfuscate: true,
      concurrency: 4,
      timeoutMs: 60_000,
      podTimeoutMs: 500,
    },
  },
  {
    argv: 'proxy-metrics --all deploy/web',
    error: 'error: choose pods one way: a TYPE/NAME target, -l SELECTOR, or --all',
    code: 2,
  },
  {
    argv: 'proxy-metrics',
    error: 'error: no pods chosen: give a TYPE/NAME target (e.g. po/client), -l SELECTOR, or --all',
    code: 2,
  },
  {
    argv: 'proxy-metrics po/x --timeout 10 --pod-timeout 3q',
    error: 'error: invalid value "3q" for --pod-timeout: want a duration such as 500ms, 10s or 2m',
    code: 2,
  },
  {
    argv: 'proxy-metrics po/x --max-concurrency 0',
    error: 'error: invalid value "0" for --max-concurrency: want a whole number from 1 to 256',
    code: 2,
  },
  {
    argv: 'proxy-metrics -n Bad_NS po/x',
    error: `error: invalid -n/--namespace "Bad_NS": must be a DNS-1123 label: at most 63 lowercase letters, digits and '-'`,
    code: 2,
  },
  {
    argv: 'proxy-metrics po/x -o xml',
    error: "error: option '-o, --output <format>' argument 'xml' is invalid. Allowed choices are raw, json.",
    code: 2,
  },
  {
    argv: 'proxy-metrics svc/web',
    error:
      'error: unsupported resource type "svc" in "svc/web": use po, deploy, sts, ds, rs, rc, job or cj (e.g. deploy/web)',
    code: 2,
  },

  // ── egress stat ──
  {
    argv: 'egress stat',
    command: 'stat',
    options: expectStat({}),
  },
  {
    argv: 'egress stat -n egress-test deploy/web --by route --interval 10s -o wide --fail-on-deny',
    command: 'stat',
    options: expectStat({
      pods: { by: 'target', target: { kind: 'deployment', name: 'web', text: 'deploy/web' } },
      namespace: 'egress-test',
      by: 'route',
      intervalMs: 10_000,
      output: 'wide',
      failOnDeny: true,
    }),
  },
  {
    argv: 'egress stat -A --watch',
    command: 'stat',
    options: expectStat({ allNamespaces: true, watch: true, intervalMs: 10_000 }),
  },
  {
    argv: 'egress stat -o ledger --interval 30s',
    command: 'stat',
    options: expectStat({ output: 'ledger', intervalMs: 30_000 }),
  },
  {
    argv: 'egress stat -o ledger --watch',
    error: 'error: -o ledger writes one window (a file for egress plan --from-file): drop --watch',
    code: 2,
  },
  {
    argv: 'egress stat -o ledger --since 1h',
    command: 'stat',
    options: expectStat({
      output: 'ledger',
      prometheus: { ...NO_PROM, sinceSeconds: 3600 },
    }),
  },
  {
    argv: 'egress stat -A -n x',
    error: 'error: -A and -n are exclusive: choose all namespaces or one',
    code: 2,
  },
  {
    argv: 'egress stat -A po/client',
    error: 'error: a TYPE/NAME target needs one namespace: use -n instead of -A',
    code: 2,
  },
  {
    argv: 'egress stat --interval 500ms',
    error: 'error: --interval 500ms is too short: use 1s or more',
    code: 2,
  },
  {
    argv: 'egress stat --interval 1x',
    error: 'error: invalid value "1x" for --interval: want a duration such as 500ms, 10s or 2m',
    code: 2,
  },
  {
    argv: 'egress stat --by verb',
    error:
      "error: option '--by <dimension>' argument 'verb' is invalid. Allowed choices are network, route, host, pod, workload.",
    code: 2,
  },
  {
    argv: 'egress stat --by workload --no-headers',
    command: 'stat',
    options: expectStat({ by: 'workload', headers: false }),
  },
  {
    argv: 'egress stat -o jsonpath={.rows[*].destination}',
    command: 'stat',
    options: expectStat({ output: 'jsonpath', template: '{.rows[*].destination}' }),
  },
  {
    argv: 'egress stat -o name',
    command: 'stat',
    options: expectStat({ output: 'name' }),
  },
  {
    argv: 'egress stat -o bogus',
    error:
      'error: -o bogus is not an output format here: choose table, wide, name, json, yaml, ledger or jsonpath=TEMPLATE',
    code: 2,
  },
  {
    argv: 'egress stat -o jsonpath',
    error: 'error: -o jsonpath needs a template: -o jsonpath=TEMPLATE',
    code: 2,
  },

  // ── egress plan ──
  {
    argv: 'egress plan -f policy/',
    command: 'plan',
    options: expectPlan({}),
  },
  {
    argv: 'egress plan -n egress-test -f a.yaml -f dir/ --replace deploy/web --interval 30s --current live/ -o json --fail-on-break --egress-namespace eg --cluster-networks 10.0.0.0/8',
    command: 'plan',
    options: expectPlan({
      files: ['a.yaml', 'dir/'],
      replace: true,
      flows: podFlows({
        pods: { by: 'target', target: { kind: 'deployment', name: 'web', text: 'deploy/web' } },
        intervalMs: 30_000,
      }),
      current: 'live/',
      namespace: 'egress-test',
      output: 'json',
      failOnBreak: true,
      egressNamespace: 'eg',
      clusterNetworks: parseClusterNetworks('10.0.0.0/8'),
    }),
  },
  {
    argv: 'egress plan -f p/ -A -l app=web',
    command: 'plan',
    options: expectPlan({
      files: ['p/'],
      flows: podFlows({ pods: { by: 'selector', selector: 'app=web' }, allNamespaces: true }),
    }),
  },
  {
    argv: 'egress plan -f p/ --from-file ledger.json',
    command: 'plan',
    options: expectPlan({ files: ['p/'], flows: { from: 'file', file: 'ledger.json' } }),
  },
  {
    argv: 'egress plan -f p/ -A --since 1d --prometheus http://prom:9090',
    command: 'plan',
    options: expectPlan({
      files: ['p/'],
      flows: podFlows({
        allNamespaces: true,
        prometheus: { ...NO_PROM, url: new URL('http://prom:9090'), sinceSeconds: 86_400 },
      }),
    }),
  },
  {
    argv: 'egress plan -f p/ --from-file l.json --since 1h --source prometheus',
    error: 'error: --from-file reads the flows from the ledger: drop --since, --source',
    code: 2,
  },
  { argv: 'egress plan', error: 'error: give the proposed objects with -f FILE|DIR', code: 2 },
  {
    argv: 'egress plan -f p/ --from-file l.json -l app=web --interval 10s',
    error: 'error: --from-file reads the flows from the ledger: drop -l, --interval',
    code: 2,
  },
  {
    argv: 'egress plan -f p/ -A -n x',
    error: 'error: -A and -n are exclusive: choose all namespaces or one',
    code: 2,
  },
  {
    argv: 'egress plan -f p/ --interval 10ms',
    error: 'error: --interval 10ms is too short: use 1s or more',
    code: 2,
  },
  {
    argv: 'egress plan -f p/ -o yaml',
    error:
      "error: option '-o, --output <format>' argument 'yaml' is invalid. Allowed choices are table, json.",
    code: 2,
  },

  // ── egress learn ──
  { argv: 'egress learn', command: 'learn', options: expectLearn({}) },
  {
    argv: 'egress learn -n web --since 7d --source prometheus',
    command: 'learn',
    options: expectLearn({
      namespace: 'web',
      flows: podFlows({ prometheus: { ...NO_PROM, source: 'prometheus', sinceSeconds: 604_800 } }),
    }),
  },
  {
    argv: 'egress learn -n web --since 7d --timeout 10m',
    command: 'learn',
    options: expectLearn({
      namespace: 'web',
      flows: podFlows({ prometheus: { ...NO_PROM, sinceSeconds: 604_800 }, timeoutMs: 600_000 }),
    }),
  },
  {
    argv: 'egress plan -f p/ --timeout 25h',
    error: 'error: invalid value "25h" for --timeout: the longest duration allowed is 24h',
    code: 2,
  },
  {
    argv: 'egress learn --source pods --since 1h',
    error:
      'error: --since needs Prometheus (the proxies keep no history): use --source prometheus, or --interval with the pods',
    code: 2,
  },
  {
    argv: 'egress learn --from-file l.json --prometheus http://prom:9090',
    error: 'error: --from-file reads the flows from the ledger: drop --prometheus',
    code: 2,
  },
  {
    argv: 'egress learn -n egress-test deploy/web --interval 5m -o json --wildcards 3 --include-denied --apply --force-conflicts --field-manager me',
    command: 'learn',
    options: expectLearn({
      flows: podFlows({
        pods: { by: 'target', target: { kind: 'deployment', name: 'web', text: 'deploy/web' } },
        intervalMs: 300_000,
      }),
      namespace: 'egress-test',
      output: 'json',
      wildcards: 3,
      includeDenied: true,
      apply: true,
      force: true,
      fieldManager: 'me',
    }),
  },
  {
    argv: 'egress learn --from-file l.json --current live/ --out policy/',
    command: 'learn',
    options: expectLearn({ flows: { from: 'file', file: 'l.json' }, current: 'live/', out: 'policy/' }),
  },
  {
    argv: 'egress learn -A -l app=web',
    command: 'learn',
    options: expectLearn({
      flows: podFlows({ pods: { by: 'selector', selector: 'app=web' }, allNamespaces: true }),
    }),
  },
  {
    argv: 'egress learn --wildcards 1',
    error: 'error: --wildcards 1: want a whole number of sibling hosts, 2 or more',
    code: 2,
  },
  {
    argv: 'egress learn --wildcards x',
    error: 'error: --wildcards x: want a whole number of sibling hosts, 2 or more',
    code: 2,
  },
  {
    argv: 'egress learn --apply --out d/',
    error: 'error: --apply and --out are exclusive: apply, or write files',
    code: 2,
  },
  {
    argv: 'egress learn --force-conflicts',
    error: 'error: --force-conflicts applies to --apply only',
    code: 2,
  },
  {
    argv: 'egress learn --from-file l.json --interval 1m',
    error: 'error: --from-file reads the flows from the ledger: drop --interval',
    code: 2,
  },
  {
    argv: 'egress learn -o table',
    error:
      "error: option '-o, --output <format>' argument 'table' is invalid. Allowed choices are yaml, json.",
    code: 2,
  },

  // ── --plan, on every writing command (shared: write.ts) ──
  {
    argv: 'egress deny -n egress-test --plan',
    command: 'deny',
    options: {
      name: 'all-egress-traffic',
      trafficPolicy: 'Deny',
      networks: [],
      clusterNetworks: CLUSTER,
      write: { ...write, plan: true, namespace: 'egress-test' },
    },
  },
  {
    argv: 'egress deny --plan -o json',
    command: 'deny',
    options: {
      name: 'all-egress-traffic',
      trafficPolicy: 'Deny',
      networks: [],
      clusterNetworks: CLUSTER,
      write: { ...write, plan: true, output: 'json' },
    },
  },
  {
    argv: 'egress deny --plan --dry-run',
    error: 'error: --plan already changes nothing: drop --dry-run and --diff',
    code: 2,
  },
  {
    argv: 'egress allow https://httpbin.org --plan --diff',
    error: 'error: --plan already changes nothing: drop --dry-run and --diff',
    code: 2,
  },
  {
    argv: 'egress route http web --port 80 --hostname httpbin.org --plan -o yaml',
    error: 'error: --plan prints a plan: -o json, or no -o for the table (got -o yaml)',
    code: 2,
  },

  // ── egress deny ──
  {
    argv: 'egress deny',
    command: 'deny',
    options: {
      name: 'all-egress-traffic',
      trafficPolicy: 'Deny',
      networks: [],
      clusterNetworks: CLUSTER,
      write,
    },
  },
  {
    argv: 'egress deny lockdown -n egress-test --network 0.0.0.0/0,except=10.0.0.0/8 --network ::/0 --cluster-networks 10.0.0.0/8',
    command: 'deny',
    options: {
      name: 'lockdown',
      trafficPolicy: 'Deny',
      networks: [
        parseNetworkFlag('--network', '0.0.0.0/0,except=10.0.0.0/8'),
        parseNetworkFlag('--network', '::/0'),
      ],
      clusterNetworks: parseClusterNetworks('10.0.0.0/8'),
      write: { ...write, namespace: 'egress-test' },
    },
  },
  {
    // A bare --dry-run means client (kubectl's preset).
    argv: 'egress deny --global --dry-run -o yaml --egress-namespace egress-global',
    command: 'deny',
    options: {
      name: 'all-egress-traffic',
      trafficPolicy: 'Deny',
      networks: [],
      clusterNetworks: CLUSTER,
      write: { ...write, dryRun: 'client', output: 'yaml', toGlobal: true, egressNamespace: 'egress-global' },
    },
  },
  {
    argv: 'egress deny --dry-run=server --field-manager ci --no-force-conflicts',
    command: 'deny',
    options: {
      name: 'all-egress-traffic',
      trafficPolicy: 'Deny',
      networks: [],
      clusterNetworks: CLUSTER,
      write: { ...write, dryRun: 'server', fieldManager: 'ci', force: false },
    },
  },
  {
    // kubectl's default: conflicts are refused; --force-conflicts takes the fields over.
    argv: 'egress deny --force-conflicts --strict',
    command: 'deny',
    options: {
      name: 'all-egress-traffic',
      trafficPolicy: 'Deny',
      networks: [],
      clusterNetworks: CLUSTER,
      write: { ...write, force: true, strict: true },
    },
  },
  {
    argv: 'egress deny -n egress-test --global',
    error:
      'error: --global and -n are exclusive: --global writes to the global egress namespace (--egress-namespace)',
    code: 2,
  },
  {
    argv: 'egress deny --diff --dry-run',
    error: 'error: --diff already changes nothing: drop --dry-run',
    code: 2,
  },
  { argv: 'egress deny --diff -o json', error: 'error: --diff prints a diff: drop -o', code: 2 },
  {
    argv: 'egress deny --dry-run=later',
    error:
      "error: option '--dry-run [strategy]' argument 'later' is invalid. Allowed choices are none, client, server.",
    code: 2,
  },
  {
    argv: 'egress deny --network 10.0.0.0/8,except=192.168.0.0/16',
    error:
      'error: invalid --network "10.0.0.0/8,except=192.168.0.0/16": the exception 192.168.0.0/16 is not inside 10.0.0.0/8 (Linkerd\'s admission rejects it)',
    code: 2,
  },
  {
    argv: 'egress deny --egress-namespace EGRESS',
    error: `error: invalid --egress-namespace "EGRESS": must be a DNS-1123 label: at most 63 lowercase letters, digits and '-'`,
    code: 2,
  },

  // ── egress allow ──
  {
    argv: 'egress allow -n egress-test',
    command: 'allow',
    options: {
      trafficPolicy: {
        name: 'all-egress-traffic',
        trafficPolicy: 'Allow',
        networks: [],
        clusterNetworks: CLUSTER,
        write: { ...write, namespace: 'egress-test' },
      },
    },
  },
  {
    argv: "egress allow -n egress-test http://httpbin.org/get 'https://*.github.com' tcp://:5432 --exact --network-name egress",
    command: 'allow',
    options: {
      routes: {
        urls: ['http://httpbin.org/get', 'https://*.github.com', 'tcp://:5432'],
        network: 'egress',
        exact: true,
        write: { ...write, namespace: 'egress-test' },
      },
    },
  },
  {
    argv: 'egress allow https://httpbin.org --network 0.0.0.0/0',
    error:
      'error: --network sets the EgressNetwork itself: use it without URLs (egress allow --network CIDR)',
    code: 2,
  },
  {
    argv: 'egress allow mynet https://httpbin.org',
    error:
      'error: "mynet" is not a URL: with URLs, name the network with --network-name (e.g. egress allow --network-name mynet https://host)',
    code: 2,
  },
  {
    argv: 'egress allow one two',
    error: 'error: egress allow takes one EgressNetwork name (got one two)',
    code: 2,
  },

  // ── egress route ──
  {
    argv: 'egress route http httpbin-get -n egress-test --port 80 --hostname httpbin.org --hostname www.httpbin.org --path /get --method GET --header x-a=1 --header x-b=2',
    command: 'route',
    options: {
      route: {
        type: 'http',
        name: 'httpbin-get',
        network: 'all-egress-traffic',
        port: 80,
        hostnames: ['httpbin.org', 'www.httpbin.org'],
        path: '/get',
        pathType: 'PathPrefix',
        method: 'GET',
        headers: ['x-a=1', 'x-b=2'],
        backend: 'egress',
      },
      write: { ...write, namespace: 'egress-test' },
    },
  },
  {
    argv: 'egress route tcp postgres --port 5432 --network db --backend svc/pg:5432 --path-type Exact --dry-run=client -o json',
    command: 'route',
    options: {
      route: {
        type: 'tcp',
        name: 'postgres',
        network: 'db',
        port: 5432,
        hostnames: [],
        path: undefined,
        pathType: 'Exact',
        method: undefined,
        headers: [],
        backend: 'svc/pg:5432',
      },
      write: { ...write, dryRun: 'client', output: 'json' },
    },
  },
  {
    argv: 'egress route udp dns --port 53',
    error: 'error: unknown route type "udp": use http, grpc, tls or tcp',
    code: 2,
  },
  {
    argv: 'egress route http web',
    error:
      'error: --port is required: the EgressNetwork port the route attaches to (the original destination port, e.g. 80 or 443)',
    code: 2,
  },
  {
    argv: 'egress route http web --port 70000',
    error: 'error: invalid --port "70000": must be a port number from 1 to 65535',
    code: 2,
  },
  {
    argv: 'egress route http web --port http',
    error: 'error: invalid --port "http": must be a port number from 1 to 65535',
    code: 2,
  },
  {
    argv: 'egress route http',
    error: "error: missing required argument 'name'",
    code: 2,
  },

  // ── egress get ──
  { argv: 'egress get', command: 'get', options: expectGet({}) },
  {
    argv: 'egress get all-egress-traffic -n egress-test -o yaml --egress-namespace egress-global',
    command: 'get',
    options: expectGet({
      name: 'all-egress-traffic',
      namespace: 'egress-test',
      output: 'yaml',
      egressNamespace: 'egress-global',
    }),
  },
  {
    argv: 'egress get -A -o json',
    command: 'get',
    options: expectGet({ allNamespaces: true, output: 'json' }),
  },
  {
    argv: 'egress get -o wide --no-headers --cluster-networks 10.0.0.0/8',
    command: 'get',
    options: expectGet({ output: 'wide', headers: false, clusterNetworks: ['10.0.0.0/8'] }),
  },
  {
    argv: 'egress get -o name',
    command: 'get',
    options: expectGet({ output: 'name' }),
  },
  {
    argv: 'egress get -o jsonpath={.items[*].name}',
    command: 'get',
    options: expectGet({ output: 'jsonpath', template: '{.items[*].name}' }),
  },
  {
    argv: 'egress get -o jsonpath=',
    error: "error: -o jsonpath= needs a template, e.g. -o jsonpath='{.items[*].name}'",
    code: 2,
  },
  {
    argv: 'egress get -o yml',
    error:
      'error: -o yml is not an output format here: choose table, wide, name, json, yaml or jsonpath=TEMPLATE',
    code: 2,
  },

  // ── egress delete ──
  {
    argv: 'egress delete -n egress-test httproute/httpbin-get egressnetwork/all-egress-traffic tlsroutes.gateway.networking.k8s.io/tls',
    command: 'delete',
    options: {
      global: G,
      targets: [
        { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', name: 'httpbin-get' },
        { apiVersion: 'policy.linkerd.io/v1alpha1', kind: 'EgressNetwork', name: 'all-egress-traffic' },
        { apiVersion: 'gateway.networking.k8s.io/v1alpha2', kind: 'TLSRoute', name: 'tls' },
      ],
      namespace: 'egress-test',
      dryRun: 'none',
      ignoreNotFound: false,
    },
  },
  {
    argv: 'egress delete tcproute/pg --dry-run --ignore-not-found',
    command: 'delete',
    options: {
      global: G,
      targets: [{ apiVersion: 'gateway.networking.k8s.io/v1alpha2', kind: 'TCPRoute', name: 'pg' }],
      namespace: undefined,
      dryRun: 'client',
      ignoreNotFound: true,
    },
  },
  {
    argv: 'egress delete pod/client',
    error:
      'error: cannot delete "pod/client": want KIND/NAME with KIND one of egressnetwork, httproute, grpcroute, tlsroute, tcproute (or plural.group, e.g. httproutes.policy.linkerd.io)',
    code: 2,
  },
  {
    argv: 'egress delete httproute/Bad_Name',
    error: 'error: cannot delete "httproute/Bad_Name": "Bad_Name" is not a valid object name',
    code: 2,
  },
  { argv: 'egress delete', error: "error: missing required argument 'kind/name'", code: 2 },

  // ── egress check ──
  {
    argv: 'egress check -n payments https://api.stripe.com',
    command: 'check',
    options: expectCheck({
      check: { url: 'https://api.stripe.com', method: 'GET', headers: {}, ip: undefined },
      source: { ...source, namespace: 'payments' },
    }),
  },
  {
    argv: 'egress check http://httpbin.org/get --method POST --header X-Env=prod --header x-b=2 --ip 203.0.113.10 -f a.yaml -f dir/ --assume-accepted -o json',
    command: 'check',
    options: expectCheck({
      check: {
        url: 'http://httpbin.org/get',
        method: 'POST',
        headers: { 'X-Env': 'prod', 'x-b': '2' },
        ip: '203.0.113.10',
      },
      assumeAccepted: true,
      output: 'json',
      source: { ...source, files: ['a.yaml', 'dir/'] },
    }),
  },
  {
    argv: 'egress check --cases cases.yaml -f examples/guide/ -o junit --egress-namespace egress-global',
    command: 'check',
    options: expectCheck({
      check: { cases: 'cases.yaml' },
      output: 'junit',
      source: { ...source, files: ['examples/guide/'], egressNamespace: 'egress-global' },
    }),
  },
  {
    argv: 'egress check https://github.com --from po/client',
    command: 'check',
    options: expectCheck({
      check: { url: 'https://github.com', method: 'GET', headers: {}, ip: undefined },
      from: { kind: 'pod', name: 'client', text: 'po/client' },
    }),
  },
  {
    argv: 'egress check https://github.com --ip bogus',
    error: 'error: invalid --ip "bogus": want an IPv4 or IPv6 address, e.g. 203.0.113.10',
    code: 2,
  },
  {
    argv: 'egress check https://github.com --ip 10.0.0.300',
    error: 'error: invalid --ip "10.0.0.300": want an IPv4 or IPv6 address, e.g. 203.0.113.10',
    code: 2,
  },
  {
    argv: 'egress check',
    error: 'error: give a URL to check (e.g. https://api.stripe.com), or --cases FILE',
    code: 2,
  },
  {
    argv: 'egress check https://github.com --cases c.yaml',
    error: 'error: give either a URL or --cases FILE, not both',
    code: 2,
  },
  { argv: 'egress check https://github.com -o junit', error: 'error: -o junit is for --cases runs', code: 2 },
  {
    argv: 'egress check https://github.com --from deploy/web',
    error: 'error: --from deploy/web: want po/NAME',
    code: 2,
  },
  {
    argv: 'egress check https://github.com --from po/client -f dir/',
    error: 'error: --from reads the pod from the cluster: use -n NAMESPACE with -f files',
    code: 2,
  },
  {
    argv: 'egress check https://github.com --cluster-networks 10.0.0.0/33',
    error:
      'error: invalid --cluster-networks "10.0.0.0/33": "10.0.0.0/33" is not a CIDR: the prefix length must be 0 to 32',
    code: 2,
  },

  // ── egress lint ──
  {
    argv: 'egress lint -f manifests/',
    command: 'lint',
    options: { output: 'text', allNamespaces: false, source: { ...source, files: ['manifests/'] } },
  },
  {
    argv: 'egress lint -A -o json --cluster-networks 10.0.0.0/8,fd00::/8',
    command: 'lint',
    options: {
      output: 'json',
      allNamespaces: true,
      source: { ...source, clusterNetworks: parseClusterNetworks('10.0.0.0/8,fd00::/8') },
    },
  },
  {
    argv: 'egress lint -o junit',
    error:
      "error: option '-o, --output <format>' argument 'junit' is invalid. Allowed choices are text, json.",
    code: 2,
  },

  // ── sandbox ──
  {
    argv: 'sandbox',
    command: 'sandbox',
    options: {
      port: 0,
      scenario: 'guide',
      state: undefined,
      saveEveryMs: 5000,
      pods: 1,
      rate: 5,
      tls: true,
      prometheus: false,
      demo: false,
      kubeconfig: undefined,
    },
  },
  {
    argv: 'sandbox --no-tls',
    command: 'sandbox',
    options: {
      port: 0,
      scenario: 'guide',
      state: undefined,
      saveEveryMs: 5000,
      pods: 1,
      rate: 5,
      tls: false,
      prometheus: false,
      demo: false,
      kubeconfig: undefined,
    },
  },
  {
    argv: '--kubeconfig /tmp/sb.kubeconfig sandbox --port 6443 --scenario empty --state s.json --save-interval 250ms --pods 200 --rate 50 --tls --demo',
    command: 'sandbox',
    options: {
      port: 6443,
      scenario: 'empty',
      state: 's.json',
      saveEveryMs: 250,
      pods: 200,
      rate: 50,
      tls: true,
      prometheus: false,
      demo: true,
      kubeconfig: '/tmp/sb.kubeconfig',
    },
  },
  {
    argv: 'sandbox --port 65536',
    error: 'error: invalid --port "65536": want 0 (any free port) to 65535',
    code: 2,
  },
  {
    argv: 'sandbox --pods 5001',
    error: 'error: invalid value "5001" for --pods: want a whole number from 1 to 5000',
    code: 2,
  },
  {
    argv: 'sandbox --save-interval 2h',
    error: 'error: invalid --save-interval 2h: want 10ms to 1h',
    code: 2,
  },
  {
    argv: 'sandbox --rate 0',
    error: 'error: invalid value "0" for --rate: want a whole number from 1 to 1000',
    code: 2,
  },
  // ── version ──
  {
    argv: 'version',
    command: 'version',
    options: { global: G, client: false, output: 'text', linkerdNamespace: 'linkerd', namespace: undefined },
  },
  {
    argv: 'version --client -o json -n shop --linkerd-namespace mesh',
    command: 'version',
    options: { global: G, client: true, output: 'json', linkerdNamespace: 'mesh', namespace: 'shop' },
  },
  {
    argv: 'version -o yaml',
    error:
      "error: option '-o, --output <format>' argument 'yaml' is invalid. Allowed choices are text, json.",
    code: 2,
  },
  {
    argv: 'version --linkerd-namespace Bad_NS',
    error:
      'error: invalid --linkerd-namespace "Bad_NS": must be a DNS-1123 label: at most 63 lowercase letters, digits and \'-\'',
    code: 2,
  },
  // ── completion ──
  { argv: 'completion zsh', command: 'completion', options: { shell: 'zsh' } },
  {
    argv: 'completion',
    error: "error: missing required argument 'shell'",
    code: 2,
  },
  {
    argv: 'completion tcsh',
    error:
      "error: command-argument value 'tcsh' is invalid for argument 'shell'. Allowed choices are bash, zsh, fish, powershell.",
    code: 2,
  },
];

/** plan's and learn's flows from the pods, as validate() defaults them, with `o` over them. */
function podFlows(o: Record<string, unknown> = {}): unknown {
  return {
    from: 'pods',
    pods: { by: 'all' },
    allNamespaces: false,
    intervalMs: 0,
    prometheus: NO_PROM,
    timeoutMs: 120_000,
    ...o,
  };
}

function expectPlan(o: Record<string, unknown>): unknown {
  return {
    global: G,
    files: ['policy/'],
    replace: false,
    flows: podFlows(),
    current: undefined,
    namespace: undefined,
    output: 'table',
    failOnBreak: false,
    egressNamespace: 'linkerd-egress',
    clusterNetworks: CLUSTER,
    ...o,
  };
}

function expectLearn(o: Record<string, unknown>): unknown {
  return {
    global: G,
    flows: podFlows(),
    current: undefined,
    namespace: undefined,
    output: 'yaml',
    out: undefined,
    wildcards: undefined,
    includeDenied: false,
    apply: false,
    fieldManager: 'egressctl',
    force: false,
    egressNamespace: 'linkerd-egress',
    clusterNetworks: CLUSTER,
    ...o,
  };
}

function expectStat(o: Record<string, unknown>): unknown {
  return {
    global: G,
    pods: { by: 'all' },
    namespace: undefined,
    allNamespaces: false,
    output: 'table',
    headers: true,
    by: 'host',
    intervalMs: 0,
    watch: false,
    failOnDeny: false,
    concurrency: 16,
    timeoutMs: 30_000,
    podTimeoutMs: 10_000,
    prometheus: NO_PROM,
    ...o,
  };
}

function expectGet(o: Record<string, unknown>): unknown {
  return {
    global: G,
    name: undefined,
    output: 'table',
    template: undefined,
    headers: true,
    clusterNetworks: ['10.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12', '192.168.0.0/16', 'fd00::/8'],
    namespace: undefined,
    allNamespaces: false,
    egressNamespace: 'linkerd-egress',
    ...o,
  };
}

function expectCheck(o: Record<string, unknown>): unknown {
  return { from: undefined, assumeAccepted: false, output: 'text', source, ...o };
}

for (const row of rows) test(row.argv, () => check(row));

test('every command has rows in the table', async () => {
  const { buildProgram } = await import('../src/cli.js');
  const names: string[] = [];
  const walk = (c: import('commander').Command) => {
    for (const s of c.commands) {
      if (s.commands.length) walk(s);
      // `help` has no options to validate; test/exit-codes.test.ts covers it.
      else if (s.name() !== 'help') names.push(s.name());
    }
  };
  walk(buildProgram(deps(), () => {}));
  const covered = new Set(rows.filter((r) => 'command' in r).map((r) => (r as { command: string }).command));
  assert.deepEqual(
    names.filter((n) => !covered.has(n)),
    [],
  );
});
