// CTA_LABELS: the kernel's label bitmap (unsigned longs in host byte order)
// read into label numbers and written from them, and labels given by name.
import { describe, expect, it } from 'vitest';
import * as C from '../../lib/conntrack/constants';
import { decodeEntry, writeTuple } from '../../lib/conntrack/entry';
import { decodeLabels, encodeLabels } from '../../lib/conntrack/labels';
import { changeMessage } from '../../lib/conntrack/changes';
import { ValidationError } from '../../lib/netlink/errors';
import { NFNL_SUBSYS_CTNETLINK, beginNfnl, nfnlAttributes, nfnlType } from '../../lib/netlink/nfnetlink';
import { parseMessages } from '../../lib/netlink/parser';
import { NetlinkWriter } from '../../lib/netlink/writer';

const entry = { family: 4 as const, protocol: 'udp', original: { src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2 } };

describe('conntrack labels', () => {
  it('reads and writes the bitmap as a little-endian kernel lays it out', () => {
    const buf = Buffer.alloc(16);
    buf[0] = 0b00100001; // labels 0, 5
    buf[8] = 0b10000000; // label 71
    buf[15] = 0x80; // label 127
    expect(decodeLabels(buf, false)).toEqual([0, 5, 71, 127]);
    expect(encodeLabels([0, 5, 71, 127], false)).toEqual(buf);
  });

  it('and as a big-endian 64-bit one (label 0 is the last byte of the first word)', () => {
    const buf = Buffer.alloc(16);
    buf[7] = 0b00100001; // labels 0, 5
    buf[0] = 0x80; // label 63
    buf[8] = 0x80; // label 127
    expect(decodeLabels(buf, true)).toEqual([0, 5, 63, 127]);
    expect(encodeLabels([0, 5, 63, 127], true)).toEqual(buf);
  });

  it('decodes an entry with labels, and none when the bitmap is empty', () => {
    const message = (labels?: Buffer) => {
      const w = new NetlinkWriter();
      beginNfnl(w, nfnlType(NFNL_SUBSYS_CTNETLINK, C.IPCTNL_MSG_CT_NEW), 0, 2);
      writeTuple(w, C.CTA_TUPLE_ORIG, 4, 17, entry.original);
      writeTuple(w, C.CTA_TUPLE_REPLY, 4, 17, { src: '10.0.0.2', dst: '10.0.0.1', sport: 2, dport: 1 });
      if (labels) w.attr(C.CTA_LABELS, labels);
      return parseMessages(w.end().finish())[0];
    };
    expect(decodeEntry(message(encodeLabels([5, 100]))).labels).toEqual([5, 100]);
    expect(decodeEntry(message(Buffer.alloc(16))).labels).toBeUndefined();
    expect(decodeEntry(message()).labels).toBeUndefined();
  });

  it('sends the whole bitmap, and the mask when given', () => {
    const a = nfnlAttributes(parseMessages(changeMessage(entry, { labels: [7], labelsMask: [5, 7] }))[0]);
    expect(a.get(C.CTA_LABELS)).toEqual(encodeLabels([7]));
    expect(a.get(C.CTA_LABELS_MASK)).toEqual(encodeLabels([5, 7]));
    const b = nfnlAttributes(parseMessages(changeMessage(entry, { labels: [] }))[0]);
    expect(b.get(C.CTA_LABELS)).toEqual(Buffer.alloc(16));
    expect(b.get(C.CTA_LABELS_MASK)).toBeUndefined();
  });

  it('refuses labels that cannot be sent or would not change', () => {
    for (const bad of [
      { labels: [-1] },
      { labels: [1.5] },
      { labels: [128] },
      { labels: 5 },
      { labels: ['no-such-label-name'] },
      { labels: [1], labelsMask: [2] },
      {},
      { label: [1] },
    ]) {
      expect(() => changeMessage(entry, bad as never), JSON.stringify(bad)).toThrow(ValidationError);
    }
  });
});
