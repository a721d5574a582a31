// Traffic control without a kernel: tc's notation for rates, sizes, times
// and handles; every bad input is a ValidationError naming the field,
// thrown before a request is made; requests and decoding of made-up replies.
// (Byte parity with tc: test/integration/tc-parity.test.ts.)
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib/netlink/errors';
import { parseMessages } from '../../lib/netlink/parser';
import { NetlinkWriter } from '../../lib/netlink/writer';
import * as C from '../../lib/rtnetlink/tc/constants';
import { tcClassOps } from '../../lib/rtnetlink/tc/class';
import { formatHandle, parseClassId, parseQdiscHandle } from '../../lib/rtnetlink/tc/handles';
import { decodeQdisc, qdiscOps } from '../../lib/rtnetlink/tc/qdisc';
import { parseRate, parseSize, parseTime, xmitSize, xmitTime } from '../../lib/rtnetlink/tc/units';
import { drive } from '../helpers/drive';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.field;
    throw e;
  }
  return undefined;
}

describe('tc notation', () => {
  it('rates: bits per second, or tc units (bit, kbit, mbit, gbit, kibit..., bps = bytes), to bytes per second', () => {
    expect(parseRate('8mbit', 'rate')).toBe(1_000_000n);
    expect(parseRate(8e6, 'rate')).toBe(1_000_000n);
    expect(parseRate('1.5Mbit', 'rate')).toBe(187_500n);
    expect(parseRate('100kbps', 'rate')).toBe(100_000n);
    expect(parseRate('1mibit', 'rate')).toBe(131_072n);
    expect(parseRate('40gbit', 'rate')).toBe(5_000_000_000n);
    expect(parseRate('800', 'rate')).toBe(100n);
    for (const bad of ['8 parsecs', 'mbit', '', '-1mbit', 0, 7, -8, NaN, Infinity, null, {}])
      expect(
        fieldOf(() => parseRate(bad, 'rate')),
        String(bad),
      ).toBe('rate');
  });

  it('sizes: bytes, or tc units (b, k/kb, m/mb, g/gb, kbit, mbit)', () => {
    expect(parseSize('32kb', 'burst')).toBe(32768);
    expect(parseSize('15k', 'burst')).toBe(15360);
    expect(parseSize('1600b', 'burst')).toBe(1600);
    expect(parseSize('1mbit', 'burst')).toBe(131072);
    expect(parseSize(1540, 'mtu')).toBe(1540);
    for (const bad of ['32 kilobytes', '', 0, 1.5, -1, 2 ** 32, '5gb', 'x'])
      expect(
        fieldOf(() => parseSize(bad, 'burst')),
        String(bad),
      ).toBe('burst');
  });

  it('times: microseconds, or tc units (s, ms, us)', () => {
    expect(parseTime('50ms', 'latency')).toBe(50_000);
    expect(parseTime('1s', 'latency')).toBe(1_000_000);
    expect(parseTime('400us', 'latency')).toBe(400);
    expect(parseTime(70_000, 'latency')).toBe(70_000);
    for (const bad of ['50 min', 0, -5, 1.5, '', true])
      expect(
        fieldOf(() => parseTime(bad, 'latency')),
        String(bad),
      ).toBe('latency');
  });

  it('handles as tc writes and prints them', () => {
    expect(parseClassId('1:10', 'classid')).toBe(0x10010);
    expect(parseClassId('ffff:fff1', 'parent')).toBe(C.TC_H_INGRESS);
    expect(parseClassId('ingress', 'parent')).toBe(C.TC_H_INGRESS);
    expect(parseClassId('root', 'parent')).toBe(C.TC_H_ROOT);
    expect(parseClassId(':a', 'classid')).toBe(0xa);
    expect(parseQdiscHandle('1:', 'handle')).toBe(0x10000);
    expect(parseQdiscHandle('8001:0', 'handle')).toBe(0x80010000);
    for (const h of [0x10010, 0x10000, 0xa, C.TC_H_ROOT, 0, 0xfffffff1]) expect(parseClassId(formatHandle(h), 'x')).toBe(h);
    expect(formatHandle(0xfffffff1)).toBe('ffff:fff1');
    for (const bad of ['1', '1:10000', 'x:1', '1:2:3', 1.5, -1, 2 ** 32, null])
      expect(
        fieldOf(() => parseClassId(bad, 'classid')),
        String(bad),
      ).toBe('classid');
    for (const bad of ['1:10', 'root', 'ingress', 0x10010])
      expect(
        fieldOf(() => parseQdiscHandle(bad, 'handle')),
        String(bad),
      ).toBe('handle');
  });

  it('transmit times in psched ticks and back, as tc_core.c (15.625 ticks per microsecond here)', () => {
    // 32 KiB at 1 MB/s: 32768 us, 512000 ticks; shown again as 32768 bytes.
    expect(xmitTime(1_000_000n, 32768)).toBe(512_000);
    expect(xmitSize(1_000_000n, 512_000)).toBe(32768);
    // tc truncates twice: 10 KiB at 375000 B/s shows as 10239 bytes.
    expect(xmitSize(375_000n, xmitTime(375_000n, 10240))).toBe(10239);
  });
});

