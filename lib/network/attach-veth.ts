/**
 * The first host round trip of an attach: the veth pair, its peer created in
 * the sandbox, and the bridge it goes on, read in the same round.
 * @module
 */
import { NotFoundError } from '../netlink/errors';
import { ENODEV } from '../netlink/errno';
import type { NetworkNamespace } from '../netns/namespace';
import { getLinkIdentity } from '../rtnetlink/link-identity';
import type { NetworkContext } from './context';
import { stepDone } from './fault';
import type { Rollback } from './settle';
import type { AttachmentRecord, NetworkRecord } from './state';

/**
 * The veth pair of an attachment, its peer created in the sandbox, in one host round trip: two requests
 * asked in the same tick (one sendmsg; the kernel runs them in order), the bridge's index by name and the
 * veth created down and without a master, whose echo gives both ends' indexes (links.add(); the peer's is
 * eth0's in the sandbox: no name lookups later; a kernel without the echo costs a read-back). The port is
 * enslaved and brought up by index in the next round, with its port flags (hairpin). The bridge's index is
 * never cached: it comes from this round's lookup, as the port goes on only if it succeeded. getLinkIdentity,
 * not links.get: index and kind only (no name lookups, no whole-link decode).
 */
export async function createVeth(
  ctx: NetworkContext,
  rec: NetworkRecord,
  att: AttachmentRecord,
  ns: NetworkNamespace,
  rollback: Rollback,
): Promise<{ hostIndex: number; peerIndex: number; bridgeIndex: number }> {
  const host = ctx.host;
  const bridge = host.run(getLinkIdentity(rec.bridge));
  bridge.catch(() => undefined);
  const added = host.links.add({
    name: att.hostIfname,
    kind: 'veth',
    group: rec.group,
    mtu: rec.mtu,
    peer: { name: att.ifname, netns: ns, mac: att.mac, mtu: rec.mtu },
  });
  // The undo is registered once the create is known to have succeeded (else the name may be someone else's).
  const link = await added;
  rollback.push(() => host.links.delete(link.index ?? att.hostIfname)); // by index: the name may reach another link by then
  stepDone('attachveth'); // the test hook's point of an unmarked veth in the network's group (no step of attach's)
  // Only a bridge of this name: a link of another kind that took the name is never a master here, nor
  // another bridge that carries the name as an altname (the kernel's lookup by name matches altnames).
  const br = await bridge;
  if (br.kind !== 'bridge' || br.name !== rec.bridge) throw new NotFoundError('bridge', { errno: ENODEV, operation: `attach to bridge ${rec.bridge}` });
  return { hostIndex: link.index ?? 0, peerIndex: link.peerIndex ?? 0, bridgeIndex: br.index };
}
