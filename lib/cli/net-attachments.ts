/**
 * The attachment commands of the CLI — `attach`, `detach`, `ls` — each a
 * thin layer over {@link NetworkManager} with human output and `--json`.
 * @module
 */
import type { Attachment, NetworkManager } from '../network/manager';
import { flag, str, UsageError } from './args';
import type { Command, Context } from './command';
import { table } from './format';
import { attachmentRows, mustFind, names, notFound, sandboxes } from './net-common';
import { findAttachment, parseNetnsRef } from './specs';

/**
 * Detaches the given attachments of a network. On a terminal, in chunks of
 * one bulk request each, with a progress line; otherwise in one request.
 * With `all`, whatever got attached meanwhile goes too.
 */
export async function detachIds(ctx: Context, nets: NetworkManager, network: string, ids: string[], all: boolean): Promise<number> {
  const progress = ctx.progress();
  if (!progress.enabled || ids.length < 2) {
    if (all) return nets.detachAll(network);
    return nets.detach(
      network,
      ids.map((id) => ({ id })),
      { missingOk: true },
    );
  }
  const label = `detaching from ${network}`;
  const chunk = Math.max(5, Math.ceil(ids.length / 20));
  let n = 0;
  try {
    progress.update(label, 0, ids.length);
    for (let i = 0; i < ids.length; i += chunk) {
      n += await nets.detach(
        network,
        ids.slice(i, i + chunk).map((id) => ({ id })),
        { missingOk: true },
      );
      progress.update(label, Math.min(i + chunk, ids.length), ids.length);
    }
    if (all) n += await nets.detachAll(network);
  } finally {
    progress.clear();
  }
  return n;
}

export const attach: Command = {
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
    await mustFind(nets, network);
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
      if (!ctx.json)
        for (const a of done)
          ctx.say(
            `attached ${a.id} to ${a.network}: ${a.ifname} ${[a.ipv4, a.ipv6].filter(Boolean).join(' ')}, gateway ${a.gateway} (host side ${a.hostIfname}, mac ${a.mac})`,
          );
    }
    if (ctx.json) ctx.emit(refs.length === 1 ? done[0] : done);
  },
};

export const detach: Command = {
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
    const info = await mustFind(nets, network);
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
          throw notFound('attachment', `sandbox ${JSON.stringify(r)} is not attached to network ${network} (see nlkit ls ${network})`);
        }
      }
    }
    const n = ids.length || all ? await detachIds(ctx, nets, network, ids, all) : 0;
    if (ctx.json) {
      ctx.emit({ network, detached: ids });
      return;
    }
    ctx.say(n ? `detached ${sandboxes(n)} from ${network}: ${names(ids)}` : `nothing to detach from ${network}`);
  },
};

export const ls: Command = {
  name: 'ls',
  usage: 'ls [NETWORK]',
  summary: 'List attached sandboxes, of every network or of one.',
  options: [],
  args: [0, 1],
  argNames: ['NETWORK'],
  network: true,
  examples: ['nlkit ls', 'nlkit ls web --json'],
  async run(ctx, p) {
    const nets = ctx.records(); // reads the records only: no socket
    const which = p.positionals.length ? [p.positionals[0]] : (await nets.list()).map((n) => n.name);
    const atts: Attachment[] = [];
    for (const n of which) atts.push(...(await mustFind(nets, n)).attachments);
    if (ctx.json) {
      ctx.emit(atts);
      return;
    }
    ctx.say(atts.length ? table(attachmentRows(atts, true)) : 'no sandboxes attached');
  },
};
