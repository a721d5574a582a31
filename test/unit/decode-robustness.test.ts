// Malformed messages decode to `undefined` fields where the type allows it
// and otherwise throw DecodeError — never a TypeError or RangeError. Each case
// here is a finding of the fuzz target (test/unit/fuzz.test.ts) or the issue
// that started it, kept as a regression test.
import { describe, expect, it } from 'vitest';
import { decodeEntry } from '../../lib/conntrack/entry';
import { DecodeError, NlkitError, ValidationError } from '../../lib/netlink/errors';
import { parseMessages, type NetlinkMessage } from '../../lib/netlink/parser';
import { NetlinkWriter } from '../../lib/netlink/writer';
import { NFTA_SET_KEY_TYPE, NFTA_SET_NAME, NFTA_SET_TABLE, NFT_MSG_NEWSET } from '../../lib/nftables/constants';
import { nftListOps, shapeOfMessage } from '../../lib/nftables/list';
import { beginNft } from '../../lib/nftables/message';
import { decodeSet } from '../../lib/nftables/set';
import { decodeEvent } from '../../lib/rtnetlink/events';
import { decodeLink, linkOps } from '../../lib/rtnetlink/link';
import { routeOps } from '../../lib/rtnetlink/route';

/** What a decoder threw (or undefined), for asserting on the class. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('conntrack entries', () => {
  const CT_NEW = (1 << 8) | 0;

  /** An IPCTNL_MSG_CT_NEW message; `ip` writes the CTA_TUPLE_IP nest of each tuple. */
  function entry(ip: (w: NetlinkWriter, direction: number) => void, opts: { proto?: boolean; reply?: boolean } = {}): NetlinkMessage {
    const w = new NetlinkWriter().begin(CT_NEW, 0);
    w.bytes(Buffer.from([2, 0, 0, 0]));
    for (const dir of opts.reply === false ? [1] : [1, 2]) {
      const t = w.nest(dir);
      const n = w.nest(1);
      ip(w, dir);
      w.endNest(n);
      if (opts.proto !== false) {
        const p = w.nest(2);
        w.u8(1, 6).be16(2, 1000).be16(3, 80);
        w.endNest(p);
      }
      w.endNest(t);
    }
    return parseMessages(w.end().finish())[0];
  }
  const v4 = (w: NetlinkWriter) => w.attr(1, Buffer.from([10, 0, 0, 1])).attr(2, Buffer.from([10, 0, 0, 2]));

  it('an IP nest without a source address is a DecodeError (was a TypeError)', () => {
    const e = thrown(() => decodeEntry(entry((w) => w.attr(2, Buffer.from([10, 0, 0, 2])))));
    expect(e).toBeInstanceOf(DecodeError);
    expect(e).toMatchObject({ what: 'conntrack entry', messageType: CT_NEW });
    expect((e as Error).message).toMatch(/original tuple has no source address/);
  });

  it('a missing destination, tuple or wrongly sized address is a DecodeError', () => {
    expect(thrown(() => decodeEntry(entry((w) => w.attr(1, Buffer.from([10, 0, 0, 1])))))).toBeInstanceOf(DecodeError);
    expect(thrown(() => decodeEntry(entry(v4, { reply: false })))).toBeInstanceOf(DecodeError);
    expect(thrown(() => decodeEntry(entry(() => undefined)))).toBeInstanceOf(DecodeError);
    const short = thrown(() => decodeEntry(entry((w) => w.attr(1, Buffer.from([10, 0, 0])).attr(2, Buffer.from([10, 0, 0, 2])))));
    expect(short).toBeInstanceOf(DecodeError);
    expect((short as Error).message).toMatch(/3 and 4 bytes/);
  });

  it('an IPv6 tuple decodes; a tuple without ports leaves them undefined', () => {
    const a6 = Buffer.alloc(16);
    a6[0] = 0xfd;
    a6[15] = 1;
    const e = decodeEntry(entry((w) => w.attr(3, a6).attr(4, a6), { proto: false }));
    expect(e.family).toBe(6);
    expect(e.original).toEqual({ src: 'fd00::1', dst: 'fd00::1' });
    expect(e.protocol).toBe(0);
    expect(decodeEntry(entry(v4)).original).toEqual({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1000, dport: 80 });
  });

  it('DecodeError is an NlkitError', () => {
    expect(new DecodeError('x', 'y')).toBeInstanceOf(NlkitError);
    expect(new DecodeError('route', 'no payload', 24).message).toBe('cannot decode route (message type 24): no payload');
  });
});

describe('links', () => {
  /** An RTM_NEWLINK message whose IFLA_LINKINFO names `kind`, with some IFLA_INFO_DATA. */
  function linkOfKind(kind: string): NetlinkMessage {
    const w = new NetlinkWriter().begin(16, 0);
    w.struct(16);
    w.string(3, 'x0');
    const info = w.nest(18);
    w.string(1, kind);
    const data = w.nest(2);
    w.u32(1, 7);
    w.endNest(data);
    w.endNest(info);
    return parseMessages(w.end().finish())[0];
  }

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])('a link kind named %j decodes as an unknown kind (was a TypeError)', (kind) => {
    const link = decodeLink(linkOfKind(kind));
    expect(link.kind).toBe(kind);
    expect(link.info).toEqual({}); // no decoder: empty, the data stays raw
    expect(link.infoRaw).toEqual([{ type: 1, nested: false, netByteOrder: false, data: Buffer.from([7, 0, 0, 0]) }]);
    expect(decodeEvent(linkOfKind(kind))).toMatchObject({ type: 'link', link: { kind } });
  });

  it('creating a link of such a kind is a ValidationError', () => {
    expect(() => linkOps.add({ name: 'x0', kind: 'constructor' } as never).next()).toThrow(ValidationError);
    expect(() => linkOps.add({ name: 'x0', kind: '__proto__' } as never).next()).toThrow(/unsupported/);
  });
});

describe('nftables sets', () => {
  it('a set without its key length has no element layout: DecodeError (was a ValidationError)', () => {
    const w = new NetlinkWriter();
    beginNft(w, NFT_MSG_NEWSET, 0, 1);
    w.string(NFTA_SET_TABLE, 't').string(NFTA_SET_NAME, 's').be32(NFTA_SET_KEY_TYPE, 4 /* integer: no fixed size */);
    const m = parseMessages(w.end().finish())[0];
    expect(decodeSet(m)).toMatchObject({ name: 's', keyType: 'integer', keyLength: 0 });
    const e = thrown(() => shapeOfMessage(m));
    expect(e).toBeInstanceOf(DecodeError);
    expect((e as DecodeError).message).toMatch(/nftables set .*inet t s.*no fixed size/);
  });
});

describe('replies without the expected message', () => {
  it('a get answered with nothing but the ack is a DecodeError (was a plain Error or a ValidationError)', () => {
    const answeredWithNothing = (op: Generator<unknown, unknown, NetlinkMessage[]>) => () => {
      op.next();
      op.next([]);
    };
    expect(answeredWithNothing(nftListOps.generation())).toThrow(DecodeError);
    expect(answeredWithNothing(nftListOps.getSet({ family: 'inet', table: 't', name: 's' }))).toThrow(/GETSET for inet t s without a NEWSET/);
    expect(answeredWithNothing(routeOps.lookup('10.0.0.1'))).toThrow(DecodeError);
  });
});
