// Every decoder nlkit runs on what the kernel sends, keyed by the message type
// it is meant for — as the library dispatches them (list operations, event
// streams, error handling) — plus the pool of all decoders of a protocol, for
// feeding a message to the wrong one.
import { decodeEntry } from '../../lib/conntrack/entry';
import { decodeDoneMessage, decodeErrorMessage } from '../../lib/netlink/extack';
import type { NetlinkMessage } from '../../lib/netlink/parser';
import { decodeChain } from '../../lib/nftables/chain';
import { NFNL_SUBSYS_CTNETLINK, NFNL_SUBSYS_NFTABLES } from '../../lib/nftables/constants';
import { assembleElements, decodeElementMessage } from '../../lib/nftables/elements';
import { rawShape } from '../../lib/nftables/events';
import { decodeGeneration, setKey, shapeOfMessage } from '../../lib/nftables/list';
import { familyName, messageFamily } from '../../lib/nftables/message';
import { decodeObject } from '../../lib/nftables/object';
import { decodeRule as decodeNftRule } from '../../lib/nftables/rule';
import { decodeFieldLengths, decodeSet, type SetShape } from '../../lib/nftables/set';
import { decodeTable } from '../../lib/nftables/table';
import { decodeAddress } from '../../lib/rtnetlink/address';
import { decodeEvent } from '../../lib/rtnetlink/events';
import { decodeFdbEntry } from '../../lib/rtnetlink/fdb';
import { decodeLink } from '../../lib/rtnetlink/link';
import { decodeNeighbour } from '../../lib/rtnetlink/neighbour';
import { decodeNexthopObject } from '../../lib/rtnetlink/nexthop';
import { decodeRoute } from '../../lib/rtnetlink/route';
import { decodeRule as decodeRtRule } from '../../lib/rtnetlink/rule';
import { decodeTcClass } from '../../lib/rtnetlink/tc/class';
import { decodeQdisc } from '../../lib/rtnetlink/tc/qdisc';

export type Protocol = 'route' | 'netfilter';
export type Decoder = [name: string, decode: (m: NetlinkMessage) => unknown];

/**
 * Set layouts by "family table name", learnt from the (unmutated) set
 * messages of the corpus, for decoding element messages as a listing does.
 */
export class Shapes {
  private readonly byKey = new Map<string, SetShape>();
  readonly all: SetShape[] = [];

  learn(m: NetlinkMessage): void {
    const s = decodeSet(m);
    const shape = shapeOfMessage(m);
    this.byKey.set(setKey(s), shape);
    this.all.push(shape);
  }

  /** The set's own layout, or (like an event for an unknown set) raw bytes. */
  of(m: NetlinkMessage, elements: ReturnType<typeof decodeElementMessage>): SetShape {
    const key = setKey({ family: familyName(messageFamily(m)), table: elements.table, name: elements.set });
    return this.byKey.get(key) ?? rawShape(elements.elements[0]?.key?.length ?? 0, elements.elements[0]?.data?.length ?? 0);
  }
}

const errors: Decoder[] = [
  ['extack: error', decodeErrorMessage],
  ['extack: done', decodeDoneMessage],
];

const events: Decoder[] = [
  ['rtnetlink event', (m) => decodeEvent(m)],
  ['rtnetlink event (IPv4)', (m) => decodeEvent(m, 4)],
  ['rtnetlink event (IPv6)', (m) => decodeEvent(m, 6)],
];

const ROUTE: Record<number, Decoder[]> = {
  2: errors,
  3: errors,
  16: [['link', decodeLink], ...events],
  17: [['link', decodeLink], ...events],
  20: [['address', decodeAddress], ...events],
  21: [['address', decodeAddress], ...events],
  24: [['route', decodeRoute], ...events],
  25: [['route', decodeRoute], ...events],
  28: [['neighbour', decodeNeighbour], ['fdb entry', decodeFdbEntry], ...events],
  29: [['neighbour', decodeNeighbour], ['fdb entry', decodeFdbEntry], ...events],
  32: [['rule', decodeRtRule], ...events],
  33: [['rule', decodeRtRule], ...events],
  104: [['nexthop', decodeNexthopObject]],
  105: [['nexthop', decodeNexthopObject]],
  36: [['qdisc', decodeQdisc]],
  37: [['qdisc', decodeQdisc]],
  40: [['tc class', decodeTcClass]],
  41: [['tc class', decodeTcClass]],
};

function nftDecoders(shapes: Shapes): Record<number, Decoder[]> {
  const t = (cmd: number) => (NFNL_SUBSYS_NFTABLES << 8) | cmd;
  const table: Decoder[] = [['nft table', decodeTable]];
  const chain: Decoder[] = [['nft chain', decodeChain]];
  const rule: Decoder[] = [['nft rule', decodeNftRule]];
  const set: Decoder[] = [
    ['nft set', decodeSet],
    ['nft set field lengths', decodeFieldLengths],
    ['nft set layout', shapeOfMessage],
  ];
  const elements: Decoder[] = [
    [
      'nft elements',
      (m) => {
        const raw = decodeElementMessage(m);
        return assembleElements(shapes.of(m, raw), raw.elements);
      },
    ],
    // The same elements read with other sets' layouts (a set redefined between listing and reading);
    // which two follows from the input, so every failure can be made again from it.
    [
      'nft elements (other layouts)',
      (m) => {
        const raw = decodeElementMessage(m);
        const n = shapes.all.length;
        if (n) for (const i of [m.payload.length % n, (m.payload.length * 7 + m.type) % n]) assembleElements(shapes.all[i], raw.elements);
      },
    ],
  ];
  const object: Decoder[] = [['nft object', decodeObject]];
  return {
    2: errors,
    3: errors,
    [t(0)]: table,
    [t(2)]: table,
    [t(3)]: chain,
    [t(5)]: chain,
    [t(6)]: rule,
    [t(8)]: rule,
    [t(9)]: set,
    [t(11)]: set,
    [t(12)]: elements,
    [t(14)]: elements,
    [t(15)]: [['nft generation', decodeGeneration]],
    [t(18)]: object,
    [t(20)]: object,
    [(NFNL_SUBSYS_CTNETLINK << 8) | 0]: [['conntrack entry', decodeEntry]],
  };
}

/** The decoders of each protocol by message type, and all of them as one pool. */
export function decoders(shapes: Shapes): Record<Protocol, { byType: Record<number, Decoder[]>; pool: Decoder[] }> {
  const nft = nftDecoders(shapes);
  const pool = (byType: Record<number, Decoder[]>) => [
    ...new Map(
      Object.values(byType)
        .flat()
        .map((d) => [d[0], d]),
    ).values(),
  ];
  return {
    route: { byType: ROUTE, pool: pool(ROUTE) },
    netfilter: { byType: nft, pool: pool(nft) },
  };
}
