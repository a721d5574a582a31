// Set elements written straight into the message (no Buffer per key or
// value) give the same bytes as the encoder they replaced (main at 14a2ab1:
// its output is recorded in test/fixtures/golden/set-elements.json): for exact keys of every field
// size, concatenations, intervals, verdict, data, interval-data and object
// maps, timeouts, comments, expressions, catch-all elements, raw bytes of
// unknown types, every message kind and lists long enough to be split; and
// the same errors for bad input.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib';
import { NetlinkWriter } from '../../lib/netlink/writer';
import * as C from '../../lib/nftables/constants';
import { concatTypeId } from '../../lib/nftables/datatypes';
import { writeElements, type SetElement } from '../../lib/nftables/elements';
import { shapeOf, type NftSet } from '../../lib/nftables/set';
import { golden } from '../helpers/golden';

const GOLDEN = golden('set-elements');

type Msg = Parameters<typeof writeElements>[1];
type ShapeInput = Pick<NftSet, 'keyType' | 'keyLength' | 'dataType' | 'dataLength' | 'dataInterval' | 'objectType' | 'flags'>;

const MESSAGES: Msg[] = [C.NFT_MSG_NEWSETELEM, C.NFT_MSG_DELSETELEM, C.NFT_MSG_DESTROYSETELEM, C.NFT_MSG_GETSETELEM];

/** The encoder's bytes (or error) for the elements. */
function encode(set: ShapeInput, elements: SetElement[], msg: Msg = C.NFT_MSG_NEWSETELEM, setId?: number) {
  const target = { family: 'inet' as const, table: 't', set: 's', setId };
  const w = new NetlinkWriter(64);
  try {
    const n = writeElements(w, msg, C.NFT_MSG_NEWSETELEM === msg ? 0x400 : 0, target, shapeOf(set), elements);
    return { n, bytes: w.finish().toString('hex') };
  } catch (e) {
    return { error: e instanceof ValidationError ? `${e.constructor.name} ${e.field}: ${e.message}` : String(e) };
  }
}

function expectSame(set: ShapeInput, elements: SetElement[], msgs: Msg[] = MESSAGES, setId?: number): void {
  for (const msg of msgs) {
    const now = encode(set, elements, msg, setId);
    expect(now.error).toBeUndefined();
    GOLDEN.check(now);
  }
}

