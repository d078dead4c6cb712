import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { useColor, type Deps } from '../deps.js';
import { ClusterError, ExitCode } from '../errors.js';
import type { Sandbox } from './sandbox.js';

/** Works from src/sandbox (tsx) and dist/chunks (the bundle): both are two levels below the package. */
const BIN = fileURLToPath(new URL('../../bin/egressctl.js', import.meta.url));

/**
 * The Linkerd egress guide, end to end, against the sandbox: each step runs the real CLI as a user
 * would, prints the command and its output, and waits (bounded) until the simulated traffic shows the
 * change before going on.
 */
export async function runDemo(sb: Sandbox, kubeconfig: string, deps: Deps): Promise<number> {
  const color = useColor(deps);
  const bold = (s: string) => (color ? `\x1b[1m${s}\x1b[22m` : s);
  const say = (s: string) => deps.out.write(`\n${bold(`# ${s}`)}\n`);

  const egressctl = (args: string[], o: { maxLines?: number; expectCode?: number[] } = {}) =>
    new Promise<string>((resolve, reject) => {
      deps.out.write(`${bold(`$ egressctl ${args.join(' ')}`)}\n`);
      const child = spawn(process.execPath, [BIN, ...args], {
        env: { ...deps.env, KUBECONFIG: kubeconfig, ...(color ? { FORCE_COLOR: '1' } : {}) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        const lines = out.trimEnd().split('\n');
        const max = o.maxLines ?? 40;
        deps.out.write(
          `${lines.slice(0, max).join('\n')}${lines.length > max ? `\n… (${lines.length - max} more lines)` : ''}\n`,
        );
        if (err) deps.out.write(err);
        if (!(o.expectCode ?? [0]).includes(code ?? -1))
          reject(
            new ClusterError(
              `demo step "egressctl ${args.join(' ')}" exited ${code}: ${err.trim().split('\n')[0] ?? ''}`,
            ),
          );
        else resolve(out);
      });
    });

  /** Waits until the simulated proxies' latest decision for `url` is `verdict` (at most 10 s). */
  const waitFor = async (url: string, verdict: string, why: string) => {
    const deadline = Date.now() + 10_000;
    while (sb.latest().get(url)?.verdict !== verdict) {
      if (Date.now() > deadline)
        throw new ClusterError(
          `the demo waited 10s for ${url} to be ${verdict} (${why}) and it is still ${sb.latest().get(url)?.verdict ?? 'unknown'}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
    // Let a little traffic flow under the new policy before looking at it.
    await new Promise((r) => setTimeout(r, 600));
  };
  const stat = () => egressctl(['egress', 'stat', '-n', 'egress-test', 'po/client', '--interval', '2s']);

  deps.out.write(
    `Linkerd's egress guide on a simulated cluster (${sb.server.url}); KUBECONFIG=${kubeconfig}\n`,
  );
  say('1. Everything is allowed: the proxy already reports egress traffic by host');
  await egressctl(['proxy-metrics', '-n', 'egress-test', 'po/client', '--egress'], { maxLines: 12 });
  await egressctl(['egress', 'stat', '-n', 'egress-test', 'po/client']);

  say('2. Deny all egress from egress-test: plaintext HTTP now gets 403, TLS and TCP are closed');
  // The guide's kubectl apply owns trafficPolicy: without --force-conflicts egressctl refuses, as kubectl does.
  await egressctl(['egress', 'deny', '-n', 'egress-test', '--force-conflicts']);
  await waitFor('http://httpbin.org/get', 'deny', 'the deny policy');
  await stat();

  say('3. Allow GET /get on httpbin.org again');
  await egressctl(['egress', 'allow', '-n', 'egress-test', 'http://httpbin.org/get']);
  await waitFor('http://httpbin.org/get', 'allow', 'the HTTPRoute to be accepted');
  await stat();

  say('4. HTTPS to httpbin.org still fails (no TLSRoute: it is opaque TCP, denied); allow it by SNI');
  await egressctl(['egress', 'check', '-n', 'egress-test', 'https://httpbin.org'], { expectCode: [1] });
  await egressctl(['egress', 'allow', '-n', 'egress-test', 'https://httpbin.org']);
  await waitFor('https://httpbin.org/ip', 'allow', 'the TLSRoute to be accepted');
  await stat();

  say('5. Redirect all other plaintext HTTP to the in-cluster Service internal-egress');
  await egressctl([
    'egress',
    'route',
    'http',
    'unencrypted-http',
    '-n',
    'egress-test',
    '--port',
    '80',
    '--backend',
    'svc/internal-egress:80',
  ]);
  await waitFor('http://google.com/', 'redirect', 'the redirect route to be accepted');
  await stat();
  await egressctl(['egress', 'get', '-n', 'egress-test']);

  say('6. Ask egressctl, for each rule, whether a request would be allowed (exit 0 yes, 1 no)');
  for (const [url, code] of [
    ['http://httpbin.org/get', 0],
    ['http://google.com', 0],
    ['https://httpbin.org', 0],
    ['https://github.com', 1],
  ] as const) {
    await egressctl(['egress', 'check', '-n', 'egress-test', url], { maxLines: 6, expectCode: [code] });
  }
  deps.out.write(`\n${bold('Done.')} Run 'egressctl sandbox' to explore on your own.\n`);
  return ExitCode.Ok;
}
