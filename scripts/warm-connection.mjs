/**
 * The build's warm-up of the connection path (issue #14, bench/notes.md "The code cache holds the connection
 * path"): scripts/bundle.mjs runs it in the bundle before it writes the V8 code cache, so a new process finds
 * compiled what its first request runs besides the operation itself: `open()`, the handle and its connection,
 * the thread-less pool round (threadless.ts), the ack groups and send tick, the I/O thread's events, the request
 * tracker (`feedReceived`, the native-indexed dump rows), the promise plumbing, and a short-lived handle's
 * rounds (first-round.ts, one-shot.ts). Those are otherwise parsed and compiled in every process (~1.5-2 ms a
 * first request).
 *
 * Nothing reaches a kernel: the library's addon is swapped for a stand-in (lib/native/binding.ts
 * `useNativeStandIn`) whose sockets are answered by {@link fakeKernel}, so the build needs no privilege and no
 * namespace. Only the addon's pure functions (the dump indexer, the load check) are the real ones. A warm-up
 * that no longer goes the way it did (another reply expected, a result not as answered, a native call the
 * stand-in does not know) throws: the build fails and this file is brought up to date.
 */

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_MULTI = 2;
export const NLM_F_ACK = 4;
export const NLM_F_ECHO = 8;
export const NLM_F_DUMP = 0x300;
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const RTM_GETROUTE = 26;
const NETLINK_ROUTE = 0;
const NETLINK_NETFILTER = 12;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;
const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG_NEWGEN = 15;
/** The handle attribute of each echoed nftables message (lib/nftables/constants.ts): table, chain, rule. */
const NFT_HANDLE_ATTR = { 0: 4, 3: 2, 6: 3 };
/** The made-up socket's port id and the name every link index has on it (SIOCGIFNAME). */
const PORT_ID = 4242;
const LINK_NAME = 'warm0';
/** Routes in the made-up dump; rules of the made-up commit. */
const DUMP_ROUTES = 8;
/** Route adds of the churn in one tick: more than one pool round holds (64 KiB), so the I/O thread's path runs too. */
const CHURN = 2000;

/** One netlink message: header (length, type, flags, seq, pid) and payload. */
export function message(type, flags, seq, payload = Buffer.alloc(0)) {
  const b = Buffer.alloc(16 + ((payload.length + 3) & ~3));
  b.writeUInt32LE(16 + payload.length, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq, 8);
  b.writeUInt32LE(PORT_ID, 12);
  b.set(payload, 16);
  return b;
}

/** A netlink attribute (padded). */
export function attr(type, data) {
  const a = Buffer.alloc(4 + ((data.length + 3) & ~3));
  a.writeUInt16LE(4 + data.length, 0);
  a.writeUInt16LE(type, 2);
  a.set(data, 4);
  return a;
}

export const u32 = (v) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};

/** The kernel's ack of the request at `at` (errno 0, the request's header quoted: NLM_F_CAPPED). */
export function ack(request, at) {
  return message(NLMSG_ERROR, 0x100, request.readUInt32LE(at + 8), Buffer.concat([Buffer.alloc(4), request.subarray(at, at + 16)]));
}

/** Route `i` of the dump: 10.64.0.i/32 on link 2 (odd i: via 10.64.1.1), main table, static. */
function route(seq, i) {
  const rtmsg = Buffer.from([2, 32, 0, 0, 254, 4, 0, 1, 0, 0, 0, 0]);
  const body = [rtmsg, attr(15, u32(254)), attr(1, Buffer.from([10, 64, 0, i])), attr(4, u32(2))];
  if (i % 2) body.push(attr(5, Buffer.from([10, 64, 1, 1])));
  return message(RTM_NEWROUTE, NLM_F_MULTI, seq, Buffer.concat(body));
}

/** The link `lo` (index 1, up), as RTM_GETLINK answers. */
function loopback(seq) {
  const ifinfomsg = Buffer.alloc(16);
  ifinfomsg.writeUInt16LE(772, 2); // ARPHRD_LOOPBACK
  ifinfomsg.writeInt32LE(1, 4);
  ifinfomsg.writeUInt32LE(0x49, 8); // IFF_UP | IFF_LOOPBACK | IFF_RUNNING
  const attrs = [attr(3, Buffer.from('lo\0')), attr(4, u32(65536)), attr(16, Buffer.from([0])), attr(1, Buffer.alloc(6))];
  return message(RTM_NEWLINK, 0, seq, Buffer.concat([ifinfomsg, ...attrs]));
}