describe('qdisc and class options: ValidationError before anything is sent', () => {
  const tbf = { rate: '8mbit', burst: '32kb', latency: '50ms' };
  const qdiscCases: Array<[unknown, string]> = [
    [{ link: 3, kind: 'tbf', options: tbf, prent: 'root' }, 'qdisc'],
    [{ kind: 'tbf', options: tbf }, 'link'],
    [{ link: 3, kind: 'sfq' }, 'kind'],
    [{ link: 3, kind: 'constructor' }, 'kind'],
    [{ link: 3, kind: 'tbf' }, 'options'],
    [{ link: 3, kind: 'tbf', options: { burst: '32kb', latency: '50ms' } }, 'rate'],
    [{ link: 3, kind: 'tbf', options: { rate: '8mbit', latency: '50ms' } }, 'burst'],
    [{ link: 3, kind: 'tbf', options: { rate: '8mbit', burst: '32kb' } }, 'limit'],
    [{ link: 3, kind: 'tbf', options: { ...tbf, limit: 10000 } }, 'latency'],
    [{ link: 3, kind: 'tbf', options: { ...tbf, peakrate: '10mbit' } }, 'mtu'],
    [{ link: 3, kind: 'tbf', options: { ...tbf, mtu: 1500 } }, 'mtu'],
    [{ link: 3, kind: 'tbf', options: { ...tbf, ratee: 1 } }, 'tbf options'],
    [{ link: 3, kind: 'tbf', options: tbf, handle: '1:1' }, 'handle'],
    [{ link: 3, kind: 'tbf', options: tbf, parent: 'up' }, 'parent'],
    [{ link: 3, kind: 'htb', options: { default: 'zz' } }, 'default'],
    [{ link: 3, kind: 'htb', options: { r2q: 0 } }, 'r2q'],
    [{ link: 3, kind: 'htb', options: { directQlen: -1 } }, 'directQlen'],
    [{ link: 3, kind: 'ingress', parent: 'root' }, 'parent'],
    [{ link: 3, kind: 'clsact', handle: '1:' }, 'handle'],
    [{ link: 3, kind: 'ingress', options: { any: 1 } }, 'ingress options'],
    [null, 'qdisc'],
  ];
  for (const [opts, field] of qdiscCases) {
    it(`qdiscs.add(${JSON.stringify(opts)}) names ${field}`, () => {
      expect(fieldOf(() => drive(qdiscOps.add(opts as never)))).toBe(field);
      expect(fieldOf(() => drive(qdiscOps.replace(opts as never)))).toBe(field);
    });
  }

  const htb = { rate: '5mbit' };
  const classCases: Array<[unknown, string]> = [
    [{ link: 3, classid: '1:10', kind: 'htb', options: htb, prio: 1 }, 'class'],
    [{ link: 3, classid: '1:0', kind: 'htb', options: htb }, 'classid'],
    [{ link: 3, classid: ':10', kind: 'htb', options: htb }, 'classid'],
    [{ link: 3, classid: 'root', kind: 'htb', options: htb }, 'classid'],
    [{ link: 3, classid: '1:10', kind: 'hfsc', options: htb }, 'kind'],
    [{ link: 3, classid: '1:10', kind: 'htb' }, 'options'],
    [{ link: 3, classid: '1:10', kind: 'htb', options: { ceil: '1mbit' } }, 'rate'],
    [{ link: 3, classid: '1:10', kind: 'htb', options: { ...htb, prio: 8 } }, 'prio'],
    [{ link: 3, classid: '1:10', kind: 'htb', options: { ...htb, quantum: 1.5 } }, 'quantum'],
    [{ link: 3, classid: '1:10', kind: 'htb', options: { ...htb, ceil: 'fast' } }, 'ceil'],
    [{ link: 3, classid: '1:10', kind: 'htb', options: { ...htb, cbursts: 1 } }, 'htb class options'],
    [{ link: 3, classid: '1:10', parent: '2:1', kind: 'htb', options: htb }, 'parent'],
  ];
  for (const [opts, field] of classCases) {
    it(`classes.add(${JSON.stringify(opts)}) names ${field}`, () => {
      expect(fieldOf(() => drive(tcClassOps.add(opts as never)))).toBe(field);
    });
  }

  it('keys, filters and delete options', () => {
    expect(fieldOf(() => drive(qdiscOps.delete({ link: 3 })))).toBe('parent');
    expect(fieldOf(() => drive(qdiscOps.delete({ link: 3, parent: 'root' }, { missingOk: 'yes' } as never)))).toBe('missingOk');
    expect(fieldOf(() => drive(qdiscOps.get({ link: 3, parent: 'root', tabel: 1 } as never)))).toBe('qdisc key');
    expect(fieldOf(() => drive(qdiscOps.list({ dev: 'eth0' } as never)))).toBe('qdisc filter');
    expect(fieldOf(() => drive(tcClassOps.delete({ link: 3, classid: '1:' })))).toBe('classid');
    expect(fieldOf(() => drive(tcClassOps.list({ qdisc: '1:10' })))).toBe('qdisc');
    expect(fieldOf(() => drive(tcClassOps.list({ parent: '1:' } as never)))).toBe('class filter');
  });
});

