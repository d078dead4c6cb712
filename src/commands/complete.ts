import type { Argument, Command, Option } from 'commander';
import type { Deps } from '../deps.js';
import { KINDS, kindByName, type KindEntry } from '../kinds.js';
import { suggestedValues } from './flags.js';

/**
 * `__complete WORDS... CURRENT`: the one place shell completion is decided. The four scripts of
 * `completion` and `kubectl_complete-egress` (which kubectl 1.26+ runs for plugin completion,
 * kubernetes/kubectl `pkg/cmd/plugin`) all call it with the words typed so far, the last one being the
 * word under the cursor (possibly empty). It speaks cobra's `__complete` protocol (spf13/cobra
 * `completions.go`), so kubectl and cobra-style scripts understand it: one candidate a line, optionally
 * `NAME<TAB>DESCRIPTION`, then `:DIRECTIVE`.
 *
 * Commands and flags come from the commander tree, so a new command or flag completes without a change
 * here. Namespaces, pods, workloads, EgressNetworks and routes come from the cluster, within
 * {@link LOOKUP_MS}; a cluster that is slow or absent gives no candidates and prints nothing on stderr.
 */

/** cobra's ShellCompDirective bits. */
export const Directive = {
  Default: 0,
  Error: 1,
  NoSpace: 2,
  NoFileComp: 4,
} as const;

/** How long a completion may wait for the cluster: a Tab that hangs is worse than no candidates. */
export const LOOKUP_MS = 2000;

export interface Completion {
  /** `name` or `name\tdescription`. */
  candidates: string[];
  directive: number;
}

/** What the candidates of one positional argument or flag value are, when they need the cluster. */
export type Lookup =
  | { what: 'namespaces' }
  | { what: 'objects'; kinds: readonly KindEntry[]; namespace: string | undefined; prefix: string };

/** Lists names for a lookup: `[]` on any failure (the caller passes a cluster-backed one, or none). */
export type Lister = (lookup: Lookup, settings: LookupSettings) => Promise<string[]>;

export interface LookupSettings {
  kubeconfig: string | undefined;
  context: string | undefined;
  namespace: string | undefined;
}

const WORKLOADS = KINDS.filter((k) => k.workload);
const ROUTABLE = KINDS.filter((k) => k.crd);

/** The TYPE a `TYPE/NAME` argument is typed with: kubectl's shortest name for the kind. */
const typeName = (k: KindEntry): string => k.shortNames[0] ?? k.singular;

/**
 * Decides the candidates for `words` (the last is the word being completed) against `root`. Pure but for
 * `list`, which is asked only for arguments whose values live in the cluster.
 */
export async function toCompletion(root: Command, words: string[], list: Lister): Promise<Completion> {
  const current = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  let cmd = root;
  const positional: string[] = [];
  const values = new Map<string, string>();
  let pending: Option | undefined;
  let afterDashDash = false;
  for (const w of before) {
    if (pending) {
      values.set(pending.attributeName(), w);
      pending = undefined;
      continue;
    }
    if (w === '--') {
      afterDashDash = true;
      continue;
    }
    if (!afterDashDash && w.startsWith('-') && w.length > 1) {
      const eq = w.indexOf('=');
      const opt = findOption(cmd, eq < 0 ? w : w.slice(0, eq));
      if (opt && eq >= 0) values.set(opt.attributeName(), w.slice(eq + 1));
      else if (opt?.required) pending = opt;
      continue;
    }
    const sub = positional.length === 0 ? findCommand(cmd, w) : undefined;
    if (sub) cmd = sub;
    else positional.push(w);
  }
  const settings: LookupSettings = {
    kubeconfig: values.get('kubeconfig'),
    context: values.get('context'),
    namespace: values.get('namespace'),
  };
  const filter = (names: string[]): string[] =>
    names.filter((n) => n.startsWith(current) || n.split('\t')[0] === current);

  if (pending) return optionValues(pending, current, settings, list, filter);
  if (!afterDashDash && current.startsWith('-')) {
    const eq = current.indexOf('=');
    if (eq >= 0) {
      const opt = findOption(cmd, current.slice(0, eq));
      if (!opt) return { candidates: [], directive: Directive.NoFileComp };
      const flag = current.slice(0, eq + 1);
      const got = await optionValues(opt, current.slice(eq + 1), settings, list, (n) =>
        n.filter((v) => v.startsWith(current.slice(eq + 1))),
      );
      return { ...got, candidates: got.candidates.map((c) => flag + c) };
    }
    return { candidates: filter(flagsOf(cmd)), directive: Directive.NoFileComp };
  }
  const subs = visibleCommands(cmd);
  if (subs.length > 0 && positional.length === 0)
    return {
      candidates: filter(subs.map((c) => `${c.name()}\t${c.description()}`)),
      directive: Directive.NoFileComp,
    };
  const args = cmd.registeredArguments;
  const arg: Argument | undefined =
    args[positional.length] ?? (args.at(-1)?.variadic ? args.at(-1) : undefined);
  if (!arg) return { candidates: [], directive: Directive.NoFileComp };
  return argumentValues(cmd, arg, current, settings, list, filter);
}