describe('set elements written in place', () => {
  it('exact keys of every field size, alone and concatenated (padding per field)', () => {
    const v4 = ['10.0.0.1', '192.168.255.254', '0.0.0.0'];
    expectSame(
      { keyType: 'ipv4_addr' },
      v4.map((key) => ({ key })),
    );
    expectSame({ keyType: 'ipv6_addr' }, [{ key: 'fd00::1' }, { key: '::' }, { key: '2001:db8::ffff:1' }]);
    expectSame({ keyType: 'inet_service' }, [{ key: 80 }, { key: 65535 }, { key: 0 }]);
    expectSame({ keyType: 'inet_proto' }, [{ key: 'tcp' }, { key: 'udp' }, { key: 132 }]);
    expectSame({ keyType: 'ether_addr' }, [{ key: '02:00:00:00:00:01' }]);
    expectSame({ keyType: 'mark' }, [{ key: 0 }, { key: 7 }, { key: 0xffffffff }]);
    expectSame({ keyType: 'ifname' }, [{ key: 'veth0' }, { key: 'a-very-long-nam' }]);
    expectSame({ keyType: 'ct_state' }, [{ key: 2 }, { key: 8 }]);
    expectSame({ keyType: 'integer', keyLength: 8 }, [{ key: 5 }, { key: 1n << 40n }]);
    // The services' shared maps: (address . protocol . port . slot) → address . port, and the hairpin sets.
    const slots = Array.from({ length: 64 }, (_, i) => ({ key: ['10.96.1.2', 'tcp', 80, i], value: [`10.200.1.${i % 10}`, 8080] }));
    expectSame({ keyType: ['ipv4_addr', 'inet_proto', 'inet_service', 'mark'], dataType: ['ipv4_addr', 'inet_service'] }, slots);
    expectSame({ keyType: ['ipv6_addr', 'inet_proto', 'inet_service', 'mark'], dataType: ['ipv6_addr', 'inet_service'] }, [
      { key: ['fd00:96::1', 'udp', 53, 3], value: ['fd00:200::9', 5353] },
    ]);
    expectSame({ keyType: ['ipv4_addr', 'ipv4_addr', 'inet_proto', 'inet_service'] }, [{ key: ['10.200.1.1', '10.96.1.2', 'sctp', 80] }]);
    expectSame({ keyType: ['ifname', 'ether_addr', 'inet_service'] }, [{ key: ['veth1', '02:00:00:00:00:02', 22] }]);
    expectSame({ keyType: ['inet_proto', 'inet_service'], dataType: 'verdict' }, [{ key: ['tcp', 30080], verdict: { code: 'goto', chain: 'pick4-tcp-64' } }]);
  });

  it('the same bytes when a field comes from the cache of parsed fields (second and later encodings)', () => {
    const set: ShapeInput = { keyType: ['ipv4_addr', 'inet_service'], dataType: ['ipv4_addr', 'inet_service'] };
    const elements = [{ key: ['10.9.9.9', 443], value: ['10.8.8.8', 8443] }];
    for (let i = 0; i < 3; i++) expectSame(set, elements);
  });

  it('verdict, data, interval-data and object maps, with timeouts, expirations, comments and expressions', () => {
    expectSame({ keyType: ['ipv4_addr', 'inet_proto', 'inet_service'], dataType: 'verdict' }, [
      { key: ['10.96.0.1', 'tcp', 80], verdict: { code: 'goto', chain: 'pick4-tcp-64' } },
      { key: ['10.96.0.2', 'udp', 53], verdict: { code: 'jump', chain: 'svc' } },
      { key: ['10.96.0.3', 'tcp', 22], verdict: { code: 'drop' } },
      { key: ['10.96.0.4', 'tcp', 25], verdict: { code: 'accept' }, comment: 'mail', timeout: 5000 },
    ]);
    expectSame({ keyType: 'ipv4_addr', dataType: 'verdict' }, [{ key: '10.0.0.1', verdict: { code: 'jump', chainId: 3 } }]);
    expectSame({ keyType: 'ipv4_addr', dataType: 'ipv4_addr', flags: ['timeout'] }, [
      { key: '10.0.0.1', value: '10.1.0.1', timeout: 60_000, expires: 1234 },
      { key: '10.0.0.2', value: '10.1.0.2', comment: 'two', expires: 5 },
      { key: '10.0.0.3', value: '10.1.0.3', timeout: 0 },
    ]);
    expectSame({ keyType: 'ipv4_addr', dataType: 'ipv4_addr', dataInterval: true }, [
      { key: '10.0.0.1', value: '192.168.0.0/24' },
      { key: '10.0.0.2', value: '192.168.1.10-192.168.1.20' },
      { key: '10.0.0.3', value: '192.168.2.1' },
    ]);
    expectSame({ keyType: 'inet_service', objectType: 'counter' }, [{ key: 80, object: 'web' }]);
    expectSame({ keyType: ['ipv4_addr', 'inet_service'], flags: ['dynamic'] }, [
      { key: ['10.0.0.1', 80], expressions: [{ type: 'counter', packets: 0n, bytes: 0n }] },
      {
        key: ['10.0.0.2', 80],
        expressions: [
          { type: 'counter', packets: 1n, bytes: 2n },
          { type: 'limit', rate: 10, unit: 1, burst: 5, limitType: 'packets' },
        ],
      },
      { key: ['10.0.0.3', 80], comment: 'x'.repeat(100) },
    ]);
  });

  it('catch-all elements, with and without data', () => {
    expectSame({ keyType: 'ipv4_addr' }, [{ key: '10.0.0.1' }, { key: '*', catchall: true }]);
    expectSame({ keyType: 'ipv4_addr', dataType: 'verdict' }, [{ key: '*', catchall: true, verdict: { code: 'drop' } }]);
    expectSame({ keyType: 'ipv4_addr', flags: ['interval'] }, [{ key: '10.0.0.0/8' }, { key: '*', catchall: true }]);
  });

  it('intervals: single fields (start/end pairs) and concatenations (key and key end)', () => {
    expectSame({ keyType: 'ipv4_addr', flags: ['interval'] }, [{ key: '192.168.1.1' }, { key: '10.0.0.0/8' }, { key: '11.0.0.0-11.0.0.9' }]);
    expectSame({ keyType: 'inet_service', flags: ['interval'] }, [{ key: '1000-2000' }, { key: 22 }, { key: 65535 }]);
    expectSame({ keyType: ['ipv4_addr', 'inet_service'], flags: ['interval'] }, [
      { key: ['10.0.0.0/24', '80-90'] },
      { key: ['10.1.0.1', 22], keyEnd: ['10.1.0.9', 22] },
    ]);
    expectSame({ keyType: 'ipv4_addr', dataType: 'verdict', flags: ['interval'] }, [{ key: '10.0.0.0/8', verdict: { code: 'accept' } }]);
  });

  it('raw bytes of types nlkit does not know, and an element list split over several messages', () => {
    const unknownConcat = concatTypeId([7, 60]); // ipv4_addr . (type 60, unknown)
    expectSame({ keyType: 60, keyLength: 3 }, [{ key: Buffer.from([1, 2, 3]) }]);
    expectSame({ keyType: unknownConcat, keyLength: 8 }, [{ key: Buffer.from([10, 0, 0, 1, 0, 80, 0, 0]) }]);
    const many = Array.from({ length: 3000 }, (_, i) => ({ key: [`fd00::${i.toString(16)}`, 'tcp', 443, i], value: [`fd01::${i.toString(16)}`, 8443] }));
    const big = { keyType: ['ipv6_addr', 'inet_proto', 'inet_service', 'mark'], dataType: ['ipv6_addr', 'inet_service'] } as ShapeInput;
    expectSame(big, many);
    expect(encode(big, many).n).toBeGreaterThan(1);
    expectSame({ keyType: 'ipv4_addr' }, [], MESSAGES, 7);
    expectSame({ keyType: ['ipv4_addr', 'inet_service'] }, [{ key: ['10.0.0.1', 80] }], MESSAGES, 9);
  });

  it('refuses the same bad input with the same error', () => {
    const cases: Array<[ShapeInput, SetElement[]]> = [
      [{ keyType: 'inet_service' }, [{ key: 70000 }]],
      [{ keyType: 'ipv4_addr' }, [{ key: 'fd00::1' }]],
      [{ keyType: ['ipv4_addr', 'inet_service'] }, [{ key: '10.0.0.1' }]],
      [{ keyType: ['ipv4_addr', 'inet_service'] }, [{ key: ['10.0.0.1', 80, 3] }]],
      [{ keyType: ['ipv4_addr', 'inet_service'] }, [{ key: ['10.0.0.1', 'http-ish'] }]],
      [{ keyType: ['ipv4_addr', 'inet_service'] }, [{ key: ['10.0.0.1', 80], keyEnd: ['10.0.0.2', 80] }]],
      [{ keyType: 'ipv4_addr', dataType: 'verdict' }, [{ key: '10.0.0.1' }]],
      [{ keyType: 'ipv4_addr', dataType: ['ipv4_addr', 'inet_service'] }, [{ key: '10.0.0.1' }]],
      [{ keyType: 'ipv4_addr', dataType: ['ipv4_addr', 'inet_service'] }, [{ key: '10.0.0.1', value: ['10.0.0.2'] }]],
      [{ keyType: 'ipv4_addr', objectType: 'counter' }, [{ key: '10.0.0.1' }]],
      [{ keyType: 60, keyLength: 3 }, [{ key: Buffer.from([1, 2]) }]],
      [{ keyType: 'ipv4_addr', flags: ['interval'] }, [{ key: '10.0.0.0/8' }, { key: '10.1.0.0/16' }]],
      [{ keyType: 'ipv4_addr' }, [{ key: '10.0.0.1', timeout: -1 }]],
      [{ keyType: 'ipv4_addr' }, [{ key: '10.0.0.1', comment: 'x'.repeat(300) }]],
    ];
    for (const [set, elements] of cases) {
      const now = encode(set, elements);
      expect(now.error).toMatch(/ValidationError/);
      GOLDEN.check(now);
    }
  });
});
