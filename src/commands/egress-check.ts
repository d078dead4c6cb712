import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import type { Deps } from '../deps.js';
import { ExitCode, UsageError } from '../errors.js';
import { parseTarget, type Target } from '../kube/resolve.js';
import { validateHeader } from '../manifests/validate.js';
import { parseIp } from '../net/cidr.js';
import { connectSettings } from '../options/global.js';
import {
  addClusterNetworksFlag,
  addEgressNamespaceFlag,
  addFilenameFlag,
  addNamespaceFlag,
  addTimeoutFlag,
  collect,
  withExamples,
  type CommandInput,
} from './flags.js';
import {
  loadPolicySource,
  toPolicySourceOptions,
  type PolicySourceFlags,
  type PolicySourceOptions,
} from './policy-source.js';

/** `egress check URL` (can-i for egress) and `egress check --cases FILE`. Exit 0 yes, 1 no, 2 error. */
export function command(): Command {
  const cmd = new Command('check')
    .description(
      "Would this request be allowed? Explains the decision with Linkerd's rules (exit 0 yes, 1 no)",
    )
    .argument('[url]', 'http://host/path, https://host, grpc://host:port/svc/method, tcp://host:port');
  addFilenameFlag(cmd, 'read objects from files or directories instead of the cluster (repeatable)');
  cmd
    .option('--from <pod>', 'the client pod (po/NAME); its namespace is the client namespace')
    .option('--ip <address>', 'the destination IP, when known')
    .option('--method <method>', 'HTTP method', 'GET')
    .option('--header <k=v>', 'request header (repeatable)', collect, [])
    .option('--cases <file>', 'check every case in a cases file (exit 1 if any fails)')
    .option('--assume-accepted', 'treat routes without status as Accepted (default for files)');
  addEgressNamespaceFlag(cmd);
  addClusterNetworksFlag(cmd);
  cmd.addOption(
    new Option('-o, --output <format>', 'output format').choices(['text', 'json', 'junit']).default('text'),
  );
  addNamespaceFlag(cmd);
  addTimeoutFlag(cmd, '30s', 'reading the cluster (not used with -f)');
  return withExamples(
    cmd,
    `
  egressctl egress check -n payments https://api.stripe.com
  egressctl egress check -n egress-test http://httpbin.org/get --method POST -f manifests/
  egressctl egress check --cases examples/guide-cases.yaml -f examples/guide/ -o junit > report.xml`,
  );
}

interface Flags extends PolicySourceFlags {
  from?: string;
  ip?: string;
  method: string;
  header: string[];
  cases?: string;
  assumeAccepted?: boolean;
  output: 'text' | 'json' | 'junit';
}

/** One request (a URL), or every case of a cases file. */
export type Check =
  | { url: string; method: string; headers: Record<string, string>; ip: string | undefined }
  | { cases: string };

export interface Options {
  check: Check;
  /** `--from po/NAME`: the client namespace is that pod's. */
  from: Target | undefined;
  assumeAccepted: boolean;
  output: Flags['output'];
  source: PolicySourceOptions;
}

export function validate(input: CommandInput): Options {
  const f = input.opts as unknown as Flags;
  const url = input.args[0];
  if (f.cases === undefined && url === undefined)
    throw new UsageError('give a URL to check (e.g. https://api.stripe.com), or --cases FILE');
  if (f.cases !== undefined && url !== undefined)
    throw new UsageError('give either a URL or --cases FILE, not both');
  if (f.output === 'junit' && f.cases === undefined) throw new UsageError('-o junit is for --cases runs');
  // Checked here, not by the engine: a bad --ip is a usage error (exit 2), never a failed check.
  if (f.ip !== undefined && !parseIp(f.ip))
    throw new UsageError(`invalid --ip "${f.ip}": want an IPv4 or IPv6 address, e.g. 203.0.113.10`);
  const headers = Object.fromEntries(
    f.header.map((h) => {
      const { name, value } = validateHeader('--header', h);
      return [name, value];
    }),
  );
  let from: Target | undefined;
  if (f.from !== undefined) {
    if (f.filename.length)
      throw new UsageError('--from reads the pod from the cluster: use -n NAMESPACE with -f files');
    const m = /^(?:po|pod|pods)\/(.+)$/.exec(f.from);
    if (!m) throw new UsageError(`--from ${f.from}: want po/NAME`);
    from = parseTarget(f.from);
  }
  return {
    check:
      f.cases !== undefined
        ? { cases: f.cases }
        : { url: url as string, method: f.method, headers, ip: f.ip },
    from,
    assumeAccepted: f.assumeAccepted === true,
    output: f.output,
    source: toPolicySourceOptions(f, input.global),
  };
}

export async function run(o: Options, deps: Deps): Promise<number> {
  const { decide, parseRequestUrl } = await import('../policy/engine.js');
  const c = o.check;
  // Usage errors (the URL, the cases file) come before any kubeconfig or cluster is read.
  const request =
    'url' in c
      ? toRequest(() => parseRequestUrl(c.url, { method: c.method, headers: c.headers, ip: c.ip }))
      : undefined;
  const caseText = 'cases' in c ? readCases(c.cases, deps.cwd) : undefined;

  const src = await loadPolicySource(o.source, deps);
  const namespace = o.from ? await podNamespace(o.from, src.namespace, o, deps) : src.namespace;
  const base = {
    objects: src.objects,
    clusterNetworks: src.clusterNetworks,
    globalNamespace: src.globalNamespace,
    assumeAccepted: o.assumeAccepted || !src.live,
  };

  if ('cases' in c && caseText !== undefined) {
    const { parseCases, runCases } = await import('../policy/cases.js');
    const { casesFormats } = await import('../render/cases.js');
    const results = runCases(parseCases(caseText, c.cases, namespace), base);
    for (const line of src.read) deps.err.write(`${line}\n`);
    deps.out.write(casesFormats[o.output](results, { suite: path.basename(c.cases) }));
    return results.every((r) => r.pass) ? ExitCode.Ok : ExitCode.Findings;
  }
  const { decisionFormats } = await import('../render/decision.js');
  if (!('url' in c) || !request) return ExitCode.Usage; // validate() gave one of url and cases
  const d = decide({ ...base, clientNamespace: namespace }, request);
  if (o.output === 'junit') return ExitCode.Usage; // validate() allows -o junit only with --cases
  for (const line of src.read) deps.err.write(`${line}\n`);
  deps.out.write(decisionFormats[o.output](d, { request: c.url, namespace }));
  return d.verdict === 'deny' ? ExitCode.Findings : ExitCode.Ok;
}

/** The URL grammar lives in the engine; its refusals are usage errors. */
function toRequest<T>(parse: () => T): T {
  try {
    return parse();
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

/** The namespace of the `--from` pod, read from the cluster. */
async function podNamespace(from: Target, namespace: string, o: Options, deps: Deps): Promise<string> {
  const { resolvePods } = await import('../kube/resolve.js');
  const client = await deps.kube(connectSettings(o.source.global, namespace));
  try {
    const [pod] = await resolvePods(client, { by: 'target', target: from, namespace });
    return pod?.metadata.namespace ?? namespace;
  } finally {
    client.close();
  }
}
