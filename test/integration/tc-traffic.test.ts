// Traffic control on real packets, the CNI bandwidth plugin's case: two
// namespaces joined by a veth, one TCP flow sent as fast as it goes; the
// rate measured at the receiver must follow the qdisc nlkit put on the
// sender's interface (a correctness check of the shaping with a wide
// tolerance, not a performance assert), and be far below the unshaped rate
// measured in the same test.
import type * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { connectTcp, listenTcp } from '../../lib';
import { ipJson, useNetns } from '../helpers/netns';

const box = useNetns('snd', 'rcv');
const snd = () => box.h('snd');

/** Bytes the receiver's interface has received so far. */
async function rxBytes(): Promise<number> {
  const l = await box.h('rcv').links.get('eth0');
  return Number(l.stats?.rxBytes ?? 0n);
}

/**
 * One TCP flow sent as fast as it goes for `seconds` after a warm-up: the
 * rate packets arrived at the receiver's interface (`wire`, what the
 * shaper let through) and the rate of new data its socket read (`goodput`),
 * in bits per second.
 */
async function measure(seconds: number, warmupMs = 300): Promise<{ wire: number; goodput: number }> {
  let received = 0;
  const server = await listenTcp({ netns: box.ns('rcv'), host: '10.99.0.2', port: 0 }, (s) => {
    s.on('data', (d: Buffer) => (received += d.length));
    s.on('error', () => undefined);
  });
  const port = (server.address() as net.AddressInfo).port;
  const client = await connectTcp({ netns: box.ns('snd'), host: '10.99.0.2', port });
  client.on('error', () => undefined);
  const chunk = Buffer.alloc(256 * 1024, 0x5a);
  let sending = true;
  const pump = () => {
    while (sending && client.write(chunk));
  };
  client.on('drain', pump);
  pump();
  try {
    await new Promise((r) => setTimeout(r, warmupMs));
    const [read0, rx0, t0] = [received, await rxBytes(), process.hrtime.bigint()];
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const [read1, rx1, t1] = [received, await rxBytes(), process.hrtime.bigint()];
    const elapsed = Number(t1 - t0) / 1e9;
    return { wire: ((rx1 - rx0) * 8) / elapsed, goodput: ((read1 - read0) * 8) / elapsed };
  } finally {
    sending = false;
    client.destroy();
    server.close();
  }
}

/**
 * The shaped rate within 0.6x-1.15x of the configured one. Measured on the
 * wire: the test VM is shared with other test runs (load ~10 on 2 cores),
 * and there the flow's goodput at the socket varied from 0.05x to 1x of the
 * rate between 2 s samples (TCP recovering from losses and stalls while
 * the qdisc's own counter showed the configured rate each time); goodput
 * must still never exceed the rate.
 */
function expectShapedTo(m: { wire: number; goodput: number }, configured: number): void {
  const say = `${(m.wire / 1e6).toFixed(2)} Mbit/s on the wire (goodput ${(m.goodput / 1e6).toFixed(2)}) for ${configured / 1e6} Mbit/s`;
  expect(m.wire, say).toBeGreaterThan(configured * 0.6);
  expect(m.wire, say).toBeLessThan(configured * 1.15);
  expect(m.goodput, say).toBeGreaterThan(0);
  expect(m.goodput, say).toBeLessThan(configured * 1.15);
}

describe('shaping real traffic', () => {
  let unshaped = { wire: 0, goodput: 0 };

  it('joins two namespaces and measures the unshaped rate', async () => {
    await snd().links.add({ name: 'eth0', kind: 'veth', up: true, peer: { name: 'eth0', netns: box.ns('rcv') } });
    await box.h('rcv').links.set('eth0', { up: true });
    await snd().addresses.add('eth0', '10.99.0.1/24');
    await box.h('rcv').addresses.add('eth0', '10.99.0.2/24');
    unshaped = await measure(0.5);
    // Far above what the tests below shape to.
    expect(unshaped.wire).toBeGreaterThan(100e6);
    expect(unshaped.goodput).toBeGreaterThan(100e6);
  });

  it('a TBF of 8 Mbit/s on the sender holds one flow to 8 Mbit/s (the CNI bandwidth plugin)', async () => {
    await snd().qdiscs.replace({ link: 'eth0', kind: 'tbf', options: { rate: '8mbit', burst: '64kb', latency: '100ms' } });
    expect(ipJson(box.ns('snd'), 'link', 'show', 'eth0')[0].qdisc).toBe('tbf');
    const shaped = await measure(2);
    expectShapedTo(shaped, 8e6);
    expect(shaped.wire).toBeLessThan(unshaped.wire / 10);
    const q = await snd().qdiscs.get({ link: 'eth0', parent: 'root' });
    expect(q.kind).toBe('tbf');
    expect(q.stats?.overlimits).toBeGreaterThan(0); // the bucket ran dry: TBF held packets back
  });

  it('HTB with two classes: the default class shapes the flow to its rate, and to a new rate after a replace', async () => {
    await snd().qdiscs.replace({ link: 'eth0', kind: 'htb', handle: '1:', options: { default: 0x10 } });
    // Bursts of 64 KB: veth hands the qdisc GSO packets of up to 64 KB.
    await snd().classes.add({ link: 'eth0', classid: '1:10', kind: 'htb', options: { rate: '4mbit', ceil: '4mbit', burst: '64kb', cburst: '64kb' } });
    await snd().classes.add({ link: 'eth0', classid: '1:20', kind: 'htb', options: { rate: '12mbit', ceil: '12mbit', burst: '64kb', cburst: '64kb' } });
    expectShapedTo(await measure(2), 4e6);
    const [c10, c20] = await Promise.all([snd().classes.get({ link: 'eth0', classid: '1:10' }), snd().classes.get({ link: 'eth0', classid: '1:20' })]);
    expect(c10.stats?.bytes).toBeGreaterThan(500_000);
    expect(c20.stats?.packets).toBe(0); // no filter sends anything there

    await snd().classes.replace({ link: 'eth0', classid: '1:10', kind: 'htb', options: { rate: '12mbit', ceil: '12mbit', burst: '64kb', cburst: '64kb' } });
    expectShapedTo(await measure(2), 12e6);

    // Without the qdisc the flow is unshaped again.
    expect(await snd().qdiscs.delete({ link: 'eth0', parent: 'root' })).toBe(true);
    expect((await measure(0.5)).wire).toBeGreaterThan(100e6);
  });
});
