/**
 * The Linkerd egress guide (https://linkerd.io/2/tasks/managing-egress-traffic/) as egressctl commands
 * against the sandbox's `egress-test` namespace. Pure data, and the only statement of the guide's steps:
 * `egressctl sandbox --demo` (demo.ts) prints them, test/sandbox.test.ts replays them and compares each
 * step's transcript under test/transcripts/ (docs/testing.md).
 */

/** One command of a step: what a user types after `egressctl`, and the exit code it must end with. */
export interface GuideCommand {
  args: readonly string[];
  /** 0 ok, 1 findings (`egress check`: the request would not be allowed). */
  exitCode: number;
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
  'allow-all' | 'deny-all' | 'allow-get' | 'allow-tls' | 'redirect-http' | 'check' | 'allow-again' | 'learn';

export interface GuideStep {
  id: GuideStepId;
  title: string;
  /** Run first, in order: the commands that change the cluster (and what is asked before them). */
  run: readonly GuideCommand[];
  /** Then, when present, wait until the simulated traffic shows the change. */
  waitFor?: GuideWait;
  /** Then look at the result. */
  show: readonly GuideCommand[];
}

const NS = ['-n', 'egress-test'] as const;
const ok = (...args: string[]): GuideCommand => ({ args: [...args], exitCode: 0 });
/** A stat window that only holds traffic sent under the new policy. */
const statWindow = ok('egress', 'stat', ...NS, 'po/client', '--interval', '2s');

export const GUIDE: readonly GuideStep[] = [
  {
    id: 'allow-all',
    title: 'Everything is allowed: the proxy already reports egress traffic by host',
    run: [],
    show: [
      { ...ok('proxy-metrics', ...NS, 'po/client', '--egress'), demoLines: 12 },
      ok('egress', 'stat', ...NS, 'po/client'),
    ],
  },
  {
    id: 'deny-all',
    title: 'Deny all egress from egress-test: plaintext HTTP now gets 403, TLS and TCP are closed',
    // The sandbox made the network as the guide's `kubectl apply` does, so kubectl owns trafficPolicy:
    // egressctl refuses to take it over (as kubectl refuses) unless told to.
    run: [ok('egress', 'deny', ...NS, '--force-conflicts')],
    waitFor: { url: 'http://httpbin.org/get', verdict: 'deny', why: 'the deny policy' },
    show: [statWindow],
  },
  {
    id: 'allow-get',
    title: 'Allow GET /get on httpbin.org again',
    run: [ok('egress', 'allow', ...NS, 'http://httpbin.org/get')],
    waitFor: { url: 'http://httpbin.org/get', verdict: 'allow', why: 'the HTTPRoute to be accepted' },
    show: [statWindow],
  },
  {
    id: 'allow-tls',
    title: 'HTTPS to httpbin.org still fails (no TLSRoute: it is opaque TCP, denied); allow it by SNI',
    run: [
      { args: ['egress', 'check', ...NS, 'https://httpbin.org'], exitCode: 1 },
      ok('egress', 'allow', ...NS, 'https://httpbin.org'),
    ],
    waitFor: { url: 'https://httpbin.org/ip', verdict: 'allow', why: 'the TLSRoute to be accepted' },
    show: [statWindow],
  },
  {
    id: 'redirect-http',
    title: 'Redirect all other plaintext HTTP to the in-cluster Service internal-egress',
    run: [
      ok(
        'egress',
        'route',
        'http',
        'unencrypted-http',
        ...NS,
        '--port',
        '80',
        '--backend',
        'svc/internal-egress:80',
      ),
    ],
    waitFor: { url: 'http://google.com/', verdict: 'redirect', why: 'the redirect route to be accepted' },
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
        ['https://github.com', 1],
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
