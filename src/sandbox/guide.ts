/**
 * The Linkerd egress guide (https://linkerd.io/2/tasks/managing-egress-traffic/, linkerd/website
 * `linkerd.io/content/2-edge/tasks/managing-egress-traffic.md`) as egressctl commands against the
 * sandbox's `egress-test` namespace, with the guide's object names and its `| grep` lines. Pure data,
 * and the only statement of the guide's steps: `egressctl sandbox --demo` (demo.ts) prints them,
 * test/sandbox.test.ts replays them and compares each step's transcript under test/transcripts/
 * (docs/testing.md).
 */

/** One command of a step: what a user types after `egressctl`, and the exit code it must end with. */
export interface GuideCommand {
  args: readonly string[];
  /** egressctl's exit code: 0 ok, 1 findings (`egress check`: the request would not be allowed). */
  exitCode: number;
  /**
   * The output is piped through `| grep P` for each pattern in turn, as the guide reads
   * `proxy-metrics`: only the lines holding every pattern are shown (fixed strings, as grep reads
   * these: they hold no pattern characters). A filter that leaves no line fails the step, since the
   * step is there to show that line.
   */
  grep?: readonly string[];
  /** The demo shows at most this many lines of stdout (default 40); transcripts keep all of it. */
  demoLines?: number;
}

/** What a step waits for: the simulated proxies' latest decision for `url` becomes `verdict`. */
export interface GuideWait {
  url: string;
  verdict: 'allow' | 'deny' | 'redirect';
  /** What is being waited for, for the timeout message. */
  why: string;
}

export type GuideStepId =
  | 'allow-all'
  | 'deny-all'
  | 'allow-get'
  | 'allow-tls'
  | 'grpc-tcp'
  | 'final-state'
  | 'check'
  | 'allow-again'
  | 'learn';

export interface GuideStep {
  id: GuideStepId;
  title: string;
  /** Run first, in order: the commands that change the cluster (and what is asked before them). */
  run: readonly GuideCommand[];
  /**
   * Then, when present, wait until the simulated traffic shows the change: every destination whose
   * verdict changes, so that a stat window never straddles two policies.
   */
  waitFor?: GuideWait | readonly GuideWait[];
  /** Then look at the result. */
  show: readonly GuideCommand[];
}

/** A step's waits as a list (a step may name one or several). */
export function waitsOf(step: GuideStep): readonly GuideWait[] {
  const w = step.waitFor;
  if (w === undefined) return [];
  return 'url' in w ? [w] : w;
}

/** The command as a user types it: `egressctl ARGS [| grep P]...`, quoted for a POSIX shell. */
export function commandLine(c: GuideCommand): string {
  const words = (ws: readonly string[]) => ws.map(shellWord).join(' ');
  return [`egressctl ${words(c.args)}`, ...(c.grep ?? []).map((p) => `grep ${shellWord(p)}`)].join(' | ');
}

/** What the pipeline prints: stdout, kept to the lines `grep` would keep (all of it without one). */
export function grepOutput(c: GuideCommand, stdout: string): string {
  if (!c.grep?.length) return stdout;
  const lines = stdout.split('\n').filter((l) => c.grep?.every((p) => l.includes(p)));
  return lines.map((l) => `${l}\n`).join('');
}

function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const NS = ['-n', 'egress-test'] as const;
const ok = (...args: string[]): GuideCommand => ({ args: [...args], exitCode: 0 });
/** What the guide types: `linkerd dg proxy-metrics -n egress-test po/client | grep FAMILY`. */
const metrics = (...grep: string[]): GuideCommand => ({ ...ok('proxy-metrics', ...NS, 'po/client'), grep });
/** A stat window that only holds traffic sent under the new policy (one tick of the sandbox is 200ms). */
const statWindow = ok('egress', 'stat', ...NS, 'po/client', '--interval', '1s');
const HTTP_STATUSES = 'outbound_http_route_request_statuses_total';

// The guide's objects, one command each (README: "Each heredoc of the Linkerd egress guide is one
// command"; test/golden/guide-*.yaml holds what they generate).
const httpbinGet = ok('egress', 'route', 'http', 'httpbin-get', ...NS, '--port', '80', '--path', '/get');
const unencryptedHttp = ok(
  'egress',
  'route',
  'http',
  'unencrypted-http',
  ...NS,
  '--port',
  '80',
  '--backend',
  'svc/internal-egress:80',
);
const tlsEgress = (...hostname: string[]) =>
  ok(
    'egress',
    'route',
    'tls',
    'tls-egress',
    ...NS,
    '--port',
    '443',
    ...hostname.flatMap((h) => ['--hostname', h]),
  );