async function optionValues(
  opt: Option,
  current: string,
  settings: LookupSettings,
  list: Lister,
  filter: (n: string[]) => string[],
): Promise<Completion> {
  if (opt.argChoices) return { candidates: filter(opt.argChoices), directive: Directive.NoFileComp };
  const suggested = suggestedValues(opt);
  if (suggested) return { candidates: filter([...suggested]), directive: Directive.NoFileComp };
  if (opt.long === '--namespace' || opt.long === '--egress-namespace')
    return {
      candidates: filter(await list({ what: 'namespaces' }, settings)),
      directive: Directive.NoFileComp,
    };
  // Paths (-f, --kubeconfig, --state, --from-file): the shell completes files.
  if (/file|kubeconfig|state|path/i.test(`${opt.long ?? ''} ${opt.flags}`))
    return { candidates: [], directive: Directive.Default };
  void current;
  return { candidates: [], directive: Directive.NoFileComp };
}

/** A positional argument's candidates, by what it names (its commander name and description). */
async function argumentValues(
  cmd: Command,
  arg: Argument,
  current: string,
  settings: LookupSettings,
  list: Lister,
  filter: (n: string[]) => string[],
): Promise<Completion> {
  if (arg.argChoices) return { candidates: filter(arg.argChoices), directive: Directive.NoFileComp };
  const name = arg.name();
  const typed = (kinds: readonly KindEntry[]): Promise<Completion> =>
    typedNames(kinds, current, settings, list, filter);
  if (name === 'target') return typed(WORKLOADS);
  if (name === 'kind/name') return typed(ROUTABLE);
  if (name === 'type' && cmd.name() === 'route') {
    const protocols = [...new Set(KINDS.flatMap((k) => (k.route ? [k.route.protocol] : [])))];
    return { candidates: filter(protocols), directive: Directive.NoFileComp };
  }
  if (name === 'name' && /EgressNetwork/.test(arg.description)) {
    const names = await list(
      {
        what: 'objects',
        kinds: KINDS.filter((k) => k.kind === 'EgressNetwork'),
        namespace: settings.namespace,
        prefix: '',
      },
      settings,
    );
    return { candidates: filter(names), directive: Directive.NoFileComp };
  }
  return { candidates: [], directive: Directive.NoFileComp };
}

/** `TYPE/NAME`: the types first (no space after the slash), then the objects of the typed one. */
async function typedNames(
  kinds: readonly KindEntry[],
  current: string,
  settings: LookupSettings,
  list: Lister,
  filter: (n: string[]) => string[],
): Promise<Completion> {
  const slash = current.indexOf('/');
  if (slash < 0)
    return {
      candidates: filter([...new Set(kinds.map((k) => `${typeName(k)}/`))]),
      directive: Directive.NoSpace | Directive.NoFileComp,
    };
  const type = current.slice(0, slash);
  const kind = kindByName(type, kinds);
  if (!kind) return { candidates: [], directive: Directive.NoFileComp };
  const names = await list(
    { what: 'objects', kinds: [kind], namespace: settings.namespace, prefix: `${type}/` },
    settings,
  );
  return { candidates: filter(names.map((n) => `${type}/${n}`)), directive: Directive.NoFileComp };
}

