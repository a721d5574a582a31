// links.add() asks the kernel to echo the link it creates (NLM_F_ECHO, Linux ≥ 6.3) and reads the
// indexes from that; a kernel that only acks (older ones) is simulated here: the link is read
// back by name instead. The echo is never asked for a link created in another namespace.
import { describe, expect, it } from 'vitest';
import { NLM_F_ECHO } from '../../lib/netlink/constants';
import type { Operation } from '../../lib/netlink/operation';
import { parseMessages, type NetlinkMessage } from '../../lib/netlink/parser';
import { NetlinkWriter } from '../../lib/netlink/writer';
import * as C from '../../lib/rtnetlink/constants';
import { drive } from '../helpers/drive';
import { linkOps, type LinkAdded } from '../../lib/rtnetlink/link';

/** An RTM_NEWLINK message as the kernel sends it for a link: index, and IFLA_LINK when given. */
function newlink(index: number, link?: number, netnsid?: number): NetlinkMessage {
  const w = new NetlinkWriter().begin(C.RTM_NEWLINK, 0);
  const off = w.struct(C.IFINFOMSG_LEN);
  w.view.writeInt32LE(index, off + 4);
  w.string(C.IFLA_IFNAME, 'x');
  if (link !== undefined) w.u32(C.IFLA_LINK, link);
  if (netnsid !== undefined) w.u32(C.IFLA_LINK_NETNSID, netnsid);
  return parseMessages(w.end().finish())[0];
}

/** Runs an operation against scripted replies, one list per request; returns what it sent and what it resolved to. */
function run(op: Operation<LinkAdded>, replies: NetlinkMessage[][]): { sent: NetlinkMessage[]; result: LinkAdded } {
  const { result, requests } = drive(op, () => replies.shift() ?? []);
  return { sent: requests, result };
}

describe('links.add() result', () => {
  it("a veth: the link's index from the echo's header, the peer's from its IFLA_LINK; one request", () => {
    const { sent, result } = run(linkOps.add({ name: 'v0', kind: 'veth', peer: { name: 'p0' } }), [[newlink(7, 2, 0)]]);
    expect(sent).toHaveLength(1);
    expect(sent[0].type).toBe(C.RTM_NEWLINK);
    expect(sent[0].flags & NLM_F_ECHO).toBe(NLM_F_ECHO);
    expect(result).toEqual({ index: 7, peerIndex: 2 });
  });

  it('a kernel without the echo (ack only): the link is read back by name, once', () => {
    const { sent, result } = run(linkOps.add({ name: 'v0', kind: 'veth', peer: { name: 'p0' } }), [[], [newlink(9, 8)]]);
    expect(sent.map((m) => m.type)).toEqual([C.RTM_NEWLINK, C.RTM_GETLINK]);
    expect(result).toEqual({ index: 9, peerIndex: 8 });
  });

  it("another kind's IFLA_LINK is its parent, not a peer", () => {
    expect(run(linkOps.add({ name: 'm0', kind: 'macvlan', parent: 3 }), [[newlink(5, 3)]]).result).toEqual({ index: 5 });
  });

  it('a link created in another namespace: no echo asked (it would go to a socket there), no index', () => {
    const { sent, result } = run(linkOps.add({ name: 'b0', kind: 'bridge', netns: { pid: process.pid } }), []);
    expect(sent).toHaveLength(1);
    expect(sent[0].flags & NLM_F_ECHO).toBe(0);
    expect(result).toEqual({});
  });
});