export const GUIDE: readonly GuideStep[] = [
  {
    id: 'allow-all',
    title: 'Everything is allowed: the proxy already reports egress traffic by host',
    run: [],
    show: [metrics(HTTP_STATUSES), ok('egress', 'stat', ...NS, 'po/client')],
  },
  {
    id: 'deny-all',
    title: 'Deny all egress from egress-test: plaintext HTTP now gets 403, TLS and TCP are closed',
    // The sandbox made the network as the guide's `kubectl apply` does, so kubectl owns trafficPolicy:
    // egressctl refuses to take it over (as kubectl refuses) unless told to.
    run: [ok('egress', 'deny', ...NS, '--force-conflicts')],
    waitFor: { url: 'http://httpbin.org/get', verdict: 'deny', why: 'the deny policy' },
    show: [metrics(HTTP_STATUSES, 'http-egress-deny'), statWindow],
  },
  {
    id: 'allow-get',
    // The guide's HTTPRoute matches the path only, so GET /get is let through to any host on port 80
    // (`egress allow http://httpbin.org/get` would also match the hostname).
    title: 'Allow GET /get again: HTTPRoute httpbin-get (a path match, on every host of port 80)',
    run: [httpbinGet],
    waitFor: { url: 'http://httpbin.org/get', verdict: 'allow', why: 'the HTTPRoute to be accepted' },
    show: [metrics(HTTP_STATUSES, 'httpbin-get'), statWindow],
  },
  {
    id: 'allow-tls',
    title:
      'HTTPS to httpbin.org still fails (no TLSRoute: it is opaque TCP, denied); TLSRoute tls-egress allows it by SNI',
    run: [{ args: ['egress', 'check', ...NS, 'https://httpbin.org'], exitCode: 1 }, tlsEgress('httpbin.org')],
    waitFor: { url: 'https://httpbin.org/ip', verdict: 'allow', why: 'the TLSRoute to be accepted' },
    // The guide's two greps: httpbin.org opens through tls-egress; github.com is closed as forbidden.
    show: [metrics('outbound_tls_route_open_total'), metrics('outbound_tls_route_close_total', 'forbidden')],
  },
  {
    id: 'grpc-tcp',
    title: 'GRPCRoute and TCPRoute shape the gRPC and Postgres traffic "in a similar fashion"',
    run: [
      ok('egress', 'route', 'grpc', 'grpcbin', ...NS, '--port', '9000', '--hostname', 'grpcb.in'),
      ok('egress', 'route', 'tcp', 'postgres', ...NS, '--port', '5432'),
    ],
    waitFor: [
      {
        url: 'grpc://grpcb.in:9000/grpcbin.GRPCBin/Index',
        verdict: 'allow',
        why: 'the GRPCRoute to be accepted',
      },
      { url: 'tcp://198.51.100.60:5432', verdict: 'allow', why: 'the TCPRoute to be accepted' },
    ],
    show: [
      metrics('outbound_grpc_route_request_statuses_total'),
      metrics('outbound_tcp_route_open_total', 'TCPRoute'),
      statWindow,
    ],
  },
  {
    id: 'final-state',
    // The guide's "Redirecting egress traffic back to the cluster" applies these three objects (httpbin-get
    // again, unchanged); its final state has no gRPC or TCP route, so those go first.
    title:
      "The guide's final rules: plaintext only to /get, all TLS allowed, other plaintext redirected to internal-egress",
    run: [
      ok('egress', 'delete', ...NS, 'grpcroute/grpcbin', 'tcproute/postgres'),
      httpbinGet,
      tlsEgress(),
      unencryptedHttp,
    ],
    waitFor: [
      { url: 'https://github.com', verdict: 'allow', why: 'the TLSRoute without hostnames' },
      { url: 'http://google.com/', verdict: 'redirect', why: 'the redirect route to be accepted' },
      { url: 'grpc://grpcb.in:9000/grpcbin.GRPCBin/Index', verdict: 'deny', why: 'the GRPCRoute deleted' },
      { url: 'tcp://198.51.100.60:5432', verdict: 'deny', why: 'the TCPRoute deleted' },
    ],
    show: [statWindow, ok('egress', 'get', ...NS)],
  },
  {
    id: 'check',
    title: 'Ask egressctl, for each rule, whether a request would be allowed (exit 0 yes, 1 no)',
    run: [],
    show: (
      [
        ['http://httpbin.org/get', 0],
        ['http://google.com', 0],
        ['https://httpbin.org', 0],
        ['https://github.com', 0],
        ['tcp://198.51.100.60:5432', 1],
      ] as const
    ).map(([url, exitCode]) => ({ args: ['egress', 'check', ...NS, url], exitCode, demoLines: 6 })),
  },
  // The step the guide leaves to the reader: from the traffic seen, the policy that allows only it.
  {
    id: 'allow-again',
    title: 'Back to everything allowed, so that the traffic to learn from is all allowed',
    run: [ok('egress', 'allow', ...NS, '--force-conflicts')],
    waitFor: { url: 'https://github.com', verdict: 'allow', why: 'the Allow policy' },
    show: [],
  },
  {
    id: 'learn',
    title:
      'Learn the policy from the running traffic (proven with egress plan first), apply it, then deny: no request breaks',
    run: [
      ok('egress', 'learn', ...NS, '--interval', '1s', '--apply', '--force-conflicts'),
      ok('egress', 'deny', ...NS, '--force-conflicts'),
    ],
    waitFor: {
      url: 'tcp://198.51.100.60:5432',
      verdict: 'allow',
      why: 'the learned address network and TCPRoute',
    },
    show: [statWindow],
  },
];