function ancestry(cmd: Command): Command[] {
  const out: Command[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) out.push(c);
  return out;
}

function findOption(cmd: Command, flag: string): Option | undefined {
  for (const c of ancestry(cmd)) {
    const o = c.options.find((x) => x.long === flag || x.short === flag);
    if (o) return o;
  }
  return undefined;
}

function findCommand(cmd: Command, name: string): Command | undefined {
  return cmd.commands.find((c) => c.name() === name || c.aliases().includes(name));
}

/** The commands a user sees in help: hidden ones (`__complete`, the old `egress` group) are not offered. */
function visibleCommands(cmd: Command): Command[] {
  return cmd
    .createHelp()
    .visibleCommands(cmd)
    .filter((c) => !c.name().startsWith('_'));
}

/** Every visible flag of `cmd` and its ancestors (global flags work anywhere), long names first. */
function flagsOf(cmd: Command): string[] {
  const out: string[] = [];
  for (const c of ancestry(cmd))
    for (const o of c.options) {
      if (o.hidden) continue;
      if (o.long) out.push(`${o.long}\t${o.description}`);
      if (o.short) out.push(`${o.short}\t${o.description}`);
    }
  out.push('--help\tdisplay help for command');
  return [...new Set(out)];
}

/** cobra's wire format: candidates, then `:DIRECTIVE`. */
export function renderCompletion(c: Completion): string {
  return `${c.candidates.map((x) => `${x}\n`).join('')}:${c.directive}\n`;
}

/**
 * The cluster-backed lister: a client with a {@link LOOKUP_MS} deadline, names sorted; any failure
 * (no kubeconfig, unreachable, 403, not served, deadline) is no candidates.
 */
export function clusterLister(deps: Deps): Lister {
  return async (lookup, s) => {
    try {
      const { connectSettings, resolveNamespace } = await import('../options/global.js');
      const { resourcePath } = await import('../kube/resources.js');
      const global = {
        kubeconfig: s.kubeconfig,
        context: s.context,
        requestTimeoutMs: LOOKUP_MS,
        verbose: false,
      };
      const ns = s.namespace ?? (await resolveNamespace(global, undefined, deps.env));
      const client = await deps.kube({
        ...connectSettings(global, ns),
        deadline: { ms: LOOKUP_MS, flag: 'completion', startedAt: Date.now() },
        signal: deps.signal,
      });
      try {
        const kinds =
          lookup.what === 'namespaces' ? KINDS.filter((k) => k.kind === 'Namespace') : lookup.kinds;
        const lists = await Promise.all(
          kinds.map((k) =>
            client
              .get<{ items?: { metadata?: { name?: string } }[] }>(
                resourcePath(k, k.namespaced ? ns : undefined),
                {
                  what: `list ${k.plural}`,
                },
              )
              .then((l) => (l.items ?? []).map((i) => i.metadata?.name ?? ''))
              .catch(() => [] as string[]),
          ),
        );
        return [...new Set(lists.flat().filter(Boolean))].sort();
      } finally {
        client.close();
      }
    } catch {
      return [];
    }
  };
}

/** `__complete`, as main.ts runs it: always exit 0, the answer on stdout. */
export async function runComplete(root: Command, words: string[], deps: Deps): Promise<number> {
  // PowerShell's script passes an empty current word as `""` (older versions drop a bare empty argument).
  const typed =
    words.length > 0 ? words.map((w, i) => (i === words.length - 1 && w === '""' ? '' : w)) : [''];
  const c = await toCompletion(root, typed, clusterLister(deps));
  deps.out.write(renderCompletion(c));
  return 0;
}
