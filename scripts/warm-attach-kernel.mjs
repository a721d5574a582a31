/**
 * The made-up host that the build's warm-up of the attach path (scripts/warm-attach.mjs) runs a network's
 * create, attach and detach against: rtnetlink with a table of links (one table for every namespace: the
 * warm-up only needs each request answered as the kernel would), address and route writes acked, dumps of what
 * it holds, and nftables batches answered as scripts/warm-connection.mjs's kernel does. Anything else throws,
 * so a warm-up that no longer goes the way it did fails the build.
 */
import { ack, attr, fakeKernel, message, NLM_F_ACK, NLM_F_DUMP, NLM_F_ECHO, NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR, u32 } from './warm-connection.mjs';

const NLM_F_EXCL = 0x200;
const NETLINK_ROUTE = 0;
const NETLINK_NETFILTER = 12;
const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_GETLINK = 18;
const RTM_SETLINK = 19;
const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_LINK = 5;
const IFLA_MASTER = 10;
const IFLA_LINKINFO = 18;
const IFLA_IFALIAS = 20;
const IFLA_GROUP = 27;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const VETH_INFO_PEER = 1;
const IFINFOMSG_LEN = 16;
const ENODEV = 19;
const ENOENT = 2;
const NFNL_MSG_BATCH_BEGIN = 0x10;
/** nftables (subsystem 10) messages: GETGEN and its NEWGEN; the GETs of tables, chains, rules, sets, set elements, objects, flowtables. */
const NFT_GETGEN = 0xa10;
const NFT_NEWGEN = 0xa0f;
const NFT_GETS = new Set([0xa01, 0xa04, 0xa07, 0xa0a, 0xa0d, 0xa13, 0xa17]);
/** conntrack (subsystem 1) IPCTNL_MSG_CT_GET_STATS: a detach counts the host's entries before it lists them. */
const CT_GET_STATS = 0x105;
const CTA_STATS_GLOBAL_ENTRIES = 1;
const EEXIST = 17;
/** Writes and dumps it answers without state: addresses (20-22), routes (24-26), neighbours (28-30). */
const ACKED_WRITES = new Set([20, 21, 24, 25, 28, 29]);
const EMPTY_DUMPS = new Set([22, 26, 30]);

/** The attributes of one attribute area, by type (the last of a type wins; nested ones are read again). */
function attributes(b, from, to) {
  const out = new Map();
  for (let at = from; at + 4 <= to; at += (b.readUInt16LE(at) + 3) & ~3) out.set(b.readUInt16LE(at + 2) & 0x3fff, b.subarray(at + 4, at + b.readUInt16LE(at)));
  return out;
}

const cString = (data) => data.subarray(0, data.indexOf(0) < 0 ? data.length : data.indexOf(0)).toString();

/** The kernel's error reply to the request at `at` (a negative errno, the request's header quoted). */
function failure(request, at, errno) {
  const body = Buffer.alloc(4);
  body.writeInt32LE(-errno);
  return message(NLMSG_ERROR, 0x100, request.readUInt32LE(at + 8), Buffer.concat([body, request.subarray(at, at + 16)]));
}

/**
 * A made-up host for attach: `lo`, then the links the requests create. `seen` counts what it answered, by kind
 * (for the build's checks and the unit test).
 * @example
 * const kernel = attachKernel();
 * kernel.answer(0, vethAddRequest); // the veth's echo (index, peer index) and its ack
 */
