import { Command, Option } from 'commander';
import { addAllNamespacesFlag, addNamespaceFlag, withExamples, type CliContext } from './context.js';

/** Flags shared by every command that writes objects (`allow`, `deny`, `route`, `delete`). */
function addApplyFlags(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--dry-run [strategy]',
        'none, client (print, contact nothing) or server (validate on the server)',
      )
        .choices(['none', 'client', 'server'])
        .preset('client'),
    )
    .addOption(
      new Option('-o, --output <format>', 'print the objects as yaml or json').choices([
        'yaml',
        'json',
        'name',
      ]),
    )
    .option('--diff', 'show what would change against the live objects, and change nothing')
    .option('--field-manager <name>', 'server-side apply field manager', 'egressctl')
    .option('--no-force-conflicts', 'fail on field-manager conflicts instead of taking the fields over');
}

function addScopeFlags(cmd: Command): Command {
  addNamespaceFlag(cmd);
  return cmd
    .option(
      '--global',
      'write to the global egress namespace (shared by namespaces that have no EgressNetwork)',
    )
    .option('--egress-namespace <ns>', "the policy controller's global egress namespace", 'linkerd-egress');
}

export function registerEgress(program: Command, ctx: CliContext): void {
  const egress = new Command('egress').description(
    'See and shape egress traffic (EgressNetworks and their routes)',
  );

  // ── see ──
  const stat = new Command('stat')
    .description('Egress traffic per network, route and host, with what the policy did to it')
    .argument('[target]', 'TYPE/NAME: po|pod, deploy, sts, ds, rs, rc, job or cj')
    .option('-l, --selector <selector>', 'pods matching a label selector')
    .option('--all', 'every pod in the namespace (the default when no target is given)')
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['table', 'wide', 'json', 'yaml'])
        .default('table'),
    )
    .addOption(
      new Option('--by <dimension>', 'group rows by')
        .choices(['network', 'route', 'host', 'pod'])
        .default('host'),
    )
    .option('--interval <duration>', 'scrape twice this far apart and show rates (0: totals only)', '0')
    .option('-w, --watch', 'refresh every --interval (default 10s) until Ctrl-C')
    .option(
      '--fail-on-deny',
      'exit 1 when denied traffic is seen (in the rate window when --interval is set)',
    )
    .option('--max-concurrency <n>', 'pods scraped at once', '16')
    .option('--timeout <duration>', 'deadline for each scrape round', '30s')
    .option('--pod-timeout <duration>', 'deadline for each pod', '10s');
  addNamespaceFlag(stat);
  addAllNamespacesFlag(stat);
  withExamples(
    stat,
    `
  egressctl egress stat -n egress-test po/client
  egressctl egress stat -n egress-test deploy/web --by route --interval 10s
  egressctl egress stat -A --watch
  egressctl egress stat -n payments --all --interval 30s --fail-on-deny -o json   # CI gate`,
  );
  ctx.action(stat, () => import('../commands/egress-stat.js'));
  egress.addCommand(stat);

  // ── change ──
  const deny = new Command('deny')
    .description("Set an EgressNetwork's trafficPolicy to Deny (creating it if missing)")
    .argument('[name]', 'EgressNetwork name', 'all-egress-traffic')
    .option('--network <cidr>', 'CIDR[,except=CIDR...] captured by the network (repeatable)', collect, [])
    .option(
      '--cluster-networks <cidrs>',
      "the cluster's networks",
      '10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8',
    );
  addScopeFlags(deny);
  addApplyFlags(deny);
  withExamples(
    deny,
    `
  egressctl egress deny -n egress-test
  egressctl egress deny -n egress-test --dry-run=client -o yaml | kubectl apply -f -
  egressctl egress deny --global --network 0.0.0.0/0,except=10.0.0.0/8`,
  );
  ctx.action(deny, () => import('../commands/egress-policy.js'));
  egress.addCommand(deny);

  const allow = new Command('allow')
    .description('Allow egress: with no URL, set trafficPolicy Allow; with URLs, add a route for each')
    .argument(
      '[url...]',
      'http://host[:port][/path], https://host[:port], grpc://host:port[/svc[/method]], tcp://:port',
    )
    .option('--network-name <name>', 'the EgressNetwork the routes attach to', 'all-egress-traffic')
    .option('--exact', 'match http:// paths exactly instead of by prefix')
    .option(
      '--network <cidr>',
      'CIDR[,except=CIDR...] captured by the network (repeatable; no URL form only)',
      collect,
      [],
    )
    .option(
      '--cluster-networks <cidrs>',
      "the cluster's networks",
      '10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8',
    );
  addScopeFlags(allow);
  addApplyFlags(allow);
  withExamples(
    allow,
    `
  egressctl egress allow -n egress-test                             # trafficPolicy: Allow
  egressctl egress allow -n egress-test http://httpbin.org/get      # an HTTPRoute for GET /get
  egressctl egress allow -n egress-test https://httpbin.org         # a TLSRoute on SNI httpbin.org
  egressctl egress allow -n egress-test 'https://*.github.com' grpc://grpcb.in:9000 tcp://:5432`,
  );
  ctx.action(allow, () => import('../commands/egress-policy.js'));
  egress.addCommand(allow);

  const route = new Command('route')
    .description('Build any Gateway API route on an EgressNetwork (http, grpc, tls, tcp)')
    .argument('<type>', 'http, grpc, tls or tcp')
    .argument('<name>', 'route name')
    .option('--network <name>', 'the parent EgressNetwork', 'all-egress-traffic')
    .option('--port <n>', 'the parent port (the original destination port)')
    .option('--hostname <host>', 'hostname to match, wildcards allowed (repeatable)', collect, [])
    .option('--path <path>', 'HTTP path to match')
    .addOption(
      new Option('--path-type <type>', 'how --path matches')
        .choices(['Exact', 'PathPrefix', 'RegularExpression'])
        .default('PathPrefix'),
    )
    .option('--method <method>', 'HTTP method, or gRPC service[/method]')
    .option('--header <k=v>', 'header to match (repeatable)', collect, [])
    .option(
      '--backend <ref>',
      'svc/NAME:PORT (redirect to a Service) or egress (on to the original host)',
      'egress',
    );
  addScopeFlags(route);
  addApplyFlags(route);
  withExamples(
    route,
    `
  egressctl egress route http httpbin-get -n egress-test --port 80 --hostname httpbin.org --path /get --method GET
  egressctl egress route tls tls-egress -n egress-test --port 443 --hostname httpbin.org
  egressctl egress route http unencrypted-http -n egress-test --port 80 --backend svc/internal-egress:80
  egressctl egress route tcp postgres -n egress-test --port 5432 --dry-run=client -o yaml`,
  );
  ctx.action(route, () => import('../commands/egress-route.js'));
  egress.addCommand(route);

  const get = new Command('get')
    .description('Show EgressNetworks with their policy, networks, status and attached routes')
    .argument('[name]', 'EgressNetwork name')
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['table', 'yaml', 'json'])
        .default('table'),
    );
  addNamespaceFlag(get);
  addAllNamespacesFlag(get);
  withExamples(
    get,
    `
  egressctl egress get -n egress-test
  egressctl egress get -A -o yaml`,
  );
  ctx.action(get, () => import('../commands/egress-get.js'));
  egress.addCommand(get);

  const del = new Command('delete')
    .description('Delete an EgressNetwork or a route')
    .argument(
      '<kind/name...>',
      'egressnetwork/NAME, httproute/NAME, grpcroute/NAME, tlsroute/NAME, tcproute/NAME',
    )
    .option('--ignore-not-found', 'treat a missing object as deleted');
  addNamespaceFlag(del);
  del.addOption(
    new Option('--dry-run [strategy]', 'none, client or server')
      .choices(['none', 'client', 'server'])
      .preset('client'),
  );
  withExamples(
    del,
    `
  egressctl egress delete -n egress-test httproute/httpbin-get
  egressctl egress delete -n egress-test egressnetwork/all-egress-traffic --dry-run=server`,
  );
  ctx.action(del, () => import('../commands/egress-delete.js'));
  egress.addCommand(del);

  // ── know before you ship ──
  const check = new Command('check')
    .description(
      "Would this request be allowed? Explains the decision with Linkerd's rules (exit 0 yes, 1 no)",
    )
    .argument('[url]', 'http://host/path, https://host, grpc://host:port/svc/method, tcp://host:port')
    .option('--from <pod>', 'the client pod (po/NAME); its namespace is the client namespace')
    .option(
      '-f, --filename <path>',
      'read objects from files or directories instead of the cluster (repeatable)',
      collect,
      [],
    )
    .option('--ip <address>', 'the destination IP, when known')
    .option('--method <method>', 'HTTP method', 'GET')
    .option('--header <k=v>', 'request header (repeatable)', collect, [])
    .option('--cases <file>', 'check every case in a cases file (exit 1 if any fails)')
    .option('--assume-accepted', 'treat routes without status as Accepted (default for files)')
    .option('--egress-namespace <ns>', "the policy controller's global egress namespace", 'linkerd-egress')
    .option(
      '--cluster-networks <cidrs>',
      "the cluster's networks",
      '10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8',
    )
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['text', 'json', 'junit']).default('text'),
    );
  addNamespaceFlag(check);
  withExamples(
    check,
    `
  egressctl egress check -n payments https://api.stripe.com
  egressctl egress check -n egress-test http://httpbin.org/get --method POST -f manifests/
  egressctl egress check --cases examples/guide-cases.yaml -f examples/guide/ -o junit > report.xml`,
  );
  ctx.action(check, () => import('../commands/egress-check.js'));
  egress.addCommand(check);

  const lint = new Command('lint')
    .description('Find egress policy mistakes Linkerd would silently ignore or reject (exit 1 on errors)')
    .option(
      '-f, --filename <path>',
      'lint files or directories instead of the cluster (repeatable)',
      collect,
      [],
    )
    .option('--egress-namespace <ns>', "the policy controller's global egress namespace", 'linkerd-egress')
    .option(
      '--cluster-networks <cidrs>',
      "the cluster's networks",
      '10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8',
    )
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'),
    );
  addNamespaceFlag(lint);
  addAllNamespacesFlag(lint);
  withExamples(
    lint,
    `
  egressctl egress lint -f manifests/
  egressctl egress lint -A -o json`,
  );
  ctx.action(lint, () => import('../commands/egress-lint.js'));
  egress.addCommand(lint);

  program.addCommand(egress);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
