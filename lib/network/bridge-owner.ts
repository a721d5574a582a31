/**
 * Whether the link a network's bridge name reaches is still nlkit's bridge
 * of that network. The bridge is recorded by name, and the name may have come
 * to reach another link since nlkit made it: a bridge someone made with `ip`
 * after nlkit's was deleted, another network's or runtime's bridge, a link of
 * another kind, a link carrying the name as an altname. Network delete,
 * check() and reconcile's rebuild all ask this before they touch the link;
 * nothing here reads the kernel (the callers pass what they read).
 * @module
 */
import type { Link } from '../rtnetlink/link-types';
import { poolOf } from './address-pool';
import { bridgeMark, parseMark } from './names';
import type { HostState, NetworkRecord } from './state';

/** A network's bridge as recorded: the network, the bridge's name and the MAC recorded for it (absent in older records). */
export interface BridgeRef {
  network: string;
  bridge: string;
  mac?: string;
  /** The network's gateway with its prefix ("10.0.0.1/24"): the proof of a bridge of a record without a MAC. */
  gateway?: string;
}

/**
 * What the proof reads of the link a bridge name reaches: a decoded link (`links.get`, a dump) has it, and so has
 * the cheap read of attach's round trip (getLinkOwnership, lib/rtnetlink/link-identity.ts).
 */
export interface BridgeCandidate {
  index: number;
  /** The link's own name (the lookup by name also matches an altname). */
  name?: string;
  kind?: string;
  alias?: string;
  mac?: string;
}

/** The bridge a network record names, with what proves a link nlkit's bridge of it. */
export function bridgeRefOf(rec: NetworkRecord): BridgeRef {
  const gateway = poolOf(rec.subnet, rec.gateway).withPrefix(rec.gateway); // cached: attach asks this on every call
  return { network: rec.name, bridge: rec.bridge, mac: rec.mac, gateway };
}

/**
 * Why `link`, found by network `network`'s bridge name, is not nlkit's bridge of it (so not to delete), or
 * undefined when it is: a bridge with the network's mark, or unmarked with the bridge MAC the network recorded
 * (a create that died between adding and marking it). An unmarked bridge is not proof by itself: one made with
 * `ip link add … type bridge` is unmarked too; a record of an earlier version has no MAC (notNetworksBridge
 * then looks for the gateway that version put on its bridge). A link that took the name since (nlkit's bridge deleted, the user's made) is not nlkit's.
 */
export function notOurBridge(tag: string, network: string, link: BridgeCandidate, mac: string | undefined): string | undefined {
  const it = `${link.name} (index ${link.index})`;
  if (link.kind !== 'bridge') return `${it} is a ${link.kind ?? 'device'}, not nlkit's bridge`;
  if (!link.alias) {
    if (mac !== undefined && link.mac?.toLowerCase() === mac.toLowerCase()) return undefined;
    if (mac === undefined) return `${it} is an unmarked bridge, and network ${network}'s record (of an earlier version) has no bridge MAC to prove it nlkit's`;
    return `${it} is an unmarked bridge with MAC ${link.mac ?? 'none'}, not the ${mac} MAC of network ${network}'s bridge`;
  }
  const mark = parseMark(link.alias);
  if (mark?.tag === tag && mark.network === network && mark.id === undefined) return undefined;
  return `${it} has alias ${JSON.stringify(link.alias)}, not "${bridgeMark(tag, network)}"`;
}

/**
 * Whether `link` may be the bridge a version before ownership marks made for a record that has no MAC (0.1.0
 * made every bridge unmarked, with a MAC of the kernel's, and recorded none). Such a bridge is proven by the
 * network's gateway address, which that version put on it: the caller reads the link's IPv4 addresses only then.
 * Without this, every such network's bridge (with its gateway, which then blocks the subnet) would be left forever
 * by the delete, and never repaired by reconcile.
 */
export function needsGatewayProof(ref: BridgeRef, link: BridgeCandidate): ref is BridgeRef & { gateway: string } {
  return ref.mac === undefined && ref.gateway !== undefined && link.kind === 'bridge' && !link.alias;
}

/**
 * Why the link `ref.bridge` reaches is not network `ref.network`'s bridge, or undefined when it is (notOurBridge;
 * for a record without a MAC, an unmarked bridge carrying the gateway). `cidrs`: the link's addresses with their
 * prefixes ("10.0.0.1/24"), needed only when needsGatewayProof holds (else ignored, and may be undefined).
 */
export function notNetworksBridge(tag: string, ref: BridgeRef, link: BridgeCandidate, cidrs: readonly string[] | undefined): string | undefined {
  // The kernel's lookup by name matches an altname too: the link that carries it is someone else's.
  if (link.name !== ref.bridge) return `${link.name} (index ${link.index}) carries the name as an altname`;
  const why = notOurBridge(tag, ref.network, link, ref.mac);
  if (why === undefined || !needsGatewayProof(ref, link)) return why;
  return cidrs?.includes(ref.gateway) ? undefined : `${why}, nor does it carry the network's gateway ${ref.gateway}`;
}

/**
 * What the link `holder` that carries network `rec`'s bridge name as an
 * altname is, for the drift and the warning with which reconcile leaves it
 * (the bridge cannot be rebuilt while another link carries its name): a
 * link of another recorded network or attachment, a leftover of this state
 * directory (reconcile deletes those first, so one still here could not be
 * deleted), or a link nlkit did not make.
 */
export function altnameHolderReason(tag: string, st: HostState, holder: Link): string {
  const mark = parseMark(holder.alias);
  const it = `${holder.name} (index ${holder.index}, ${holder.kind ?? 'device'}) carries the name as an altname`;
  if (mark?.tag !== tag) return `${it}; nlkit did not make it (alias ${JSON.stringify(holder.alias ?? '')}): remove the altname`;
  if (mark.id === undefined && (st.networks[mark.network] as NetworkRecord | undefined)?.bridge === holder.name) {
    return `${it}; it is network ${mark.network}'s bridge: remove the altname`;
  }
  if (mark.id !== undefined && mark.network in st.attachments)
    return `${it}; it is ${mark.id}'s host veth on network ${mark.network}: detach it or remove the altname`;
  return `${it}; it is a leftover of this state directory that could not be deleted: delete it`;
}
