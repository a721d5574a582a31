/**
 * The network commands of the CLI — `net create|ls|inspect|rm`, `attach`,
 * `detach`, `publish`, `unpublish`, `ls`, `publications` — each a thin layer
 * over {@link NetworkManager} with human output and `--json`.
 * @module
 */
import { NlkitError, ValidationError } from '../netlink/errors';
import type { Attachment, NetworkInfo, NetworkManager, NetworkSpec } from '../network/manager';
import { publicationKey, type BackendSpec, type Publication, type PublishSpec } from '../network/publication';
import { flag, int, list, str, UsageError } from './args';
import type { Command, Context } from './command';
import { table } from './format';
import { findAttachment, parseBackend, parseNetnsRef, parsePortSpec, parsePublicationRef } from './specs';

// --- presentation ----------------------------------------------------------

function flagsOf(n: NetworkInfo): string {
  const f: string[] = [];
  if (n.internal) f.push('internal');
  if (!n.isolate) f.push('not isolated');
  if (!n.masquerade && !n.internal) f.push('no masquerade');
  if (n.mtu) f.push(`mtu ${n.mtu}`);
  return f.join(', ');
}

function subnets(n: NetworkInfo): string {
  let s = `subnet ${n.subnet} (gateway ${n.gateway})`;
  if (n.subnet6) s += `, subnet6 ${n.subnet6} (gateway ${n.gateway6})`;
  return s;
}

/** "*:8080/tcp", "127.0.0.1:53/udp", "[::1]:8000-8010/tcp" */
export function publishedAt(p: Publication): string {
  const ip = p.hostIp === undefined ? '*' : p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp;
  return `${ip}:${p.hostPort}${p.hostPortEnd ? `-${p.hostPortEnd}` : ''}/${p.protocol}`;
}

/** "c1 10.88.0.2:80 90%, c2 10.88.0.3:80 10%" */
export function backendsOf(p: Publication): string {
  const total = p.backends.reduce((s, b) => s + b.weight, 0);
  return p.backends
    .map((b) => {
      const addr = b.ipv4 ?? (b.ipv6 ? `[${b.ipv6}]` : '?');
      const share = p.backends.length > 1 ? ` ${Math.round((b.weight / total) * 100)}%` : '';
      return `${b.id ?? addr} ${addr}:${b.port}${share}`;
    })
    .join(', ');
}

function attachmentRows(atts: Attachment[], withNetwork: boolean): string[][] {
  const head = [...(withNetwork ? ['NETWORK'] : []), 'SANDBOX', 'INTERFACE', 'IPV4', 'IPV6', 'HOST SIDE', 'MAC'];
  return [head, ...atts.map((a) => [...(withNetwork ? [a.network] : []), a.id, a.ifname, a.ipv4 ?? '-', a.ipv6 ?? '-', a.hostIfname, a.mac])];
}

function publicationRows(pubs: Publication[], withNetwork: boolean): string[][] {
  const head = ['PUBLISHED', ...(withNetwork ? ['NETWORK'] : []), 'BACKENDS'];
  return [head, ...pubs.map((p) => [publishedAt(p), ...(withNetwork ? [p.network] : []), backendsOf(p)])];
}

function sandboxes(n: number): string {
  return `${n} sandbox${n === 1 ? '' : 'es'}`;
}

/** "c1, c2, c3" or "c1, c2, ... (500)" */
function names(ids: string[]): string {
  return ids.length <= 8 ? ids.join(', ') : `${ids.slice(0, 6).join(', ')}, ... (${ids.length})`;
}

// --- shared steps -----------------------------------------------------------

/** What the command names is not there (a network, an attachment, a published port). */
export class NotFoundError extends NlkitError {
  override name = 'NotFoundError';
}

async function mustInspect(nets: NetworkManager, name: string): Promise<NetworkInfo & { attachments: Attachment[] }> {
  const info = await nets.inspect(name);
  if (!info) throw new NotFoundError(`network ${JSON.stringify(name)} does not exist`);
  return info;
}

/**
 * Detaches the given attachments of a network. On a terminal, in chunks of
 * one bulk request each, with a progress line; otherwise in one request.
 * With `all`, whatever got attached meanwhile goes too.
 */
