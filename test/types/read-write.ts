// Type-level checks of the verb table (docs/api-conventions.md): what a list
// returns can be passed back to delete without a cast, Link narrows by kind,
// and the wrong things stay type errors (`@ts-expect-error` fails the build
// when the error it expects disappears). Compiled, never run:
// test/unit/api-types.test.ts, or `npx tsc -p test/types/tsconfig.json`.
import type { Address, ConntrackEntry, FdbEntry, Handle, IpRule, Link, Neighbour, NexthopObject, Route, SyncHandle } from '../../lib';
import type { BridgeVlan, MdbEntry, nft } from '../../lib';

declare const h: Handle;
declare const hs: SyncHandle;

export async function listedObjectsPassToDelete(): Promise<void> {
  const routes: Route[] = await h.routes.list({ table: 'all' });
  for (const r of routes) {
    const removed: boolean = await h.routes.delete(r);
    await h.routes.delete(r, { missingOk: true });
    const again: Route = await h.routes.get(r);
    void [removed, again];
  }
  const rules: IpRule[] = await h.rules.list();
  for (const r of rules) await h.rules.delete(r, { missingOk: true });
  const nexthops: NexthopObject[] = await h.nexthops.list();
  for (const n of nexthops) {
    const same: NexthopObject = await h.nexthops.get(n);
    await h.nexthops.replace(n);
    const removed: boolean = await h.nexthops.delete(n, { missingOk: true });
    void [same, removed, hs.nexthops.find(n)];
  }
  const fdb: FdbEntry[] = await h.fdb.list({ bridge: 'br0' });
  for (const e of fdb) await h.fdb.delete(e, { missingOk: true });
  const neighbours: Neighbour[] = await h.neighbours.list();
  for (const n of neighbours) {
    await h.neighbours.delete(n, { missingOk: true });
    const same: Neighbour | undefined = await h.neighbours.find(n);
    void same;
  }
  const addresses: Address[] = await h.addresses.list({ link: 'eth0' });
  for (const a of addresses) {
    const same: Address = await h.addresses.get(a);
    const maybe: Address | undefined = await h.addresses.find(a);
    const removed: boolean = await h.addresses.delete(a, { missingOk: true });
    void [same, maybe, removed];
  }
  const positional: boolean = await h.addresses.delete('eth0', '10.0.0.2/24', { peer: '10.0.0.1', missingOk: true });
  const syncAddressRemoved: boolean = hs.addresses.delete(addresses[0]);
  const fdbEntry: FdbEntry = await h.fdb.get(fdb[0]);
  const fdbMaybe: FdbEntry | undefined = await h.fdb.find({ mac: '02:00:00:00:00:01', link: 'vxlan0', dst: '10.0.0.2' });
  const rule: IpRule = await h.rules.get(rules[0]);
  const ruleMaybe: IpRule | undefined = await h.rules.find({ priority: 100 });
  void [positional, syncAddressRemoved, fdbEntry, fdbMaybe, rule, ruleMaybe];
  const entries: ConntrackEntry[] = await h.conntrack.list({ protocol: 'udp' });
  for (const e of entries) {
    const removed: boolean = await h.conntrack.delete(e, { missingOk: true });
    void removed;
  }
  const flushed: number = await h.conntrack.flush({ protocol: 'udp' });
  const syncRemoved: boolean = hs.routes.delete(routes[0], { missingOk: true });
  void [flushed, syncRemoved];
}

export function linkNarrowsByKind(l: Link): void {
  if (l.kind === 'bridge') {
    const stp: boolean = l.info.stp;
    void stp;
  }
  switch (l.kind) {
    case 'vxlan': {
      const vni: number = l.info.vni;
      void vni;
      break;
    }
    case 'macvlan':
      void l.info.mode;
      break;
    case 'tun': {
      const tap: boolean = l.info.mode === 'tap';
      void tap;
      break;
    }
    case 'dummy': // kinds nlkit does not decode still compare
      void l.infoRaw;
      break;
  }
  // @ts-expect-error without a kind check, info is not a bridge's
  void l.info.stp;
  const names: Array<string | undefined> = [l.name, l.masterName, l.parentName];
  void names;
}

export async function namesTellWhatTheKernelSaysByIndex(): Promise<void> {
  const [r] = await h.routes.list();
  const viaIndex: number | undefined = r.link;
  const viaName: string | undefined = r.linkName;
  const [e] = await h.fdb.list();
  const bridge: number | undefined = e.bridge;
  const bridgeName: string | undefined = e.bridgeName;
  const [a] = await h.addresses.list();
  const on: string | undefined = a.linkName;
  void [viaIndex, viaName, bridge, bridgeName, on];
}

export async function wrongThingsStayErrors(): Promise<void> {
  // @ts-expect-error delete takes { missingOk } only
  await h.links.delete('veth0', { missingOk: true, force: true });
  // @ts-expect-error the FIB lookup is routes.lookup(destination); get takes a key
  const viaGet: Promise<Route> = h.routes.find('10.0.0.1');
  // @ts-expect-error a listed address carries its peer: the key form's options are { missingOk } only
  await h.addresses.delete({ link: 'eth0', cidr: '10.0.0.2/32' }, { peer: '10.0.0.1' });
  // @ts-expect-error the positional form needs the address
  await h.addresses.delete('eth0');
  // @ts-expect-error an FDB entry's bridge is an interface, not the old boolean flag
  await h.fdb.add({ mac: '02:00:00:00:00:01', link: 'veth0', bridge: true });
  void viaGet;
}

export async function bridgeTablesAndFlowtablesPassBack(): Promise<void> {
  for (const v of await h.bridgeVlans.list({ link: 'veth1' })) {
    const same: BridgeVlan = await h.bridgeVlans.get(v);
    const removed: boolean = await h.bridgeVlans.delete(v, { missingOk: true });
    void [same, removed];
  }
  for (const e of await h.mdb.list({ bridge: 'br0' })) {
    const same: MdbEntry | undefined = await h.mdb.find(e);
    await h.mdb.add(e);
    const removed: boolean = hs.mdb.delete(e);
    void [same, removed];
  }
  const fts: nft.Flowtable[] = await h.nft.flowtables.list({ family: 'inet' });
  const tx = h.nft.transaction();
  tx.addFlowtable(await h.nft.flowtables.get(fts[0]));
  tx.deleteFlowtable(fts[0], { missingOk: true });
}
