// Conntrack notifications as events: NEW with NLM_F_CREATE is a created
// entry, NEW without it a changed one, DELETE a destroyed one; other
// messages are not events.
import { describe, expect, it } from 'vitest';
import * as C from '../../lib/conntrack/constants';
import { writeTuple } from '../../lib/conntrack/entry';
import { decodeConntrackEvent } from '../../lib/conntrack/events';
import { NLM_F_CREATE, NLM_F_EXCL } from '../../lib/netlink/constants';
import { NFNL_SUBSYS_CTNETLINK, beginNfnl, nfnlType } from '../../lib/netlink/nfnetlink';
import { parseMessages } from '../../lib/netlink/parser';
import { NetlinkWriter } from '../../lib/netlink/writer';

function message(msg: number, flags: number) {
  const w = new NetlinkWriter();
  beginNfnl(w, nfnlType(NFNL_SUBSYS_CTNETLINK, msg), flags, 2);
  writeTuple(w, C.CTA_TUPLE_ORIG, 4, 17, { src: '10.0.0.1', dst: '10.0.0.2', sport: 1000, dport: 53 });
  writeTuple(w, C.CTA_TUPLE_REPLY, 4, 17, { src: '10.0.0.2', dst: '10.0.0.1', sport: 53, dport: 1000 });
  return parseMessages(w.end().finish())[0];
}

describe('conntrack events', () => {
  it('tells created, changed and destroyed entries apart', () => {
    const kind = (msg: number, flags: number) => {
      const e = decodeConntrackEvent(message(msg, flags));
      return e && [e.event, e.action, e.entry.original.dport];
    };
    expect(kind(C.IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL)).toEqual(['new', 'new', 53]);
    expect(kind(C.IPCTNL_MSG_CT_NEW, 0)).toEqual(['update', 'new', 53]);
    expect(kind(C.IPCTNL_MSG_CT_DELETE, 0)).toEqual(['destroy', 'del', 53]);
    expect(kind(C.IPCTNL_MSG_CT_GET, 0)).toBeUndefined();
  });
});