async function detachIds(ctx: Context, nets: NetworkManager, network: string, ids: string[], all: boolean): Promise<number> {
  const progress = ctx.progress();
  if (!progress.enabled || ids.length < 2) {
    if (all) return nets.detachAll(network);
    if (ids.length === 1) return (await nets.detach(network, { id: ids[0] })) ? 1 : 0;
    return nets.detachMany(network, ids);
  }
  const label = `detaching from ${network}`;
  const chunk = Math.max(5, Math.ceil(ids.length / 20));
  let n = 0;
  try {
    progress.update(label, 0, ids.length);
    for (let i = 0; i < ids.length; i += chunk) {
      n += await nets.detachMany(network, ids.slice(i, i + chunk));
      progress.update(label, Math.min(i + chunk, ids.length), ids.length);
    }
    if (all) n += await nets.detachAll(network);
  } finally {
    progress.clear();
  }
  return n;
}

// --- commands ---------------------------------------------------------------

const netCreate: Command = {
  name: 'net create',
  usage: 'net create NAME --subnet CIDR [options]',
  summary: 'Create a network: bridge, gateway address, forwarding, NAT and isolation rules.',
  description:
    'Creating a network that exists with the same subnet(s) and bridge changes nothing;\n' +
    'a different one is refused, as is a subnet overlapping another network.',
  options: [
    { name: 'subnet', value: 'CIDR', help: 'IPv4 subnet, e.g. 10.88.0.0/24 (required)' },
    { name: 'gateway', value: 'IP', help: 'IPv4 gateway on the bridge (default: the first address)' },
    { name: 'subnet6', value: 'CIDR', help: 'IPv6 subnet for dual stack, e.g. fd00:88::/64' },
    { name: 'gateway6', value: 'IP', help: 'IPv6 gateway (default: the first address)' },
    { name: 'bridge', value: 'NAME', help: 'bridge name (default nlk-NAME)' },
    { name: 'mtu', value: 'N', help: 'MTU of the bridge and of every veth (68-65535)' },
    { name: 'internal', help: 'no way out: no NAT, no forwarding to other interfaces' },
    { name: 'no-isolate', help: 'allow traffic to and from other nlkit networks' },
    { name: 'no-masquerade', help: 'do not masquerade traffic leaving through other interfaces' },
  ],
  args: [1, 1],
  argNames: ['NAME'],
  network: true,
  examples: [
    'nlkit net create web --subnet 10.88.0.0/24',
    'nlkit net create dual --subnet 10.89.0.0/24 --subnet6 fd00:89::/64 --mtu 1400',
    'nlkit net create backend --subnet 10.90.0.0/24 --internal   # no way out',
    'nlkit --host lab net create web --subnet 10.88.0.0/24        # inside namespace "lab"',
  ],
  async run(ctx, p) {
    const subnet = str(p, 'subnet');
    if (subnet === undefined) throw new UsageError('--subnet CIDR is required');
    const spec: NetworkSpec = { name: p.positionals[0], subnet };
    const gateway = str(p, 'gateway');
    const subnet6 = str(p, 'subnet6');
    const gateway6 = str(p, 'gateway6');
    const bridge = str(p, 'bridge');
    const mtu = int(p, 'mtu', 68, 65535);
    if (gateway6 !== undefined && subnet6 === undefined) throw new UsageError('--gateway6 needs --subnet6');
    if (gateway !== undefined) spec.gateway = gateway;
    if (subnet6 !== undefined) spec.subnet6 = subnet6;
    if (gateway6 !== undefined) spec.gateway6 = gateway6;
    if (bridge !== undefined) spec.bridge = bridge;
    if (mtu !== undefined) spec.mtu = mtu;
    if (flag(p, 'internal')) spec.internal = true;
    if (flag(p, 'no-isolate')) spec.isolate = false;
    if (flag(p, 'no-masquerade')) spec.masquerade = false;
    const nets = await ctx.manager();
    const existed = (await nets.list()).some((n) => n.name === spec.name);
    const rec = await nets.create(spec);
    if (ctx.json) return ctx.emit(rec);
    const extra = flagsOf(rec);
    ctx.say(`${existed ? 'network exists, unchanged' : 'created network'} ${rec.name}: bridge ${rec.bridge}, ${subnets(rec)}${extra ? `; ${extra}` : ''}`);
  },
};

