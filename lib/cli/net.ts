/**
 * The network commands of the CLI — `net create|ls|inspect|rm` here;
 * `attach`, `detach`, `ls` in net-attachments.ts and `publish`,
 * `unpublish`, `publications` in net-publishing.ts — each a thin layer over
 * `NetworkManager` (lib/network/manager.ts) with human output and `--json`.
 * @module
 */
import type { NetworkSpec } from '../network/manager';
import { flag, int, str, UsageError } from './args';
import type { Command } from './command';
import { table } from './format';
import { attach, detach, detachIds, ls } from './net-attachments';
import { attachmentRows, flagsOf, mustFind, notFound, publicationRows, sandboxes, subnets } from './net-common';
import { publications, publish, unpublish } from './net-publishing';

export { backendsOf, publishedAt } from './net-common';

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
    { name: 'internal', help: 'no way out: no NAT, no forwarding to other interfaces; no published ports' },
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
    const existed = (await nets.find(spec.name)) !== undefined;
    const rec = await nets.create(spec);
    if (ctx.json) {
      ctx.emit(rec);
      return;
    }
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
    const nets = ctx.records(); // reads the records only: no socket
    const all = await nets.list();
    if (ctx.json) {
      ctx.emit(all);
      return;
    }
    if (all.length === 0) {
      ctx.say('no networks');
      return;
    }
    const pubs = await nets.publications.list();
    const rows = [['NETWORK', 'BRIDGE', 'SUBNET', 'GATEWAY', 'SUBNET6', 'SANDBOXES', 'PORTS', 'FLAGS']];
    for (const n of all) {
      const info = await nets.find(n.name);
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
    const nets = ctx.records(); // reads the records only: no socket
    const info = await mustFind(nets, p.positionals[0]);
    const pubs = await nets.publications.list({ network: info.name });
    if (ctx.json) {
      ctx.emit({ ...info, publications: pubs });
      return;
    }
    const rows: Array<[string, string]> = [
      ['network', info.name],
      ['bridge', info.bridge],
      ['subnet', `${info.subnet} (gateway ${info.gateway})`],
    ];
    if (info.subnet6) rows.push(['subnet6', `${info.subnet6} (gateway ${info.gateway6})`]);
    rows.push(
      ['mtu', info.mtu ? String(info.mtu) : 'default'],
      ['outbound', info.internal ? 'none (internal)' : info.masquerade ? 'masquerade' : 'routed, no masquerade'],
    );
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
      const info = await nets.find(name);
      if (info) found.push({ name, ids: info.attachments.map((a) => a.id) });
      else if (!flag(p, 'missing-ok')) throw notFound('network', `network ${JSON.stringify(name)} does not exist`);
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

/** The `nlkit net ...` subcommands. */
export const NET_COMMANDS: Command[] = [netCreate, netLs, netInspect, netRm];
/** The top-level network commands. */
export const NETWORK_COMMANDS: Command[] = [attach, detach, publish, unpublish, ls, publications];
