/**
 * What the host namespace already has that a new network would collide
 * with: an interface under the bridge's name (only a leftover of this very
 * network, by its ownership mark, may be replaced; nlkit never takes over an
 * interface someone made with `ip`), and routes or addresses overlapping
 * its subnets (the containers' traffic would go the wrong way, or theirs).
 * @module
 */
import { ValidationError } from '../netlink/errors';
import type { Link } from '../rtnetlink/link-types';
import { parseCidr, type Cidr } from '../validate/ip';
import type { NetworkContext } from './context';
import { bridgeMark, parseMark } from './names';
import type { HostState, NetworkRecord } from './state';

/**
 * The leftover bridge of network `rec` (a lost state's, marked with this
 * state directory's tag and the network's name), to be replaced; undefined if
 * the name is free. Any other interface of that name is a ValidationError.
 */
export async function leftoverBridge(ctx: NetworkContext, rec: NetworkRecord): Promise<Link | undefined> {
  const link = await ctx.host.links.find(rec.bridge);
  if (!link) return undefined;
  const mark = parseMark(link.alias);
  if (link.kind === 'bridge' && mark?.tag === ctx.store.tag && mark.network === rec.name && mark.id === undefined) return link;
  throw new ValidationError(
    'bridge',
    rec.bridge,
    `an interface of that name exists and is not a leftover of network ${rec.name} (its alias is ${JSON.stringify(link.alias ?? '')}, ` +
      `nlkit's would be "${bridgeMark(ctx.store.tag, rec.name)}"): nlkit does not take over interfaces it did not make; choose another bridge name or delete it`,
  );
}

/**
 * Refuses subnets that overlap a route of the host's main table or an
 * address of the host (default routes, and the bridges of recorded networks
 * and of the leftover being replaced, aside).
 */
export async function checkHostOverlap(ctx: NetworkContext, rec: NetworkRecord, st: HostState, replacing?: Link): Promise<void> {
  const own = new Set(Object.values(st.networks).map((n) => n.bridge));
  if (replacing) own.add(replacing.name);
  const links = new Map((await ctx.host.links.list()).map((l) => [l.index, l.name]));
  const ours = (index: number | undefined) => index !== undefined && own.has(links.get(index) ?? '');
  const subnets: Array<[string, string]> = [['subnet', rec.subnet]];
  if (rec.subnet6) subnets.push(['subnet6', rec.subnet6]);
  for (const [field, subnet] of subnets) {
    const mine = parseCidr(subnet, field);
    const family = mine.family;
    for (const r of await ctx.host.routes.list({ family })) {
      if (r.dstLength === 0 || ours(r.link)) continue;
      if (overlap(mine, parseCidr(r.dst))) {
        throw new ValidationError(
          field,
          subnet,
          `overlaps the host's route to ${r.dst}${r.linkName ? ` via ${r.linkName}` : ''} (give overlapOk: true if that is intended)`,
        );
      }
    }
    for (const a of await ctx.host.addresses.list({ family })) {
      if (ours(a.link)) continue;
      if (overlap(mine, parseCidr(a.cidr))) {
        throw new ValidationError(
          field,
          subnet,
          `overlaps the host's address ${a.cidr}${a.linkName ? ` on ${a.linkName}` : ''} (give overlapOk: true if that is intended)`,
        );
      }
    }
  }
}

/** Whether two prefixes of one family share an address: their first min(length) bits agree. */
function overlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const bits = Math.min(a.prefixLength, b.prefixLength);
  for (let i = 0; i < bits; i++) {
    const mask = 0x80 >> (i & 7);
    if ((a.bytes[i >> 3] & mask) !== (b.bytes[i >> 3] & mask)) return false;
  }
  return true;
}