const netLs: Command = {
  name: 'net ls',
  usage: 'net ls',
  summary: 'List the networks, with their numbers of sandboxes and published ports.',
  options: [],
  args: [0, 0],
  argNames: [],
  network: true,
  examples: ['nlkit net ls', 'nlkit net ls --json'],
  async run(ctx) {
    const nets = await ctx.manager();
    const all = await nets.list();
    if (ctx.json) return ctx.emit(all);
    if (all.length === 0) return ctx.say('no networks');
    const pubs = await nets.publications();
    const rows = [['NETWORK', 'BRIDGE', 'SUBNET', 'GATEWAY', 'SUBNET6', 'SANDBOXES', 'PORTS', 'FLAGS']];
    for (const n of all) {
      const info = await nets.inspect(n.name);
      const ports = pubs.filter((x) => x.network === n.name).length;
      rows.push([n.name, n.bridge, n.subnet, n.gateway, n.subnet6 ?? '-', String(info?.attachments.length ?? 0), String(ports), flagsOf(n) || '-']);
    }
    ctx.say(table(rows));
  },
};

const netInspect: Command = {
  name: 'net inspect',
  usage: 'net inspect NAME',
  summary: 'Show a network: settings, sandboxes and published ports.',
  options: [],
  args: [1, 1],
  argNames: ['NAME'],
  network: true,
  examples: ['nlkit net inspect web', "nlkit net inspect web --json | jq '.attachments[].ipv4'"],
  async run(ctx, p) {
    const nets = await ctx.manager();
    const info = await mustInspect(nets, p.positionals[0]);
    const pubs = (await nets.publications()).filter((x) => x.network === info.name);
    if (ctx.json) return ctx.emit({ ...info, publications: pubs });
    const rows: Array<[string, string]> = [
      ['network', info.name],
      ['bridge', info.bridge],
      ['subnet', `${info.subnet} (gateway ${info.gateway})`],
    ];
    if (info.subnet6) rows.push(['subnet6', `${info.subnet6} (gateway ${info.gateway6})`]);
    rows.push(['mtu', info.mtu ? String(info.mtu) : 'default'], ['outbound', info.internal ? 'none (internal)' : info.masquerade ? 'masquerade' : 'routed, no masquerade']);
    rows.push(['isolated', info.isolate ? 'yes' : 'no'], ['created', info.created]);
    ctx.say(rows.map(([k, v]) => `${k.padEnd(9)} ${v}`).join('\n'));
    ctx.say(`\n${sandboxes(info.attachments.length)}${info.attachments.length ? `:\n${table(attachmentRows(info.attachments, false))}` : ''}`);
    ctx.say(`\n${pubs.length} published port${pubs.length === 1 ? '' : 's'}${pubs.length ? `:\n${table(publicationRows(pubs, false))}` : ''}`);
  },
};

const netRm: Command = {
  name: 'net rm',
  usage: 'net rm NAME... [--missing-ok]',
  summary: 'Remove networks with their sandboxes, bridge, rules and published ports.',
  description: 'Namespaces that `nlkit attach --create` made are deleted too; others are left alone, minus their interface.',
  options: [{ name: 'missing-ok', help: 'a network that does not exist is not an error' }],
  args: [1, Infinity],
  argNames: ['NAME'],
  network: true,
  examples: ['nlkit net rm web', 'nlkit net rm web db --missing-ok'],
  async run(ctx, p) {
    const nets = await ctx.manager();
    const found: Array<{ name: string; ids: string[] }> = [];
    for (const name of new Set(p.positionals)) {
      const info = await nets.inspect(name);
      if (info) found.push({ name, ids: info.attachments.map((a) => a.id) });
      else if (!flag(p, 'missing-ok')) throw new NotFoundError(`network ${JSON.stringify(name)} does not exist`);
    }
    const removed: string[] = [];
    for (const { name, ids } of found) {
      // delete() detaches in one request too; this only adds progress on a terminal.
      if (ids.length > 1) await detachIds(ctx, nets, name, ids, true);
      await nets.delete(name);
      removed.push(name);
      if (!ctx.json) ctx.say(`removed network ${name}${ids.length ? ` (${sandboxes(ids.length)} detached)` : ''}`);
    }
    if (ctx.json) ctx.emit({ removed });
    else if (removed.length === 0) ctx.say('nothing to remove');
  },
};

