import { describe, expect, it } from 'vitest';
import { NLMSG_ERROR, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLA_F_NESTED } from '../../lib/netlink/constants';
import { decodeErrorMessage, decodeDoneMessage } from '../../lib/netlink/extack';
import { Attributes, parseMessages } from '../../lib/netlink/parser';
import { NetlinkWriter } from '../../lib/netlink/writer';

describe('NetlinkWriter / parser', () => {
  it('frames a message with aligned attributes and a correct length', () => {
    const w = new NetlinkWriter(8).begin(16, 0x400);
    w.struct(16);
    w.string(3, 'veth0');
    w.u32(4, 1500);
    w.u8(16, 6);
    const buf = w.end().finish();
    expect(buf.length % 4).toBe(0);
    const [m] = parseMessages(buf);
    expect(buf.readUInt32LE(0)).toBe(buf.length);
    expect(m.type).toBe(16);
    expect(m.flags & 1).toBe(1); // NLM_F_REQUEST is always set
    expect(m.flags & 0x400).toBe(0x400);
    const a = new Attributes(m.payload, 16);
    expect(a.string(3)).toBe('veth0');
    expect(a.u32(4)).toBe(1500);
    expect(a.u8(16)).toBe(6);
    // "veth0\0" is 6 bytes, padded to 8: attribute length 10, next at +12
    expect(m.payload.readUInt16LE(16)).toBe(10);
  });

  it('keeps a number attribute that makes the buffer grow (each method, the buffer exactly full before it)', () => {
    const cases: Array<[keyof NetlinkWriter, number | bigint, (a: Attributes) => unknown]> = [
      ['u8', 7, (a) => a.u8(2)],
      ['u16', 0x1234, (a) => a.u16(2)],
      ['u32', 1000, (a) => a.u32(2)],
      ['s32', -5, (a) => a.s32(2)],
      ['u64', 1n << 40n, (a) => a.u64(2)],
      ['be16', 0x1234, (a) => a.be16(2)],
      ['be32', 1000, (a) => a.be32(2)],
      ['be64', 1n << 40n, (a) => a.be64(2)],
    ];
    for (const [method, value, read] of cases) {
      // 16 (header) + 8 (struct) + 8 (u32 attribute): full at 32 bytes
      const w = new NetlinkWriter(32).begin(16, 0);
      w.struct(8);
      w.u32(1, 1);
      (w[method] as (t: number, v: number | bigint) => NetlinkWriter).call(w, 2, value);
      const [m] = parseMessages(w.end().finish());
      expect(read(new Attributes(m.payload, 8)), method).toBe(value);
    }
  });

  it('nests attributes with NLA_F_NESTED and keeps unknown types', () => {
    const w = new NetlinkWriter().begin(16, 0);
    const outer = w.nest(18);
    w.string(1, 'bridge');
    const inner = w.nest(2);
    w.u32(5, 1);
    w.endNest(inner);
    w.endNest(outer);
    w.attr(999, Buffer.from([1, 2, 3]));
    const [m] = parseMessages(w.end().finish());
    const a = new Attributes(m.payload);
    expect(a.list[0].nested).toBe(true);
    expect(m.payload.readUInt16LE(2) & NLA_F_NESTED).toBe(NLA_F_NESTED);
    const li = a.nested(18)!;
    expect(li.string(1)).toBe('bridge');
    expect(li.nested(2)!.u32(5)).toBe(1);
    expect(a.get(999)).toEqual(Buffer.from([1, 2, 3]));
  });

  it('writes several messages into one batch buffer', () => {
    const w = new NetlinkWriter();
    w.begin(16, 0).u32(1, 1).end();
    w.begin(17, 0).u32(1, 2).end();
    const msgs = parseMessages(w.finish());
    expect(msgs.map((m) => m.type)).toEqual([16, 17]);
    expect(w.messageOffsets).toEqual([0, 24]);
  });

  it('stops at a truncated message instead of misreading it', () => {
    const w = new NetlinkWriter().begin(16, 0).u32(1, 1).end();
    const buf = w.finish();
    expect(parseMessages(buf.subarray(0, buf.length - 4))).toEqual([]);
  });

  it('tolerates short attributes (structs that grew or shrank)', () => {
    const w = new NetlinkWriter().begin(16, 0);
    w.attr(4, Buffer.from([1, 2])); // a "u32" that is only 2 bytes
    const [m] = parseMessages(w.end().finish());
    const a = new Attributes(m.payload);
    expect(a.u32(4)).toBeUndefined();
    expect(a.u16(4)).toBe(0x0201);
  });
});

describe('extended ack decoding', () => {
  function errorMessage(errno: number, flags: number, tlvs: Array<[number, Buffer]>): Buffer {
    const w = new NetlinkWriter().begin(NLMSG_ERROR, flags);
    const off = w.struct(4 + 16);
    w.view.writeInt32LE(-errno, off);
    w.view.writeUInt32LE(36, off + 4); // the original request's nlmsg_len
    for (const [t, d] of tlvs) w.attr(t, d);
    return w.end().finish();
  }

  it('reads errno, message and offset from a capped ack', () => {
    const buf = errorMessage(17, NLM_F_CAPPED | NLM_F_ACK_TLVS, [
      [1, Buffer.from('Address already assigned\0')],
      [2, Buffer.from([24, 0, 0, 0])],
    ]);
    const e = decodeErrorMessage(parseMessages(buf)[0]);
    expect(e).toEqual({ errno: 17, extack: 'Address already assigned', extackOffset: 24 });
  });

  it('reads a plain ack as errno 0', () => {
    const buf = errorMessage(0, NLM_F_CAPPED, []);
    expect(decodeErrorMessage(parseMessages(buf)[0])).toEqual({ errno: 0 });
  });

  it('reads the status of NLMSG_DONE', () => {
    const w = new NetlinkWriter().begin(3, 0);
    const off = w.struct(4);
    w.view.writeInt32LE(-22, off);
    expect(decodeDoneMessage(parseMessages(w.end().finish())[0]).errno).toBe(22);
  });
});
