/**
 * Decoding RTM_NEWLINK messages (also AF_BRIDGE port notifications) into
 * `Link` objects; the kind-specific `info` comes from the link kind's codec.
 * @module
 */
import { Attributes, cString, s32At, u16At, u32At, u8At, type NetlinkMessage } from '../netlink/parser';
import { formatMac } from '../validate/ip';
import { decodeBridgePort } from './bridge-port';
import * as C from './constants';
import { LINK_KINDS } from './link-kinds';
import type { Link, LinkBase, LinkStats } from './link-types';

const KNOWN = new Set([
  C.IFLA_ADDRESS,
  C.IFLA_BROADCAST,
  C.IFLA_IFNAME,
  C.IFLA_MTU,
  C.IFLA_LINK,
  C.IFLA_QDISC,
  C.IFLA_STATS,
  C.IFLA_MASTER,
  C.IFLA_TXQLEN,
  C.IFLA_OPERSTATE,
  C.IFLA_LINKMODE,
  C.IFLA_LINKINFO,
  C.IFLA_IFALIAS,
  C.IFLA_STATS64,
  C.IFLA_GROUP,
  C.IFLA_PROMISCUITY,
  C.IFLA_NUM_TX_QUEUES,
  C.IFLA_NUM_RX_QUEUES,
  C.IFLA_CARRIER,
  C.IFLA_CARRIER_CHANGES,
  C.IFLA_LINK_NETNSID,
  C.IFLA_MIN_MTU,
  C.IFLA_MAX_MTU,
  C.IFLA_PROP_LIST,
]);

function flagNames(flags: number): string[] {
  const names = C.IFF_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n);
  // iproute2 shows a link that is up without carrier as NO-CARRIER, first.
  if (flags & C.IFF_UP && !(flags & C.IFF_LOWER_UP)) names.unshift('NO-CARRIER');
  return names;
}

/** struct rtnl_link_stats64 up to rx_nohandler (Linux 4.6); rx_otherhost_dropped follows since 5.19. */
const STATS64_MIN_LEN = 24 * 8;

/** Decodes struct rtnl_link_stats64 (IFLA_STATS64, IFLA_STATS_LINK_64), every counter. */
export function decodeStats64(b: Buffer | undefined): LinkStats | undefined {
  if (!b || b.length < STATS64_MIN_LEN) return undefined;
  const q = (i: number) => b.readBigUInt64LE(i * 8);
  const stats: LinkStats = {
    rxPackets: q(0),
    txPackets: q(1),
    rxBytes: q(2),
    txBytes: q(3),
    rxErrors: q(4),
    txErrors: q(5),
    rxDropped: q(6),
    txDropped: q(7),
    multicast: q(8),
    collisions: q(9),
    rxLengthErrors: q(10),
    rxOverErrors: q(11),
    rxCrcErrors: q(12),
    rxFrameErrors: q(13),
    rxFifoErrors: q(14),
    rxMissedErrors: q(15),
    txAbortedErrors: q(16),
    txCarrierErrors: q(17),
    txFifoErrors: q(18),
    txHeartbeatErrors: q(19),
    txWindowErrors: q(20),
    rxCompressed: q(21),
    txCompressed: q(22),
    rxNohandler: q(23),
  };
  if (b.length >= STATS64_MIN_LEN + 8) stats.rxOtherhostDropped = q(24);
  return stats;
}

