/**
 * Drift of an overlay: what the kernel has against what the membership
 * says. The overlay owns its VXLAN device, so every neighbour, FDB entry and
 * route of the cluster CIDR on it that no peer explains is foreign; in
 * host-gw mode the routes of the cluster CIDR carrying the overlay's protocol
 * are its own. Each finding carries its
 * repair, which `reconcile` runs.
 * @module
 */
import type { Handle } from '../handle';
import type { FdbEntry } from '../rtnetlink/fdb-types';
import type { Neighbour } from '../rtnetlink/neighbour';
import type { Route } from '../rtnetlink/route-types';
import { deviceDifference, deviceTarget, foreignDeviceReason, isOwnedDevice } from './device';
import { contains, rangeOf } from './overlap';
import { OVERLAY_ROUTE_PROTOCOL, peerEntries } from './peer-entries';
import type { ParsedOverlaySpec, ParsedPeer } from './spec';

/** One difference between an overlay's membership and the kernel. */
export interface OverlayDrift {
  kind:
    | 'device-missing'
    /** The VXLAN device has another VNI, local address, port, MAC or MTU, or is down (a changed underlay address shows here); or the device under its name is not the overlay's (no ownership mark), which reconcile refuses to touch. */
    | 'device-wrong'
    | 'vtep-address-missing'
    | 'neighbour-missing'
    /** A peer's neighbour entry has another MAC or is not permanent. */
    | 'neighbour-wrong'
    /** A neighbour entry on the device that no peer explains. */
    | 'neighbour-foreign'
    | 'fdb-missing'
    /** A peer's MAC sends to another underlay address, or to another UDP port or VNI than the device's, or through another interface (`via`). */
    | 'fdb-wrong'
    | 'fdb-foreign'
    | 'route-missing'
    /** A peer's subnet is routed another way. */
    | 'route-wrong'
    | 'route-foreign';
  /** The peer concerned, if any. */
  peer?: string;
  /** What was found, e.g. "10.244.3.0/24 via 10.244.3.0 dev nlk-vx1". */
  detail: string;
}

/** A finding and how to repair it. */
export interface RepairableDrift extends OverlayDrift {
  repair: () => Promise<unknown>;
}

/** A route the overlay may have made: inside the cluster CIDR, and on its device (vxlan) or with its protocol (host-gw); another user of the protocol elsewhere is left alone. */
function isOwnRoute(spec: ParsedOverlaySpec, r: Route): boolean {
  const dst = rangeOf(r.dst);
  const cluster = rangeOf(spec.clusterCidr);
  if (!dst || !cluster || !contains(cluster, dst)) return false;
  return spec.mode === 'vxlan' ? r.linkName === spec.device : r.protocol === String(OVERLAY_ROUTE_PROTOCOL);
}

/** An FDB entry as `bridge fdb` prints its remote: "0a:58:0a:f4:02:00 dst 172.31.0.2 port 9999 vni 7". */
function describeFdb(e: FdbEntry): string {
  const extra = [
    e.port !== undefined ? ` port ${String(e.port)}` : '',
    e.vni !== undefined ? ` vni ${String(e.vni)}` : '',
    e.via !== undefined ? ` via ${e.viaName ?? String(e.via)}` : '',
  ].join('');
  return `${e.mac} dst ${e.dst ?? ''}${extra}`;
}

function describeRoute(r: Route): string {
  return `${r.dst} via ${r.gateway ?? 'none'} dev ${r.linkName ?? String(r.link)}`;
}

