// Entries whose zone applies to one direction only (`conntrack --orig-zone`,
// `--reply-zone`, `ct original zone set`): the kernel reports that zone
// inside the tuple, and finds the entry only when a delete names it there.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ValidationError, bindUdp } from '../../lib';
import { useNetns } from '../helpers/netns';

function nft(netns: string, script: string): void {
  execFileSync('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], { input: script, stdio: ['pipe', 'pipe', 'pipe'] });
}

function conntrack(netns: string, ...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', netns, 'conntrack', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('conntrack zones of one direction', () => {
  const box = useNetns('ct');

  it('lists the zone of each direction and deletes such entries as listed', async () => {
    const ns = box.ns('ct');
    const flow = (sport: number) => ['-s', '10.9.0.1', '-d', '10.9.0.2', '-p', 'udp', '--sport', String(sport), '--dport', '53', '-t', '300'];
    // The same tuple in original zone 3 and in zone 0 (reply zone 4): two entries.
    conntrack(ns, '-I', ...flow(1000), '--orig-zone', '3');
    conntrack(ns, '-I', ...flow(1000), '--reply-zone', '4');
    conntrack(ns, '-I', ...flow(1001));
    const h = box.h('ct');
    const entries = await h.conntrack.list({ original: { src: '10.9.0.1' } });
    expect(entries.map((e) => [e.original.zone, e.reply.zone, e.zone])).toEqual(
      expect.arrayContaining([
        [3, undefined, undefined],
        [undefined, 4, undefined],
        [undefined, undefined, undefined],
      ]),
    );
    expect(entries).toHaveLength(3);

    // Each listed entry is its own key: the one in original zone 3 is found there.
    for (const e of entries) expect(await h.conntrack.delete(e)).toBe(true);
    expect(await h.conntrack.list({ original: { src: '10.9.0.1' } })).toEqual([]);
    expect(conntrack(ns, '-L')).not.toContain('10.9.0.1');
  });

  it('filters by zone whichever directions the zone applies to, like the kernel, and flushes such entries', async () => {
    const ns = box.ns('ct');
    const h = box.h('ct');
    await h.conntrack.flush();
    // Zones set by rules, before conntrack sees the packet: original only, reply only, both, none.
    nft(
      ns,
      `table inet z {
        chain out { type filter hook output priority raw;
          udp dport 5001 ct original zone set 3
          udp dport 5002 ct reply zone set 3
          udp dport 5003 ct zone set 3
          udp dport 5005 ct zone set 4
        }
      }`,
    );
    const sock = await bindUdp({ netns: ns, port: 4000, host: '127.0.0.1' });
    try {
      for (const port of [5001, 5002, 5003, 5004, 5005]) {
        await new Promise<void>((resolve, reject) => sock.send('x', port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
      }
    } finally {
      sock.close();
    }
    const dport = (es: Array<{ original: { dport?: number } }>) => es.map((e) => e.original.dport).sort();
    const zone3 = await h.conntrack.list({ protocol: 'udp', zone: 3 });
    expect(dport(zone3)).toEqual([5001, 5002, 5003]);
    expect(zone3.find((e) => e.original.dport === 5001)?.original.zone).toBe(3);
    expect(zone3.find((e) => e.original.dport === 5002)?.reply.zone).toBe(3);
    expect(zone3.find((e) => e.original.dport === 5003)?.zone).toBe(3);
    expect(dport(await h.conntrack.list({ protocol: 'udp', zone: 0 }))).toEqual([5004]);
    expect(dport(await h.conntrack.list({ protocol: 'udp', zone: 4 }))).toEqual([5005]);

    expect(await h.conntrack.flush({ zone: 3 })).toBe(3);
    const left = conntrack(ns, '-L', '-p', 'udp');
    for (const port of [5001, 5002, 5003]) expect(left).not.toContain(`dport=${port} `);
    for (const port of [5004, 5005]) expect(left).toContain(`dport=${port} `);
  });

  it('filters by the zone of one direction (--orig-zone / --reply-zone): of both directions or of that one', async () => {
    const ns = box.ns('ct');
    const h = box.h('ct');
    await h.conntrack.flush();
    nft(
      ns,
      `table inet d {
        chain out { type filter hook output priority raw;
          udp dport 5011 ct original zone set 3
          udp dport 5012 ct reply zone set 3
          udp dport 5013 ct zone set 3
          udp dport 5015 ct original zone set 4
        }
      }`,
    );
    const sock = await bindUdp({ netns: ns, port: 4001, host: '127.0.0.1' });
    try {
      for (const port of [5011, 5012, 5013, 5014, 5015]) {
        await new Promise<void>((resolve, reject) => sock.send('x', port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
      }
    } finally {
      sock.close();
    }
    const dports = async (f: Parameters<typeof h.conntrack.list>[0]) => (await h.conntrack.list({ protocol: 'udp', ...f })).map((e) => e.original.dport).sort();
    expect(await dports({ original: { zone: 3 } })).toEqual([5011, 5013]);
    expect(await dports({ reply: { zone: 3 } })).toEqual([5012, 5013]);
    // Zone 0 of one direction: no zone, or one of the other direction only.
    expect(await dports({ original: { zone: 0 } })).toEqual([5012, 5014]);
    expect(await dports({ reply: { zone: 0 } })).toEqual([5011, 5014, 5015]);
    expect(await dports({ original: { zone: 4 }, reply: { zone: 0 } })).toEqual([5015]);
    expect(await dports({ original: { zone: 3, dport: 5013 }, reply: { zone: 3 } })).toEqual([5013]);
    // conntrack-tools agrees where it compares the same thing: an entry whose zone applies to the original direction only.
    expect(conntrack(ns, '-L', '--orig-zone', '3')).toContain('dport=5011 ');

    await expect(h.conntrack.list({ original: { zone: 65536 } })).rejects.toThrow(ValidationError);
    await expect(h.conntrack.flush({ reply: { zone: -1 } })).rejects.toThrow(ValidationError);
    await expect(h.conntrack.flush({ reply: { zones: 3 } as never })).rejects.toThrow(ValidationError);

    expect(await h.conntrack.flush({ original: { zone: 3 } })).toBe(2);
    const left = conntrack(ns, '-L', '-p', 'udp');
    for (const port of [5011, 5013]) expect(left).not.toContain(`dport=${port} `);
    for (const port of [5012, 5014, 5015]) expect(left).toContain(`dport=${port} `);
  });
});