export function attachKernel() {
  const nftables = fakeKernel();
  const seen = {
    linkAdds: 0,
    vethAdds: 0,
    linkSets: 0,
    portSets: 0,
    linkDeletes: 0,
    linkGets: 0,
    linkDumps: 0,
    addressWrites: 0,
    routeWrites: 0,
    neighbourWrites: 0,
    dumps: 0,
    batches: 0,
    generations: 0,
    nftDumps: 0,
    nftGets: 0,
    conntrackCounts: 0,
  };
  const links = new Map([[1, { index: 1, name: 'lo', kind: undefined, flags: 0x49, mtu: 65536, group: 0, alias: undefined, master: 0, peer: 0 }]]);
  let nextIndex = 2;
  const byName = (name) => [...links.values()].find((l) => l.name === name);

  function linkMessage(l, seq, flags = 0) {
    const ifinfomsg = Buffer.alloc(IFINFOMSG_LEN);
    ifinfomsg.writeUInt16LE(l.index === 1 ? 772 : 1, 2);
    ifinfomsg.writeInt32LE(l.index, 4);
    ifinfomsg.writeUInt32LE(l.flags, 8);
    const body = [
      attr(IFLA_IFNAME, Buffer.from(`${l.name}\0`)),
      attr(IFLA_MTU, u32(l.mtu)),
      attr(IFLA_GROUP, u32(l.group)),
      attr(IFLA_ADDRESS, Buffer.alloc(6)),
    ];
    body.push(attr(IFLA_LINK, u32(l.peer || l.index)));
    if (l.master) body.push(attr(IFLA_MASTER, u32(l.master)));
    if (l.alias) body.push(attr(IFLA_IFALIAS, Buffer.from(`${l.alias}\0`)));
    if (l.kind) body.push(attr(IFLA_LINKINFO, attr(IFLA_INFO_KIND, Buffer.from(`${l.kind}\0`))));
    return message(RTM_NEWLINK, flags, seq, Buffer.concat([ifinfomsg, ...body]));
  }

  /** The link a request names (by index, else by IFLA_IFNAME), or undefined. */
  function named(b, at, a) {
    const index = b.readInt32LE(at + 16 + 4);
    if (index) return links.get(index);
    return a.has(IFLA_IFNAME) ? byName(cString(a.get(IFLA_IFNAME))) : undefined;
  }

  /** RTM_NEWLINK: creates the link (a veth's peer as another link) or changes the one it names. */
  function newLink(b, at, flags, seq, out) {
    const end = at + b.readUInt32LE(at);
    const a = attributes(b, at + 16 + IFINFOMSG_LEN, end);
    let l = named(b, at, a);
    const change = b.readUInt32LE(at + 16 + 12);
    if (l && flags & NLM_F_EXCL) return out.push(failure(b, at, EEXIST));
    if (!l) {
      if (b.readInt32LE(at + 16 + 4)) return out.push(failure(b, at, ENODEV));
      const info = a.has(IFLA_LINKINFO) ? attributes(a.get(IFLA_LINKINFO), 0, a.get(IFLA_LINKINFO).length) : new Map();
      const kind = info.has(IFLA_INFO_KIND) ? cString(info.get(IFLA_INFO_KIND)) : undefined;
      l = { index: nextIndex++, name: cString(a.get(IFLA_IFNAME)), kind, flags: 0, mtu: 1500, group: 0, alias: undefined, master: 0, peer: 0 };
      links.set(l.index, l);
      seen.linkAdds++;
      if (kind === 'veth') {
        seen.vethAdds++;
        const data = attributes(info.get(IFLA_INFO_DATA), 0, info.get(IFLA_INFO_DATA).length).get(VETH_INFO_PEER);
        const peerAttrs = attributes(data, IFINFOMSG_LEN, data.length);
        const peer = {
          index: nextIndex++,
          name: cString(peerAttrs.get(IFLA_IFNAME)),
          kind,
          flags: 0,
          mtu: 1500,
          group: 0,
          alias: undefined,
          master: 0,
          peer: l.index,
        };
        links.set(peer.index, peer);
        l.peer = peer.index;
      }
    } else seen.linkSets++;
    if (change) l.flags = (l.flags & ~change) | (b.readUInt32LE(at + 16 + 8) & change);
    if (a.has(IFLA_MTU)) l.mtu = a.get(IFLA_MTU).readUInt32LE(0);
    if (a.has(IFLA_GROUP)) l.group = a.get(IFLA_GROUP).readUInt32LE(0);
    if (a.has(IFLA_MASTER)) l.master = a.get(IFLA_MASTER).readUInt32LE(0);
    if (a.has(IFLA_IFALIAS)) l.alias = cString(a.get(IFLA_IFALIAS));
    if (flags & NLM_F_ECHO) out.push(linkMessage(l, seq));
    if (flags & NLM_F_ACK) out.push(ack(b, at));
  }

  function answerRoute(b, at, type, flags, seq, out) {
    const a = () => attributes(b, at + 16 + IFINFOMSG_LEN, at + b.readUInt32LE(at));
    if (type === RTM_GETLINK && (flags & NLM_F_DUMP) === NLM_F_DUMP) {
      seen.linkDumps++;
      for (const l of links.values()) out.push(linkMessage(l, seq, NLM_F_MULTI));
      out.push(message(NLMSG_DONE, NLM_F_MULTI, seq, Buffer.alloc(4)));
    } else if (type === RTM_GETLINK) {
      seen.linkGets++;
      const l = named(b, at, a());
      if (!l) return out.push(failure(b, at, ENODEV));
      out.push(linkMessage(l, seq));
      if (flags & NLM_F_ACK) out.push(ack(b, at));
    } else if (type === RTM_NEWLINK) newLink(b, at, flags, seq, out);
    else if (type === RTM_DELLINK) {
      const l = named(b, at, a());
      if (!l) return out.push(failure(b, at, ENODEV));
      seen.linkDeletes++;
      links.delete(l.index);
      if (l.peer) links.delete(l.peer);
      if (flags & NLM_F_ACK) out.push(ack(b, at));
    } else if (type === RTM_SETLINK) {
      seen.portSets++; // a bridge port's flags (AF_BRIDGE, hairpin)
      if (flags & NLM_F_ACK) out.push(ack(b, at));
    } else if (EMPTY_DUMPS.has(type) && (flags & NLM_F_DUMP) === NLM_F_DUMP) {
      seen.dumps++;
      out.push(message(NLMSG_DONE, NLM_F_MULTI, seq, Buffer.alloc(4)));
    } else if (ACKED_WRITES.has(type)) {
      seen[type < 24 ? 'addressWrites' : type < 28 ? 'routeWrites' : 'neighbourWrites']++;
      if (flags & NLM_F_ACK) out.push(ack(b, at));
    } else
      throw new Error(`warm-attach: the made-up host got rtnetlink message type ${type} (flags ${flags}): bring scripts/warm-attach-kernel.mjs up to date`);
  }

  /** netfilter outside a batch: nftables' generation, a listing that finds nothing (no table yet, none of its objects); conntrack's count (0). */
  function answerNftables(b, at, type, flags, seq, out) {
    if (type === CT_GET_STATS) {
      seen.conntrackCounts++; // nothing tracked: no listing follows
      const entries = Buffer.alloc(4);
      out.push(message(CT_GET_STATS, 0, seq, Buffer.concat([Buffer.alloc(4), attr(CTA_STATS_GLOBAL_ENTRIES, entries)])));
      if (flags & NLM_F_ACK) out.push(ack(b, at));
    } else if (type === NFT_GETGEN) {
      seen.generations++;
      out.push(message(NFT_NEWGEN, 0, seq, Buffer.concat([Buffer.alloc(4), attr(1, Buffer.from([0, 0, 0, 7]))])));
      if (flags & NLM_F_ACK) out.push(ack(b, at));
    } else if (NFT_GETS.has(type) && (flags & NLM_F_DUMP) === NLM_F_DUMP) {
      seen.nftDumps++;
      out.push(message(NLMSG_DONE, NLM_F_MULTI, seq, Buffer.alloc(4)));
    } else if (NFT_GETS.has(type)) {
      seen.nftGets++;
      out.push(failure(b, at, ENOENT));
    } else throw new Error(`warm-attach: the made-up host got nftables message type ${type} outside a batch: bring scripts/warm-attach-kernel.mjs up to date`);
  }

  function answer(protocol, request) {
    const b = Buffer.from(request.buffer, request.byteOffset, request.byteLength);
    const out = [];
    if (protocol === NETLINK_NETFILTER) {
      if (b.length >= 16 && b.readUInt16LE(4) === NFNL_MSG_BATCH_BEGIN) {
        seen.batches++;
        return nftables.answer(protocol, request); // a commit: answered as warm-connection.mjs's kernel does
      }
      for (let at = 0; at + 16 <= b.length; at += (b.readUInt32LE(at) + 3) & ~3)
        answerNftables(b, at, b.readUInt16LE(at + 4), b.readUInt16LE(at + 6), b.readUInt32LE(at + 8), out);
      return Buffer.concat(out);
    }
    if (protocol !== NETLINK_ROUTE) throw new Error(`warm-attach: the made-up host got netlink protocol ${protocol}`);
    for (let at = 0; at + 16 <= b.length; at += (b.readUInt32LE(at) + 3) & ~3)
      answerRoute(b, at, b.readUInt16LE(at + 4), b.readUInt16LE(at + 6), b.readUInt32LE(at + 8), out);
    return Buffer.concat(out);
  }
  return { seen, links, answer };
}