/** What an nftables batch's message gets: its echo (with a handle) and its ack, as asked; the generation at the end. */
function answerNftables(request, at, type, flags, seq, out, state) {
  if (type === NFNL_MSG_BATCH_BEGIN) return;
  if (type === NFNL_MSG_BATCH_END) {
    const gen = Buffer.concat([Buffer.alloc(4), attr(1, Buffer.from([0, 0, 0, 7]))]); // nfgenmsg, NFTA_GEN_ID (be32)
    out.push(message((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN, 0, seq, gen));
    return;
  }
  if (type >> 8 !== NFNL_SUBSYS_NFTABLES) throw new Error(`warm-connection: the made-up kernel got netfilter message type ${type}`);
  if (flags & NLM_F_ECHO) {
    const handle = Buffer.alloc(8);
    handle.writeBigUInt64BE(BigInt(++state.handles));
    const payload = Buffer.concat([request.subarray(at + 16, at + request.readUInt32LE(at)), attr(NFT_HANDLE_ATTR[type & 0xff], handle)]);
    out.push(message(type, 0, seq, payload));
  }
  if (flags & NLM_F_ACK) out.push(ack(request, at));
}

/**
 * A made-up kernel: answers the requests of one datagram as rtnetlink or nfnetlink would (a route dump of
 * {@link DUMP_ROUTES} routes, `lo`, acks, a commit's echoes and generation); throws on anything else.
 * `seen` counts what it answered (for the build's checks and the unit test).
 * @example
 * const kernel = fakeKernel();
 * const replies = kernel.answer(0, routeDumpRequest); // 8 RTM_NEWROUTE, then NLMSG_DONE
 */
export function fakeKernel() {
  const seen = { routeDumps: 0, linkGets: 0, routeWrites: 0, linkWrites: 0, batches: 0 };
  const state = { handles: 0 };
  function answer(protocol, request) {
    const b = Buffer.from(request.buffer, request.byteOffset, request.byteLength);
    const out = [];
    for (let at = 0; at + 16 <= b.length; at += (b.readUInt32LE(at) + 3) & ~3) {
      const type = b.readUInt16LE(at + 4);
      const flags = b.readUInt16LE(at + 6);
      const seq = b.readUInt32LE(at + 8);
      if (protocol === NETLINK_NETFILTER) {
        if (type === NFNL_MSG_BATCH_BEGIN) seen.batches++;
        answerNftables(b, at, type, flags, seq, out, state);
        continue;
      }
      if (protocol !== NETLINK_ROUTE) throw new Error(`warm-connection: the made-up kernel got netlink protocol ${protocol}`);
      if (type === RTM_GETROUTE && (flags & NLM_F_DUMP) === NLM_F_DUMP) {
        seen.routeDumps++;
        for (let i = 1; i <= DUMP_ROUTES; i++) out.push(route(seq, i));
        out.push(message(NLMSG_DONE, NLM_F_MULTI, seq, Buffer.alloc(4)));
        continue;
      }
      if (type === RTM_GETLINK) {
        seen.linkGets++;
        out.push(loopback(seq));
      } else if (type === RTM_NEWROUTE || type === RTM_DELROUTE) seen.routeWrites++;
      else if (type === RTM_NEWLINK) seen.linkWrites++;
      else throw new Error(`warm-connection: the made-up kernel got rtnetlink message type ${type}: bring scripts/warm-connection.mjs up to date`);
      if (flags & NLM_F_ACK) out.push(ack(b, at));
    }
    return Buffer.concat(out);
  }
  return { seen, answer };
}

/** What the I/O thread posts (lib/native/binding.ts NativeEventKind). */
const MESSAGES = 0;
const SENT = 1;

/**
 * The stand-in for the addon: sockets answered by `kernel`, the addon's pure functions from `real`; any other
 * native call throws. `calls` counts the stand-in's entry points as they are used.
 * @example
 * const { binding: stand, calls } = standInBinding(binding.native(), fakeKernel());
 * binding.useNativeStandIn(stand);
 */
export function standInBinding(real, kernel, extra = {}) {
  const calls = { socketOpen: 0, socketObjects: 0, transact: 0, send: 0, linkName: 0, transactIn: 0, transactFd: 0, keptTake: 0, close: 0 };
  let fds = 1000;
  // Each later than the call, as a pool job's or the I/O thread's answer is.
  const later = (fn) => new Promise((resolve, reject) => setImmediate(() => Promise.resolve().then(fn).then(resolve, reject)));
  class NetlinkSocket {
    constructor(protocol, _netnsFd, _options, onEvent) {
      calls.socketObjects++;
      this.protocol = protocol;
      this.onEvent = onEvent;
      this.portId = PORT_ID;
    }
    transact(data) {
      calls.transact++;
      const replies = kernel.answer(this.protocol, data); // a request it cannot answer fails the round now
      return later(() => replies);
    }
    send(data, token) {
      calls.send++;
      const replies = kernel.answer(this.protocol, Buffer.from(data));
      setImmediate(() => {
        if (replies.length) this.onEvent(MESSAGES, replies, 0);
        this.onEvent(SENT, [token], 0);
      });
    }
    linkName() {
      calls.linkName++;
      return LINK_NAME;
    }
    ref() {}
    unref() {}
    pause() {}
    resume() {}
    close() {
      calls.close++;
      return [];
    }
    cancel() {
      return [];
    }
    unsent() {
      return [];
    }
  }
  const kept = new Set();
  const binding = {
    NetlinkSocket,
    netlinkSocketOpen: () => {
      calls.socketOpen++;
      return Promise.resolve(fds++);
    },
    heldFdClose: () => true,
    netlinkTransactIn(protocol, _netnsFd, request, _waitMs, keep) {
      calls.transactIn++;
      const replies = kernel.answer(protocol, request);
      const socket = { protocol };
      if (keep) kept.add(socket);
      return later(() => (keep ? [replies, socket] : replies));
    },
    netlinkTransactFd(socket, request) {
      calls.transactFd++;
      if (!kept.has(socket)) throw new Error('warm-connection: a round on a socket no round kept');
      return later(() => kernel.answer(socket.protocol, request));
    },
    netlinkKeptTake(socket) {
      calls.keptTake++;
      return kept.delete(socket) ? fds++ : -1;
    },
    netlinkKeptClose: (socket) => void kept.delete(socket),
    netlinkIndex: (...args) => real.netlinkIndex(...args),
    cpusContended: () => real.cpusContended(),
    ...extra,
  };
  const stand = new Proxy(binding, {
    get(target, name) {
      if (name in target) return target[name];
      throw new Error(`warm-connection: the connection path called native().${String(name)}, which the stand-in does not have`);
    },
  });
  return { binding: stand, calls };
}

const check = (ok, what) => {
  if (!ok) throw new Error(`warm-connection: ${what} (bring scripts/warm-connection.mjs up to date)`);
};

/**
 * Three DNAT rules of one shape in chain `pre` of `table`: the second makes its template and the third is written
 * from it (lib/nftables/rule-templates.ts), so that code is in the cache too (scripts/bundle.mjs warms the
 * encoding with it, warmConnection a commit).
 */
export function addThreeDnat(tx, rule, table) {
  for (let i = 0; i < 3; i++)
    tx.addRule({
      ...table,
      chain: 'pre',
      rule: rule()
        .tcp({ dport: 9000 + i })
        .dnat({ to: `10.0.1.${i + 1}`, port: 80 }),
    });
}

/**
 * Runs a first request of each common kind through the public API, over the stand-in: `open()`, a route list,
 * a route add in flight, a `links.get`, a route churn, an nftables commit (no echoes, then echoes), and a
 * short-lived handle's rounds. `nlkit`: the library's root exports; `binding`: its lib/native/binding module
 * (the bundle's own, so the functions compiled are the bundle's). Returns what ran (the stand-in's calls and
 * what the made-up kernel answered). The addon is back in place afterwards, also when a step failed.
 * @example
 * const { calls, seen } = await warmConnection({ nlkit: loaded.index(), binding: loaded.lib('native/binding.js') });
 */
export async function warmConnection({ nlkit, binding }) {
  const kernel = fakeKernel();
  const stand = standInBinding(binding.native(), kernel);
  binding.useNativeStandIn(stand.binding);
  try {
    await warmHandle(nlkit);
    await warmShortLived(nlkit);
  } finally {
    binding.useNativeStandIn(undefined);
  }
  const { calls } = stand;
  check(calls.transact > 0 && calls.send > 0 && calls.transactIn === 1 && calls.transactFd > 0, `the stand-in's calls were ${JSON.stringify(calls)}`);
  return { calls, seen: kernel.seen };
}

/** A handle's first requests: each awaited alone, as a new process's first request is. */
async function warmHandle({ open, rule }) {
  const h = await open();
  try {
    const routes = await h.routes.list();
    check(routes.length === DUMP_ROUTES && routes[0].gateway === '10.64.1.1' && routes[0].linkName === LINK_NAME, 'the route list was not as answered');
    await h.routes.add({ dst: '10.64.2.1/32', link: 2 });
    const lo = await h.links.get('lo');
    check(lo.index === 1 && lo.name === 'lo' && lo.mtu === 65536, 'links.get was not as answered');
    const churn = Array.from({ length: CHURN }, (_, i) => ({ dst: `10.65.${i >> 8}.${i & 255}/32`, link: 2 }));
    await Promise.all(churn.map((r) => h.routes.add(r)));
    await Promise.all(churn.map((r) => h.routes.delete(r)));
    for (const echo of ['none', undefined]) {
      const tx = h.nft.transaction();
      const table = { family: 'ip', table: 'warm' };
      tx.addTable({ family: 'ip', name: 'warm' });
      tx.addChain({ ...table, name: 'pre', type: 'nat', hook: 'prerouting', priority: 'dstnat' });
      addThreeDnat(tx, rule, table);
      const { results, generation } = await tx.commit(echo ? { echo } : undefined);
      check(generation === 7 && results.length === 5 && (echo !== undefined || results[4].handle !== undefined), 'the commit was not as answered');
    }
  } finally {
    h.close();
  }
}

/** A short-lived handle (the sandbox side of an attach): a first round that keeps its socket, then a round on it. */
async function warmShortLived({ open }) {
  const h = await open({ shortLived: true });
  try {
    await Promise.all([h.links.set('lo', { up: true }), h.routes.add({ dst: 'default', gateway: '10.64.1.1', link: 2 })]);
    await h.routes.add({ dst: '10.64.3.0/24', gateway: '10.64.1.1' });
  } finally {
    h.close();
  }
}