/** Compares the kernel with the peers; `fixPeer` writes one peer's entries again. */
export async function findDrift(h: Handle, spec: ParsedOverlaySpec, peers: ReadonlyMap<string, ParsedPeer>): Promise<RepairableDrift[]> {
  const out: RepairableDrift[] = [];
  let neighbours: Neighbour[] = [];
  let fdb: FdbEntry[] = [];
  if (spec.mode === 'vxlan') {
    const link = await h.links.find(spec.device);
    if (!link) return [{ kind: 'device-missing', detail: spec.device, repair: () => Promise.resolve() }];
    // Someone else's device: nothing on it is the overlay's (reconcile refuses to remake it).
    if (!isOwnedDevice(link, spec))
      return [{ kind: 'device-wrong', detail: `${spec.device} ${foreignDeviceReason(link, spec)}`, repair: () => Promise.resolve() }];
    const wrong = deviceDifference(link, spec, await deviceTarget(h, spec));
    if (wrong !== '') out.push({ kind: 'device-wrong', detail: `${spec.device} ${wrong}`, repair: () => Promise.resolve() });
    const addresses = await h.addresses.list({ link: spec.device, family: 4 });
    if (!addresses.some((a) => a.cidr === `${spec.vtep}/32`))
      out.push({ kind: 'vtep-address-missing', detail: `${spec.vtep}/32`, repair: () => Promise.resolve() });
    neighbours = (await h.neighbours.list({ link: spec.device, family: 4 })).filter((n) => !n.state.includes('NOARP'));
    fdb = (await h.fdb.list({ link: spec.device })).filter((e) => e.dst !== undefined);
  }
  const routes = (await h.routes.list({ family: 4, table: 'main' })).filter((r) => isOwnRoute(spec, r));
  const explainedNeighbours = new Set<string>();
  const explainedFdb = new Set<FdbEntry>();
  const explainedRoutes = new Set<Route>();
  for (const peer of peers.values()) {
    const want = peerEntries(spec, peer);
    const { neighbour, fdb: fdbEntry } = want;
    if (neighbour) {
      const n = neighbours.find((x) => x.address === peer.vtep);
      const repair = () => h.neighbours.replace(neighbour);
      if (!n) out.push({ kind: 'neighbour-missing', peer: peer.name, detail: `${peer.vtep} lladdr ${peer.mac}`, repair });
      else if (n.mac !== peer.mac || !n.state.includes('PERMANENT'))
        out.push({ kind: 'neighbour-wrong', peer: peer.name, detail: `${peer.vtep} lladdr ${n.mac ?? 'none'} ${n.state.join(',')}`, repair });
      explainedNeighbours.add(peer.vtep);
    }
    if (fdbEntry) {
      const same = fdb.filter((e) => e.mac === peer.mac);
      // As written: the peer's underlay address, and the device's own port and VNI (the kernel then reports none) and no `via`.
      const right = same.find((e) => e.dst === peer.underlay && e.port === undefined && e.vni === undefined && e.via === undefined);
      if (right) explainedFdb.add(right);
      else if (same.length === 0)
        out.push({ kind: 'fdb-missing', peer: peer.name, detail: `${peer.mac} dst ${peer.underlay}`, repair: () => h.fdb.replace(fdbEntry) });
      else {
        // Replace rewrites the MAC's first destination in place; further ones stay foreign below.
        explainedFdb.add(same[0]);
        out.push({ kind: 'fdb-wrong', peer: peer.name, detail: describeFdb(same[0]), repair: () => h.fdb.replace(fdbEntry) });
      }
    }
    const r = routes.find((x) => x.dst === peer.subnet);
    const repair = () => h.routes.replace(want.route);
    if (!r) out.push({ kind: 'route-missing', peer: peer.name, detail: peer.subnet, repair });
    else {
      explainedRoutes.add(r);
      const wantGateway = want.route.gateway;
      if (r.gateway !== wantGateway || (spec.mode === 'vxlan' && r.protocol !== String(OVERLAY_ROUTE_PROTOCOL)))
        out.push({ kind: 'route-wrong', peer: peer.name, detail: describeRoute(r), repair });
    }
  }
  for (const n of neighbours)
    if (!explainedNeighbours.has(n.address))
      out.push({ kind: 'neighbour-foreign', detail: `${n.address} lladdr ${n.mac ?? 'none'}`, repair: () => h.neighbours.delete(n, { missingOk: true }) });
  for (const e of fdb)
    if (!explainedFdb.has(e))
      out.push({
        kind: 'fdb-foreign',
        detail: describeFdb(e),
        // The remote whole: by its address alone the kernel would look for the device's port and VNI, and not find it.
        repair: () => h.fdb.delete({ link: spec.device, mac: e.mac, dst: e.dst, port: e.port, vni: e.vni, via: e.via }, { missingOk: true }),
      });
  for (const r of routes)
    if (!explainedRoutes.has(r)) out.push({ kind: 'route-foreign', detail: describeRoute(r), repair: () => h.routes.delete(r, { missingOk: true }) });
  return out;
}