/** Decodes one RTM_NEWLINK message. */
export function decodeLink(m: NetlinkMessage): Link {
  const p = m.payload;
  const flags = u32At(p, 8);
  const a = new Attributes(p, C.IFINFOMSG_LEN);
  const operIdx = a.u8(C.IFLA_OPERSTATE) ?? 0;
  // Built field by field; `kind` and `info` (which must agree) are set below.
  const link = {
    index: s32At(p, 4),
    name: a.string(C.IFLA_IFNAME) ?? '',
    flags: flagNames(flags),
    up: (flags & C.IFF_UP) !== 0,
    lowerUp: (flags & C.IFF_LOWER_UP) !== 0,
    operState: C.OPER_STATES[operIdx] ?? 'UNKNOWN',
    mtu: a.u32(C.IFLA_MTU) ?? 0,
    linkType: u16At(p, 2),
    group: a.u32(C.IFLA_GROUP) ?? 0,
    promiscuity: a.u32(C.IFLA_PROMISCUITY) ?? 0,
    unknownAttributes: a.unknown(KNOWN),
  } as LinkBase & { kind?: string; info: object };
  const mac = a.get(C.IFLA_ADDRESS);
  if (mac) link.mac = formatMac(mac);
  const brd = a.get(C.IFLA_BROADCAST);
  if (brd) link.broadcast = formatMac(brd);
  const base: LinkBase = link;
  const set = <K extends keyof LinkBase>(k: K, v: LinkBase[K] | undefined) => {
    if (v !== undefined) base[k] = v;
  };
  set('txQueueLength', a.u32(C.IFLA_TXQLEN));
  set('alias', a.string(C.IFLA_IFALIAS) || undefined);
  set('qdisc', a.string(C.IFLA_QDISC));
  set('master', a.u32(C.IFLA_MASTER));
  const parent = a.u32(C.IFLA_LINK);
  const linkNetnsId = a.s32(C.IFLA_LINK_NETNSID);
  // iflink == ifindex means "no parent", unless the parent lives in another
  // namespace (a veth peer there may have the same index).
  if (parent !== undefined && (parent !== link.index || linkNetnsId !== undefined)) link.parentIndex = parent;
  set('linkNetnsId', linkNetnsId);
  set('minMtu', a.u32(C.IFLA_MIN_MTU));
  set('maxMtu', a.u32(C.IFLA_MAX_MTU));
  set('numTxQueues', a.u32(C.IFLA_NUM_TX_QUEUES));
  set('numRxQueues', a.u32(C.IFLA_NUM_RX_QUEUES));
  const carrier = a.u8(C.IFLA_CARRIER);
  if (carrier !== undefined) link.carrier = carrier !== 0;
  set('carrierChanges', a.u32(C.IFLA_CARRIER_CHANGES));
  set('stats', decodeStats64(a.get(C.IFLA_STATS64)));
  const altNames = a.nested(C.IFLA_PROP_LIST)?.all(C.IFLA_ALT_IFNAME).map(cString);
  if (altNames?.length) link.altNames = altNames;
  // AF_BRIDGE messages (bridge port notifications, `bridge link`) carry the port options in IFLA_PROTINFO.
  if (u8At(p, 0) === C.AF_BRIDGE) {
    const i = link.unknownAttributes.findIndex((x) => x.type === C.IFLA_PROTINFO);
    if (i >= 0 && link.unknownAttributes[i].nested) {
      link.port = decodeBridgePort(new Attributes(link.unknownAttributes[i].data));
      link.unknownAttributes.splice(i, 1);
    }
  }
  link.info = {};
  const li = a.nested(C.IFLA_LINKINFO);
  if (li) {
    const kind = li.string(C.IFLA_INFO_KIND);
    if (kind) link.kind = kind;
    const data = li.nested(C.IFLA_INFO_DATA);
    const codec = kind ? LINK_KINDS[kind] : undefined;
    if (codec) link.info = codec.decode(data ?? new Attributes(Buffer.alloc(0))) as Link['info'];
    else if (data) link.infoRaw = data.list;
    const portKind = li.string(C.IFLA_INFO_SLAVE_KIND);
    if (portKind) {
      link.portKind = portKind;
      const pd = li.nested(C.IFLA_INFO_SLAVE_DATA);
      if (pd && portKind === 'bridge') link.port = decodeBridgePort(pd);
      else if (pd) link.portRaw = pd.list;
    }
  }
  return link as Link;
}
