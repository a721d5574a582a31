// A custom rtnetlink operation, run with h.run(op): the id one namespace
// has for another (RTM_GETNSID) and giving it one (RTM_NEWNSID) — what
// `ip netns list-id` and `ip netns set` do. nlkit has no API for it; an
// operation is a generator that yields requests and gets their replies, so
// it runs on a handle (async), on a blocking socket, or in a test without a
// kernel, unchanged.
// Run as root: node examples/low-level/01-custom-operation.mjs
import * as nlkit from 'nlkit';
import { Attributes, NETLINK_ROUTE, NLM_F_CREATE, NLM_F_EXCL, NetlinkWriter, call, openNetlinkSync } from 'nlkit/netlink';
import { expectEqual, withNamespaces } from './lab.mjs';

// linux/rtnetlink.h and linux/net_namespace.h
const RTM_NEWNSID = 88;
const RTM_GETNSID = 90;
const RTGENMSG_SIZE = 4; // struct rtgenmsg, padded to 4 bytes
const NETNSA_NSID = 1;
const NETNSA_FD = 3;

/** The id this namespace has for the namespace open as `nsFd`, or undefined. */
function* getNsid(nsFd) {
  const w = new NetlinkWriter().begin(RTM_GETNSID, 0);
  w.struct(RTGENMSG_SIZE);
  w.u32(NETNSA_FD, nsFd);
  const [reply] = yield* call(w.end().finish(), 'get nsid');
  const id = new Attributes(reply.payload, RTGENMSG_SIZE).s32(NETNSA_NSID);
  return id === undefined || id < 0 ? undefined : id; // -1: none assigned
}

/** Gives the namespace open as `nsFd` the id `id` in this namespace. */
function* setNsid(nsFd, id) {
  const w = new NetlinkWriter().begin(RTM_NEWNSID, NLM_F_CREATE | NLM_F_EXCL);
  w.struct(RTGENMSG_SIZE);
  w.u32(NETNSA_FD, nsFd);
  w.s32(NETNSA_NSID, id);
  yield* call(w.end().finish(), `set nsid ${id}`);
}

await withNamespaces(['a', 'b'], async ({ ns, h }) => {
  const b = await nlkit.openNetns(ns.b);
  try {
    expectEqual(await h.a.run(getNsid(b.fd)), undefined, 'nsid before');
    await h.a.run(setNsid(b.fd, 7));
    const id = await h.a.run(getNsid(b.fd));
    expectEqual(id, 7, 'nsid after');
    console.log(`namespace ${ns.a} knows ${ns.b} as nsid ${id}`);

    // Setting it twice is the kernel's EEXIST, with its own words.
    try {
      await h.a.run(setNsid(b.fd, 8));
      throw new Error('a second id was accepted');
    } catch (e) {
      if (!(e instanceof nlkit.NetlinkError) || e.code !== 'EEXIST') throw e;
      console.log(`a second id: ${e.code}${e.extack ? ` (${e.extack})` : ''}`);
    }

    // The same generator, blocking, on a raw socket of the namespace.
    const sock = openNetlinkSync(NETLINK_ROUTE, { netns: ns.a });
    try {
      expectEqual(sock.run(getNsid(b.fd)), 7, 'nsid, blocking');
    } finally {
      sock.close();
    }
  } finally {
    b.close();
  }
});
