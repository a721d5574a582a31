/**
 * The first host round trip of an attach: the veth pair, its peer created in
 * the sandbox, and the bridge it goes on, read in the same round.
 * @module
 */
import type { NetworkNamespace } from '../netns/namespace';
import { getLinkOwnership } from '../rtnetlink/link-identity';
import { bridgeRefOf, needsGatewayProof, notNetworksBridge } from './bridge-owner';
import type { NetworkContext } from './context';
import { ForeignBridgeError } from './errors';
import { stepDone } from './fault';
import { whyNotNetworksBridge } from './network-bridge';
import type { Rollback } from './settle';
import type { AttachmentRecord, NetworkRecord } from './state';

/**
 * The veth pair of an attachment, its peer created in the sandbox, in one host round trip: two requests
 * asked in the same tick (one sendmsg; the kernel runs them in order), the bridge's index by name and the
 * veth created down and without a master, whose echo gives both ends' indexes (links.add(); the peer's is
 * eth0's in the sandbox: no name lookups later; a kernel without the echo costs a read-back). The port is
 * enslaved and brought up by index in the next round, with its port flags (hairpin). The bridge's index is
 * never cached: it comes from this round's lookup, as the port goes on only if it succeeded. The same reply
 * proves the link nlkit's bridge of the network (its name, kind, mark and MAC: bridge-owner.ts), else the attach
 * is refused (ForeignBridgeError) and undone: the name may have come to reach a bridge someone made since.
 * getLinkOwnership, not links.get: a few attributes (no name lookups, no whole-link decode); only an unmarked
 * bridge of a record without a MAC (0.1.0) costs a read more, of its addresses (the gateway proves it).
 */
export async function createVeth(
  ctx: NetworkContext,
  rec: NetworkRecord,
  att: AttachmentRecord,
  ns: NetworkNamespace,
  rollback: Rollback,
): Promise<{ hostIndex: number; peerIndex: number; bridgeIndex: number }> {
  const host = ctx.host;
  const bridge = host.run(getLinkOwnership(rec.bridge));
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
  // Only nlkit's bridge of this network: never a bridge someone made under the name, another network's, a link of
  // another kind, nor a link that carries the name as an altname (the kernel's lookup by name matches altnames).
  const br = await bridge;
  const ref = bridgeRefOf(rec);
  // Decided from this reply alone, without another hop, but for a 0.1.0 record's unmarked bridge (its addresses read).
  const why = needsGatewayProof(ref, br) ? await whyNotNetworksBridge(ctx, ref, br) : notNetworksBridge(ctx.store.tag, ref, br, undefined);
  if (why !== undefined) throw new ForeignBridgeError(`attach ${att.id} to ${rec.name}`, rec.name, rec.bridge, why);
  return { hostIndex: link.index ?? 0, peerIndex: link.peerIndex ?? 0, bridgeIndex: br.index };
}