const attach: Command = {
  name: 'attach',
  usage: 'attach NETWORK SANDBOX... [options]',
  summary: 'Attach sandboxes (namespaces) to a network: veth pair, address, default route.',
  description:
    'SANDBOX is a namespace: NAME (under /run/netns), a PID, or a /PATH to an nsfs file\n' +
    '(name:, pid: and path: prefixes force one reading). Attaching what is attached\n' +
    'prints the existing attachment. A failed attach undoes its own steps.',
  options: [
    { name: 'create', help: 'create a named namespace that does not exist (detach deletes it again)' },
    { name: 'ip', value: 'IP', help: 'IPv4 address to take (default: the next free one)' },
    { name: 'ip6', value: 'IP', help: 'IPv6 address to take (dual-stack networks)' },
    { name: 'ifname', value: 'NAME', help: 'interface name inside the sandbox (default eth0)' },
    { name: 'mac', value: 'MAC', help: 'MAC address of that interface (default: random, locally administered)' },
    { name: 'id', value: 'ID', help: 'name the attachment ID instead of after the sandbox' },
  ],
  args: [2, Infinity],
  argNames: ['NETWORK', 'SANDBOX'],
  network: true,
  examples: [
    'nlkit attach web c1 --create                # make namespace c1 and attach it',
    'nlkit attach web c2 --create --ip 10.88.0.50',
    'nlkit attach web 4242                        # the namespace of process 4242',
    'nlkit attach web /var/run/mycontainer/ns/net --id mycontainer',
    'nlkit attach web c3 c4 c5 --create          # several at once',
  ],
  async run(ctx, p) {
    const [network, ...refs] = p.positionals;
    const single = ['ip', 'ip6', 'mac', 'id'].filter((o) => p.options[o] !== undefined);
    if (refs.length > 1 && single.length) throw new UsageError(`--${single[0]} applies to one sandbox; got ${refs.length}`);
    const create = flag(p, 'create');
    const parsed = refs.map((r) => {
      const ref = parseNetnsRef(r, 'sandbox');
      if (create && typeof ref !== 'string') throw new UsageError(`--create needs a namespace name, not ${JSON.stringify(r)}`);
      return ref;
    });
    const nets = await ctx.manager();
    await mustInspect(nets, network);
    const progress = ctx.progress();
    const done: Attachment[] = [];
    try {
      for (const [i, sandbox] of parsed.entries()) {
        if (refs.length > 1) progress.update(`attaching to ${network}`, i, refs.length);
        done.push(
          await nets.attach(network, {
            sandbox,
            create: create || undefined,
            ip: str(p, 'ip'),
            ip6: str(p, 'ip6'),
            ifname: str(p, 'ifname'),
            mac: str(p, 'mac'),
            id: str(p, 'id'),
          }),
        );
      }
    } finally {
      progress.clear();
      if (!ctx.json) for (const a of done) ctx.say(`attached ${a.id} to ${a.network}: ${a.ifname} ${[a.ipv4, a.ipv6].filter(Boolean).join(' ')}, gateway ${a.gateway} (host side ${a.hostIfname}, mac ${a.mac})`);
    }
    if (ctx.json) ctx.emit(refs.length === 1 ? done[0] : done);
  },
};

const detach: Command = {
  name: 'detach',
  usage: 'detach NETWORK (SANDBOX... | --all) [--missing-ok]',
  summary: 'Detach sandboxes from a network, in one bulk kernel request.',
  description:
    'SANDBOX is the attachment id shown by `nlkit ls`, or the namespace as given to attach\n' +
    '(name, pid or path). Ports published to a detached sandbox lose that backend, and\n' +
    'go away with their last one. On a terminal, detaching many shows progress.',
  options: [
    { name: 'all', help: 'every sandbox of the network' },
    { name: 'missing-ok', help: 'a sandbox that is not attached is not an error' },
  ],
  args: [1, Infinity],
  argNames: ['NETWORK', 'SANDBOX'],
  network: true,
  examples: ['nlkit detach web c1', 'nlkit detach web c2 c3 c4', 'nlkit detach web --all'],
  async run(ctx, p) {
    const [network, ...refs] = p.positionals;
    const all = flag(p, 'all');
    if (all && refs.length) throw new UsageError('give SANDBOX... or --all, not both');
    if (!all && !refs.length) throw new UsageError('missing SANDBOX (or --all)');
    const nets = await ctx.manager();
    const info = await mustInspect(nets, network);
    let ids: string[];
    if (all) {
      ids = info.attachments.map((a) => a.id);
    } else {
      ids = [];
      for (const r of refs) {
        const a = findAttachment(r, info.attachments);
        if (a) {
          if (!ids.includes(a.id)) ids.push(a.id);
        } else if (!flag(p, 'missing-ok')) {
          throw new NotFoundError(`sandbox ${JSON.stringify(r)} is not attached to network ${network} (see nlkit ls ${network})`);
        }
      }
    }
    const n = ids.length || all ? await detachIds(ctx, nets, network, ids, all) : 0;
    if (ctx.json) return ctx.emit({ network, detached: ids });
    ctx.say(n ? `detached ${sandboxes(n)} from ${network}: ${names(ids)}` : `nothing to detach from ${network}`);
  },
};

