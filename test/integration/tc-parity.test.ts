// nlkit's traffic control requests against tc's, byte for byte: each tc
// command runs in a throw-away namespace (`unshare -n`) under strace, which
// dumps the netlink request tc sends; nlkit builds the same request for the
// same options. Only the sequence number, port id, ACK flag and interface
// index may differ.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Operation } from '../../lib/netlink/operation';
import { tcClassOps } from '../../lib/rtnetlink/tc/class';
import { qdiscOps } from '../../lib/rtnetlink/tc/qdisc';
import { drive } from '../helpers/drive';
import { requireRoot } from '../helpers/netns';

/** The netlink messages tc sent, from strace's hex dumps of sendmsg. */
function tcRequest(args: string): Buffer {
  const script = `ip link add name va type veth peer name vb; ip link set va up; ${args.includes('class') ? 'tc qdisc add dev va root handle 1: htb;' : ''} strace -e trace=sendmsg -e write=all tc ${args} 2>&1 || true`;
  const out = execFileSync('unshare', ['-n', 'sh', '-c', script], { encoding: 'utf8' });
  const sends = out.split(/^sendmsg\(/m).slice(1);
  for (const send of sends) {
    const bytes = [...send.matchAll(/^ \| [0-9a-f]{5} {2}((?:[0-9a-f]{2} {1,2}){1,16})/gm)].flatMap((m) => m[1].trim().split(/\s+/));
    const buf = Buffer.from(bytes.join(''), 'hex');
    if (buf.length >= 20 && [36, 37, 40, 41].includes(buf.readUInt16LE(4))) return buf;
  }
  throw new Error(`no qdisc or class request from tc ${args}:\n${out}`);
}

/** nlkit's request for an operation (the interface given by index, so nothing else is asked). */
function nlkitRequest(op: Operation<unknown>): Buffer {
  const [m] = drive(op).requests;
  const w = Buffer.alloc(16);
  w.writeUInt32LE(16 + m.payload.length, 0);
  w.writeUInt16LE(m.type, 4);
  w.writeUInt16LE(m.flags, 6);
  return Buffer.concat([w, m.payload]);
}

/** Zeroes what may differ: sequence, port id, the ACK flag, the interface index. */
function comparable(b: Buffer): Buffer {
  const c = Buffer.from(b);
  c.writeUInt16LE(c.readUInt16LE(6) & ~0x4, 6);
  c.fill(0, 8, 16);
  c.fill(0, 20, 24);
  return c;
}

describe('tc requests, byte for byte', () => {
  requireRoot();
  const cases: Array<[string, Operation<unknown>]> = [
    [
      'qdisc add dev va root tbf rate 8mbit burst 32kb latency 50ms',
      qdiscOps.add({ link: 3, kind: 'tbf', options: { rate: '8mbit', burst: '32kb', latency: '50ms' } }),
    ],
    [
      'qdisc add dev va root handle 5: tbf rate 3mbit burst 10kb latency 70ms peakrate 4mbit mtu 1540',
      qdiscOps.add({ link: 3, handle: '5:', kind: 'tbf', options: { rate: 3e6, burst: 10240, latency: 70000, peakrate: '4mbit', mtu: 1540 } }),
    ],
    [
      'qdisc replace dev va root tbf rate 40gbit burst 1mb limit 10mb',
      qdiscOps.replace({ link: 3, kind: 'tbf', options: { rate: '40gbit', burst: '1mb', limit: '10mb' } }),
    ],
    [
      'qdisc add dev va root tbf rate 50gbit burst 2mb latency 1ms',
      qdiscOps.add({ link: 3, kind: 'tbf', options: { rate: '50gbit', burst: '2mb', latency: '1ms' } }),
    ],
    [
      'qdisc add dev va root tbf rate 50gbit burst 2mb latency 2ms peakrate 60gbit mtu 64kb',
      qdiscOps.add({ link: 3, kind: 'tbf', options: { rate: '50gbit', burst: '2mb', latency: '2ms', peakrate: '60gbit', mtu: '64kb' } }),
    ],
    [
      'qdisc add dev va root tbf rate 1500kbit burst 1600 latency 1s',
      qdiscOps.add({ link: 3, kind: 'tbf', options: { rate: '1500kbit', burst: 1600, latency: '1s' } }),
    ],
    ['qdisc add dev va root handle 1: htb default 10 r2q 5', qdiscOps.add({ link: 3, handle: '1:', kind: 'htb', options: { default: '10', r2q: 5 } })],
    ['qdisc add dev va root handle 1: htb', qdiscOps.add({ link: 3, handle: '1:', kind: 'htb' })],
    [
      'qdisc add dev va parent 1:10 handle 20: htb direct_qlen 100',
      qdiscOps.add({ link: 3, parent: '1:10', handle: '20:', kind: 'htb', options: { directQlen: 100 } }),
    ],
    ['qdisc add dev va ingress', qdiscOps.add({ link: 3, kind: 'ingress' })],
    ['qdisc add dev va clsact', qdiscOps.add({ link: 3, kind: 'clsact' })],
    ['qdisc del dev va root', qdiscOps.delete({ link: 3, parent: 'root' })],
    [
      'class add dev va parent 1: classid 1:10 htb rate 5mbit ceil 10mbit prio 1',
      tcClassOps.add({ link: 3, parent: '1:', classid: '1:10', kind: 'htb', options: { rate: '5mbit', ceil: '10mbit', prio: 1 } }),
    ],
    [
      'class add dev va parent 1:1 classid 1:20 htb rate 2mbit burst 15k cburst 20k quantum 3000 mtu 9000',
      tcClassOps.add({
        link: 3,
        parent: '1:1',
        classid: '1:20',
        kind: 'htb',
        options: { rate: '2mbit', burst: '15k', cburst: 20480, quantum: 3000, mtu: 9000 },
      }),
    ],
    [
      'class replace dev va parent 1: classid 1:30 htb rate 50gbit ceil 60gbit',
      tcClassOps.replace({ link: 3, parent: '1:', classid: '1:30', kind: 'htb', options: { rate: '50gbit', ceil: '60gbit' } }),
    ],
  ];
  for (const [args, op] of cases) {
    it(`tc ${args}`, () => {
      const theirs = tcRequest(args);
      const mine = nlkitRequest(op);
      expect(comparable(mine).toString('hex')).toBe(comparable(theirs).toString('hex'));
    });
  }
});
