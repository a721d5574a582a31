// Any netlink protocol, raw: openNetlink gives a socket with nlkit's request
// engine (sequence numbers, acks, dumps, batches, typed errors) for messages
// you build yourself. Here: a link dump, one link by name, two bridges made
// in one batch, and the RTM_NEWLINK notification of a link made later.
// Run as root: node examples/low-level/02-raw-socket.mjs
import { Attributes, NETLINK_ROUTE, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NetlinkWriter, openNetlink, subscribeNetlink } from 'nlkit/netlink';
import { expectEqual, withNamespaces } from './lab.mjs';

// linux/rtnetlink.h, linux/if_link.h
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const IFINFOMSG_SIZE = 16;
const IFLA_IFNAME = 3;
const IFLA_LINKINFO = 18;
const IFLA_INFO_KIND = 1;
const RTNLGRP_LINK = 1;

const names = (messages) => messages.map((m) => new Attributes(m.payload, IFINFOMSG_SIZE).string(IFLA_IFNAME)).sort();

function addBridge(w, name) {
  w.begin(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  w.struct(IFINFOMSG_SIZE);
  w.string(IFLA_IFNAME, name);
  const info = w.nest(IFLA_LINKINFO);
  w.string(IFLA_INFO_KIND, 'bridge');
  w.endNest(info);
  w.end();
}

await withNamespaces(['raw'], async ({ ns, h }) => {
  const sock = await openNetlink(NETLINK_ROUTE, { netns: ns.raw });
  // Join the link group first: nothing made from here on is missed.
  const events = await subscribeNetlink(NETLINK_ROUTE, { groups: [RTNLGRP_LINK], netns: ns.raw });
  try {
    const dumpLinks = () => {
      const w = new NetlinkWriter().begin(RTM_GETLINK, NLM_F_DUMP);
      w.struct(IFINFOMSG_SIZE);
      return sock.dump(w.end());
    };
    expectEqual(names(await dumpLinks()), ['lo'], 'links at first');

    const one = new NetlinkWriter().begin(RTM_GETLINK, 0);
    one.struct(IFINFOMSG_SIZE);
    one.string(IFLA_IFNAME, 'lo');
    const [lo] = await sock.request(one.end());
    console.log(`lo has index ${lo.payload.readInt32LE(4)}`);

    const batch = new NetlinkWriter();
    addBridge(batch, 'br-a');
    addBridge(batch, 'br-b');
    await sock.batch(batch); // one datagram, both processed
    expectEqual(names(await dumpLinks()), ['br-a', 'br-b', 'lo'], 'links after the batch');
    expectEqual((await h.raw.links.list()).map((l) => l.name).sort(), ['br-a', 'br-b', 'lo'], 'as nlkit lists them');
    console.log('made br-a and br-b in one batch');

    for await (const m of events) {
      if (m.type === 'overrun') continue; // notifications lost: dump again
      const name = new Attributes(m.payload, IFINFOMSG_SIZE).string(IFLA_IFNAME);
      console.log(`notification: type ${m.type} for ${name}`);
      if (m.type === RTM_NEWLINK && name === 'br-b') break;
    }
  } finally {
    events.close();
    sock.close();
  }
});
