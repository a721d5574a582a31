// Typed nftables objects without a kernel: secmark (the kernel here has no
// SELinux, so it refuses them) encodes as nft sends it, captured with
// `nft --debug=mnl add secmark ip t s "system_u:object_r:ssh_t:s0"`, and
// decodes the kernel's NUL-terminated form; the other typed objects
// round-trip through their wire form (their kernel tests are in
// test/integration/nft-objects.test.ts).
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib';
import { Attributes, parseMessages } from '../../lib/netlink/parser';
import { NetlinkWriter } from '../../lib/netlink/writer';
import * as C from '../../lib/nftables/constants';
import { decodeObject, writeNewObject, type NftObject } from '../../lib/nftables/object';

function encode(o: NftObject): Buffer {
  const w = new NetlinkWriter();
  writeNewObject(w, o, 0);
  return w.finish();
}

function objectData(message: Buffer): Buffer {
  const m = parseMessages(message)[0];
  return Buffer.from(new Attributes(m.payload, 4).get(C.NFTA_OBJ_DATA) ?? []);
}

const T = { family: 'ip', table: 't' } as const;

describe('typed nftables objects on the wire', () => {
  it('secmark: the same NFTA_OBJ_DATA bytes as nft, and the kernel form decodes', () => {
    const msg = encode({ ...T, name: 's', type: 'secmark', context: 'system_u:object_r:ssh_t:s0' });
    // nft: one attribute NFTA_SECMARK_CTX (len 30, type 1), the context without its NUL, padded to 4.
    expect(objectData(msg).toString('hex')).toBe('1e000100' + Buffer.from('system_u:object_r:ssh_t:s0').toString('hex') + '0000');
    expect(decodeObject(parseMessages(msg)[0])).toEqual({ ...T, name: 's', type: 'secmark', context: 'system_u:object_r:ssh_t:s0' });

    // The kernel dumps the context with its NUL (nla_put_string).
    const w = new NetlinkWriter();
    w.begin(0, 0).struct(4);
    w.string(C.NFTA_OBJ_TABLE, 't').string(C.NFTA_OBJ_NAME, 's').be32(C.NFTA_OBJ_TYPE, C.NFT_OBJECT_SECMARK);
    const data = w.nest(C.NFTA_OBJ_DATA);
    w.string(1, 'system_u:object_r:ssh_t:s0');
    w.endNest(data);
    const fromKernel = parseMessages(w.end().finish())[0];
    expect(decodeObject(fromKernel)).toMatchObject({ type: 'secmark', context: 'system_u:object_r:ssh_t:s0' });
  });

  it('secmark: an empty context, one with NUL or longer than the kernel takes is a ValidationError', () => {
    for (const context of ['', 'a\0b', 'x'.repeat(4096)]) {
      expect(() => encode({ ...T, name: 's', type: 'secmark', context })).toThrow(ValidationError);
    }
  });

  it('ct timeout: states are written in attribute order; unnamed states round-trip as numbers in strings', () => {
    const o: NftObject = { ...T, name: 'x', type: 'ct timeout', protocol: 'tcp', l3proto: 'ip', policy: { close: 4, established: 100, '12': 9 } };
    const data = new Attributes(objectData(encode(o)));
    const policy = data.nested(3)?.unknown(new Set()) ?? [];
    expect(policy.map((a) => [a.type, a.data.readUInt32BE(0)])).toEqual([
      [3, 100],
      [8, 4],
      [12, 9],
    ]);
    expect(decodeObject(parseMessages(encode(o))[0])).toEqual(o);
  });

  it('ct helper, ct expectation and synproxy round-trip; synproxy without mss/wscale leaves them out', () => {
    const objects: NftObject[] = [
      { ...T, name: 'h', type: 'ct helper', helper: 'ftp', protocol: 'tcp', l3proto: 'inet' },
      { ...T, name: 'e', type: 'ct expectation', protocol: 'udp', dport: 5060, timeout: 2000, size: 3, l3proto: 'ip6' },
      { ...T, name: 's', type: 'synproxy', mss: 1460, wscale: 7, timestamp: true, sackPerm: true, ecn: true },
      { ...T, name: 's0', type: 'synproxy', timestamp: true },
    ];
    for (const o of objects) expect(decodeObject(parseMessages(encode(o))[0])).toEqual(o);
  });
});