const publish: Command = {
  name: 'publish',
  usage: 'publish NETWORK [HOSTIP:]HOSTPORT[:CONTAINERPORT][/PROTO] --to SANDBOX[:PORT][=WEIGHT]... [options]',
  summary: 'Publish a host port to a sandbox, or to several with weights (canaries).',
  description:
    'HOSTPORT may be a range (8000-8010, to one sandbox, same ports inside). PROTO is tcp\n' +
    '(default) or udp. Each --to names an attached sandbox, optionally with its own port\n' +
    'and a weight (relative share of new connections, default 1). An IPv6 host address\n' +
    'is written in brackets: [::1]:8080:80. Publishing the same thing again is a no-op;\n' +
    'with --replace an existing publication gets the new backends and weights in one\n' +
    'atomic step (established connections keep their backend).',
  options: [
    { name: 'to', value: 'SANDBOX[:PORT][=WEIGHT]', multiple: true, help: 'a backend (required)' },
    { name: 'host-ip', value: 'IP', help: 'publish on this host address only, e.g. 127.0.0.1' },
    { name: 'replace', help: 'change the backends of an existing publication' },
  ],
  args: [2, 2],
  argNames: ['NETWORK', 'HOSTPORT'],
  network: true,
  examples: [
    'nlkit publish web 8080:80 --to c1                     # host :8080 -> c1:80',
    'nlkit publish web 80 --to c1=90 --to c2=10            # 90/10 canary',
    'nlkit publish web 80 --to c1=50 --to c2=50 --replace  # shift the weights',
    'nlkit publish web 127.0.0.1:5353:53/udp --to dns      # local-only UDP',
    'nlkit publish web 8000-8010 --to c1                   # a port range',
  ],
  async run(ctx, p) {
    const [network, portArg] = p.positionals;
    const port = parsePortSpec(portArg);
    const hostIp = str(p, 'host-ip');
    if (hostIp !== undefined && port.hostIp !== undefined && hostIp !== port.hostIp) throw new UsageError(`--host-ip ${hostIp} contradicts ${portArg}`);
    const tos = list(p, 'to').map(parseBackend);
    if (tos.length === 0) throw new UsageError('missing --to SANDBOX (the backend)');
    const nets = await ctx.manager();
    const info = await mustInspect(nets, network);
    const backends: BackendSpec[] = tos.map((b) => {
      const spec: BackendSpec = { id: findAttachment(b.sandbox, info.attachments)?.id ?? b.sandbox };
      if (b.port !== undefined) spec.port = b.port;
      if (b.weight !== undefined) spec.weight = b.weight;
      return spec;
    });
    const spec: PublishSpec = { network, hostPort: port.hostPort };
    if (port.protocol) spec.protocol = port.protocol;
    if (hostIp ?? port.hostIp) spec.hostIp = hostIp ?? port.hostIp;
    if (port.containerPort !== undefined) spec.containerPort = port.containerPort;
    if (backends.length === 1 && backends[0].port === undefined && backends[0].weight === undefined) spec.to = backends[0].id;
    else spec.backends = backends;

    const key = publicationKey(spec);
    const existing = (await nets.publications()).find((x) => x.key === key);
    let pub: Publication;
    let verb = 'published';
    if (flag(p, 'replace') && existing) {
      if (existing.network !== network) throw new ValidationError('port', portArg, `is published on network ${existing.network}, not ${network}`);
      const cport = spec.containerPort;
      pub = await nets.setBackends(spec, backends.map((b) => (b.port === undefined && cport !== undefined ? { ...b, port: cport } : b)));
      verb = 'replaced';
    } else {
      pub = await nets.publish(spec);
    }
    if (ctx.json) return ctx.emit(pub);
    ctx.say(`${verb} ${publishedAt(pub)} on network ${pub.network} -> ${backendsOf(pub)}`);
  },
};

