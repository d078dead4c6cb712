import fs from 'node:fs';
import path from 'node:path';
import { optString, type RawInput } from '../cli/context.js';
import type { Deps } from '../deps.js';
import { ExitCode, UsageError } from '../errors.js';
import { validateHeader } from '../manifests/validate.js';
import { decide, parseRequestUrl, type Decision } from '../policy/engine.js';
import { loadPolicySource } from './policy-source.js';

/** `egress check URL` (can-i for egress) and `egress check --cases FILE`. Exit 0 yes, 1 no, 2 error. */
export async function run(input: RawInput, deps: Deps): Promise<number> {
  const o = input.opts;
  const output = optString(o, 'output', 'text');
  const cases = typeof o.cases === 'string' ? o.cases : undefined;
  const url = input.args[0];
  if (!cases && !url)
    throw new UsageError('give a URL to check (e.g. https://api.stripe.com), or --cases FILE');
  if (cases && url) throw new UsageError('give either a URL or --cases FILE, not both');
  if (output === 'junit' && !cases) throw new UsageError('-o junit is for --cases runs');
  const headers = Object.fromEntries(
    ((o.header as string[] | undefined) ?? []).map((h) => {
      const { name, value } = validateHeader('--header', h);
      return [name, value];
    }),
  );
  const request = url
    ? toRequest(url, {
        method: optString(o, 'method', 'GET'),
        headers,
        ip: typeof o.ip === 'string' ? o.ip : undefined,
      })
    : undefined;
  const caseText = cases ? readCases(cases, deps.cwd) : undefined;

  const src = await loadPolicySource(input, deps);
  let namespace = src.namespace;
  if (typeof o.from === 'string') namespace = await podNamespace(o.from, input, deps, src.live);
  const assumeAccepted = o.assumeAccepted === true || !src.live;
  const base = {
    objects: src.objects,
    clusterNetworks: src.clusterNetworks,
    globalNamespace: src.globalNamespace,
    assumeAccepted,
  };

  if (caseText !== undefined && cases) {
    const { parseCases, runCases, renderCasesJson, renderCasesJunit, renderCasesText } =
      await import('../policy/cases.js');
    const results = runCases(parseCases(caseText, cases, namespace), base);
    deps.out.write(
      output === 'json'
        ? renderCasesJson(results)
        : output === 'junit'
          ? renderCasesJunit(results, path.basename(cases))
          : renderCasesText(results),
    );
    return results.every((r) => r.pass) ? ExitCode.Ok : ExitCode.Findings;
  }
  const d = decide({ ...base, clientNamespace: namespace }, request as NonNullable<typeof request>);
  deps.out.write(
    output === 'json'
      ? `${JSON.stringify({ apiVersion: 'egressctl.linkerd.io/v1', kind: 'EgressDecision', request: url, namespace, allowed: d.verdict !== 'deny', ...d }, null, 2)}\n`
      : renderDecision(d, namespace),
  );
  return d.verdict === 'deny' ? ExitCode.Findings : ExitCode.Ok;
}

function toRequest(
  url: string,
  o: { method: string; headers: Record<string, string>; ip: string | undefined },
) {
  try {
    return parseRequestUrl(url, o);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function readCases(file: string, cwd: string): string {
  try {
    return fs.readFileSync(path.resolve(cwd, file), 'utf8');
  } catch {
    throw new UsageError(`--cases ${file}: no such file`);
  }
}

async function podNamespace(from: string, input: RawInput, deps: Deps, live: boolean): Promise<string> {
  if (!live) throw new UsageError('--from reads the pod from the cluster: use -n NAMESPACE with -f files');
  const m = /^(?:po|pod|pods)\/(.+)$/.exec(from);
  if (!m) throw new UsageError(`--from ${from}: want po/NAME`);
  const { connect } = await import('../kube/rest.js');
  const { resolvePods, parseTarget } = await import('../kube/resolve.js');
  const client = await connect(input.opts, deps.env);
  try {
    const [pod] = await resolvePods(client, {
      by: 'target',
      target: parseTarget(from),
      namespace: client.namespace,
    });
    return pod?.metadata.namespace ?? client.namespace;
  } finally {
    client.close();
  }
}

/** `yes`/`no`, then the short why, then each of Linkerd's rules as applied. */
export function renderDecision(d: Decision, namespace: string): string {
  const lines = [d.verdict === 'deny' ? 'no' : 'yes'];
  const field = (k: string, v: string) => lines.push(`  ${`${k}:`.padEnd(10)}${v}`);
  field('from', `namespace ${namespace}`);
  field(
    'network',
    d.network
      ? `EgressNetwork ${d.network.namespace}/${d.network.name} (trafficPolicy ${d.network.trafficPolicy})`
      : d.fallback
        ? 'none (egress-fallback)'
        : d.inCluster
          ? 'none (in-cluster)'
          : '-',
  );
  if (d.protocol) field('protocol', d.protocol);
  if (d.route)
    field(
      'route',
      d.route.default
        ? `default route ${d.route.name}`
        : `${d.route.kind} ${d.route.namespace}/${d.route.name}${d.route.rule ? `, rule ${d.route.rule}` : ''}`,
    );
  field(
    'result',
    `${d.verdict === 'redirect' ? 'redirected' : d.verdict === 'deny' ? 'denied' : 'allowed'}: ${d.effect}`,
  );
  lines.push('  why:');
  d.steps.forEach((s, i) => lines.push(`    ${i + 1}. ${s.rule}\n       → ${s.result}`));
  for (const a of d.assumptions) lines.push(`  assumed: ${a}`);
  return `${lines.join('\n')}\n`;
}
