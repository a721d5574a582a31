// CTA_HELP: the helper's name (CTA_HELP_NAME, NUL-terminated) decodes as
// entry.helper; an entry without CTA_HELP, or with an empty one, has none.
import { describe, expect, it } from 'vitest';
import * as C from '../../lib/conntrack/constants';
import { decodeEntry, writeTuple } from '../../lib/conntrack/entry';
import { NFNL_SUBSYS_CTNETLINK, beginNfnl, nfnlType } from '../../lib/netlink/nfnetlink';
import { parseMessages } from '../../lib/netlink/parser';
import { NetlinkWriter } from '../../lib/netlink/writer';

function message(help?: Buffer) {
  const w = new NetlinkWriter();
  beginNfnl(w, nfnlType(NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_NEW), 0, 2);
  writeTuple(w, C.CTA_TUPLE_ORIG, 4, 6, { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 21 });
  writeTuple(w, C.CTA_TUPLE_REPLY, 4, 6, { src: '10.0.0.2', dst: '10.0.0.1', sport: 21, dport: 40000 });
  if (help) {
    const n = w.nest(C.CTA_HELP);
    if (help.length > 0) w.attr(C.CTA_HELP_NAME, help);
    w.endNest(n);
  }
  return parseMessages(w.end().finish())[0];
}

describe('conntrack helper', () => {
  it('decodes the helper name', () => {
    expect(decodeEntry(message(Buffer.from('ftp\0'))).helper).toBe('ftp');
    expect(decodeEntry(message(Buffer.from('sip\0'))).helper).toBe('sip');
  });

  it('has none without CTA_HELP or without a name in it', () => {
    expect(decodeEntry(message()).helper).toBeUndefined();
    expect(decodeEntry(message(Buffer.alloc(0))).helper).toBeUndefined();
  });
});