describe('requests and replies', () => {
  it('delete by parent sends RTM_DELQDISC with that parent; by handle it looks the parent up first', () => {
    const [del] = drive(qdiscOps.delete({ link: 3, parent: 'ingress' })).requests;
    expect(del.type).toBe(C.RTM_DELQDISC);
    expect(del.payload.readUInt32LE(12)).toBe(C.TC_H_INGRESS);
    const listed = qdiscMessage('htb', 0x10000, 0x50010);
    const { requests, result } = drive(qdiscOps.delete({ link: 3, handle: '1:' }), (r) => (r.type === C.RTM_GETQDISC ? [listed] : []));
    expect(result).toBe(true);
    expect(requests.map((r) => r.type)).toEqual([C.RTM_GETQDISC, C.RTM_DELQDISC]);
    expect(requests[1].payload.readUInt32LE(12)).toBe(0x50010);
  });

  it('a qdisc of a kind nlkit does not decode keeps its options raw; short options do not throw', () => {
    const q = decodeQdisc(qdiscMessage('fq_codel', 0x80010000, C.TC_H_ROOT, Buffer.from([8, 0, 1, 0, 0x10, 0x27, 0, 0])));
    expect(q).toMatchObject({ kind: 'fq_codel', handle: '8001:', parent: 'root', options: {} });
    expect('optionsRaw' in q && q.optionsRaw?.length).toBe(8);
    const short = decodeQdisc(qdiscMessage('tbf', 0x10000, C.TC_H_ROOT, Buffer.from([8, 0, 1, 0, 1, 2, 3, 4])));
    expect(short).toMatchObject({ kind: 'tbf', options: { rate: 0, burst: 0, limit: 0 } });
  });
});

/** An RTM_NEWQDISC as the kernel sends it, for link 3. */
function qdiscMessage(kind: string, handle: number, parent: number, options?: Buffer) {
  const w = new NetlinkWriter().begin(C.RTM_NEWQDISC, 0);
  const off = w.struct(C.TCMSG_LEN);
  w.view.writeInt32LE(3, off + 4);
  w.view.writeUInt32LE(handle, off + 8);
  w.view.writeUInt32LE(parent, off + 12);
  w.string(C.TCA_KIND, kind);
  if (options) w.attr(C.TCA_OPTIONS, options);
  return parseMessages(w.end().finish())[0];
}
