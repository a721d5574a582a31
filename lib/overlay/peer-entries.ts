/**
 * The kernel entries one peer stands for, and writing or removing them: in
 * vxlan mode a neighbour (the peer's VTEP address → its MAC), an FDB entry
 * (the MAC → its underlay address) and an onlink route (its subnet via its
 * VTEP address); in host-gw mode one route via its underlay address. A peer
 * joining or leaving touches only its own entries.
 * @module
 */
import type { Handle } from '../handle';
import type { FdbOptions } from '../rtnetlink/fdb-types';
import type { NeighbourOptions } from '../rtnetlink/neighbour';
import type { RouteOptions } from '../rtnetlink/route-types';
import type { ParsedOverlaySpec, ParsedPeer } from './spec';

/** The route protocol (RTPROT) overlay routes carry, so that they are told apart from others on a shared underlay link. */
export const OVERLAY_ROUTE_PROTOCOL = 78;

/** A peer's entries, as options of h.neighbours, h.fdb and h.routes. */
export interface PeerEntries {
  neighbour?: NeighbourOptions;
  fdb?: FdbOptions;
  route: RouteOptions;
}

/** What a peer needs in this host's kernel. */
export function peerEntries(spec: ParsedOverlaySpec, peer: ParsedPeer): PeerEntries {
  if (spec.mode === 'host-gw') {
    return { route: { dst: peer.subnet, gateway: peer.underlay, link: spec.underlayLink, protocol: OVERLAY_ROUTE_PROTOCOL } };
  }
  return {
    neighbour: { link: spec.device, address: peer.vtep, mac: peer.mac, state: 'permanent' },
    fdb: { link: spec.device, mac: peer.mac, dst: peer.underlay, state: 'permanent', self: true },
    route: { dst: peer.subnet, gateway: peer.vtep, link: spec.device, onlink: true, protocol: OVERLAY_ROUTE_PROTOCOL },
  };
}

/** Writes a peer's entries, replacing whatever has their keys (so a changed underlay address is updated in place). */
export async function writePeer(h: Handle, spec: ParsedOverlaySpec, peer: ParsedPeer): Promise<void> {
  const e = peerEntries(spec, peer);
  // The route's gateway resolves through the neighbour, and the neighbour's MAC through the FDB entry: write them in that order.
  if (e.fdb) await h.fdb.replace(e.fdb);
  if (e.neighbour) await h.neighbours.replace(e.neighbour);
  await h.routes.replace(e.route);
}

/** Removes a peer's entries (those already gone are fine). */
export async function removePeer(h: Handle, spec: ParsedOverlaySpec, peer: ParsedPeer): Promise<void> {
  const e = peerEntries(spec, peer);
  await h.routes.delete({ dst: e.route.dst, link: e.route.link, protocol: OVERLAY_ROUTE_PROTOCOL }, { missingOk: true });
  if (e.neighbour) await h.neighbours.delete({ link: e.neighbour.link, address: e.neighbour.address }, { missingOk: true });
  if (e.fdb) await h.fdb.delete({ link: e.fdb.link, mac: e.fdb.mac, dst: e.fdb.dst }, { missingOk: true });
}