const unpublish: Command = {
  name: 'unpublish',
  usage: 'unpublish NETWORK [HOSTIP:]HOSTPORT[/PROTO]... [--host-ip IP] [--missing-ok]',
  summary: 'Stop publishing ports (and cut their tracked connections).',
  description: 'A port is named as published (8080, 5353/udp, 127.0.0.1:8080) or by its key as listed by\n`nlkit publications --json` (tcp:*:8080).',
  options: [
    { name: 'host-ip', value: 'IP', help: 'the host address it was published on' },
    { name: 'missing-ok', help: 'a port that is not published is not an error' },
  ],
  args: [2, Infinity],
  argNames: ['NETWORK', 'HOSTPORT'],
  network: true,
  examples: ['nlkit unpublish web 8080', 'nlkit unpublish web 127.0.0.1:5353/udp 80'],
  async run(ctx, p) {
    const [network, ...ports] = p.positionals;
    const hostIp = str(p, 'host-ip');
    const refs = ports.map((s) => {
      const r = parsePublicationRef(s);
      if (hostIp !== undefined && r.hostIp !== undefined && r.hostIp !== hostIp) throw new UsageError(`--host-ip ${hostIp} contradicts ${s}`);
      return { ...r, hostIp: r.hostIp ?? hostIp };
    });
    const nets = await ctx.manager();
    await mustInspect(nets, network);
    const pubs = await nets.publications();
    const todo: Publication[] = [];
    for (const [i, r] of refs.entries()) {
      const key = publicationKey(r);
      const pub = pubs.find((x) => x.key === key && x.network === network);
      if (pub) todo.push(pub);
      else if (!flag(p, 'missing-ok')) {
        const there = pubs.filter((x) => x.network === network).map(publishedAt);
        throw new NotFoundError(`${JSON.stringify(ports[i])} is not published on network ${network} (published there: ${there.length ? there.join(', ') : 'nothing'})`);
      }
    }
    for (const pub of todo) {
      await nets.unpublish({ protocol: pub.protocol, hostPort: pub.hostPortEnd ? `${pub.hostPort}-${pub.hostPortEnd}` : pub.hostPort, hostIp: pub.hostIp });
      if (!ctx.json) ctx.say(`unpublished ${publishedAt(pub)} on network ${network}`);
    }
    if (ctx.json) ctx.emit({ network, unpublished: todo.map((x) => x.key) });
    else if (!todo.length) ctx.say('nothing to unpublish');
  },
};

const ls: Command = {
  name: 'ls',
  usage: 'ls [NETWORK]',
  summary: 'List attached sandboxes, of every network or of one.',
  options: [],
  args: [0, 1],
  argNames: ['NETWORK'],
  network: true,
  examples: ['nlkit ls', 'nlkit ls web --json'],
  async run(ctx, p) {
    const nets = await ctx.manager();
    const which = p.positionals.length ? [p.positionals[0]] : (await nets.list()).map((n) => n.name);
    const atts: Attachment[] = [];
    for (const n of which) atts.push(...(await mustInspect(nets, n)).attachments);
    if (ctx.json) return ctx.emit(atts);
    ctx.say(atts.length ? table(attachmentRows(atts, true)) : 'no sandboxes attached');
  },
};

const publications: Command = {
  name: 'publications',
  usage: 'publications [NETWORK]',
  summary: 'List published ports and their backends.',
  options: [],
  args: [0, 1],
  argNames: ['NETWORK'],
  network: true,
  examples: ['nlkit publications', 'nlkit publications web --json'],
  async run(ctx, p) {
    const nets = await ctx.manager();
    const network = p.positionals[0];
    if (network !== undefined) await mustInspect(nets, network);
    const pubs = (await nets.publications()).filter((x) => network === undefined || x.network === network);
    if (ctx.json) return ctx.emit(pubs);
    ctx.say(pubs.length ? table(publicationRows(pubs, true)) : 'no published ports');
  },
};

/** The `nlkit net ...` subcommands. */
export const NET_COMMANDS: Command[] = [netCreate, netLs, netInspect, netRm];
/** The top-level network commands. */
export const NETWORK_COMMANDS: Command[] = [attach, detach, publish, unpublish, ls, publications];
