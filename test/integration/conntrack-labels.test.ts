// Conntrack labels (`ct label`): an entry's labels are listed as label
// numbers, and set() changes them (all of them, or only those of a mask),
// which the kernel's own `ct label` match then sees on the flow's packets.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { NetlinkError, NotFoundError, ValidationError, bindUdp } from '../../lib';
import { countedPackets, nftIn, sendTo, udpFlow } from '../helpers/conntrack-flow';
import { useNetns } from '../helpers/netns';

describe('conntrack labels', () => {
  const box = useNetns('ct', 'plain');

  it('lists the labels a rule set, and sets others that the kernel then matches', async () => {
    const ns = box.ns('ct');
    const h = box.h('ct');
    nftIn(
      ns,
      `table inet t {
        chain out { type filter hook output priority 0;
          udp dport 5001 ct label set 5
          udp dport 5001 ct label 7 counter
        }
      }`,
    );
    const sock = await bindUdp({ netns: ns, port: 4000, host: '127.0.0.1' });
    try {
      await sendTo(sock, 5001);
      const e = await udpFlow(h, 5001);
      expect(e.labels).toEqual([5]);
      expect(countedPackets(ns, /ct label 7 counter packets (\d+)/)).toBe(0);

      // Only label 7 changes: 5 stays.
      await h.conntrack.set(e, { labels: [7], labelsMask: [7] });
      expect((await udpFlow(h, 5001)).labels).toEqual([5, 7]);
      await sendTo(sock, 5001);
      expect(countedPackets(ns, /ct label 7 counter packets (\d+)/)).toBe(1);

      // No mask: the labels given are all the entry has (the rule sets 5 again on the next packet).
      await h.conntrack.set(e, { labels: [7, 100] });
      expect((await udpFlow(h, 5001)).labels).toEqual([7, 100]);
      // A mask with no label to set clears the mask's labels.
      await h.conntrack.set(e, { labels: [], labelsMask: [7] });
      expect((await udpFlow(h, 5001)).labels).toEqual([100]);
      await sendTo(sock, 5001);
      expect(countedPackets(ns, /ct label 7 counter packets (\d+)/)).toBe(1);
      expect((await udpFlow(h, 5001)).labels).toEqual([5, 100]);

      // Selected by labels: entries with all of those given.
      expect((await h.conntrack.list({ labels: [5, 100] })).map((x) => x.original.dport)).toEqual([5001]);
      expect(await h.conntrack.list({ labels: [5, 7] })).toEqual([]);
      await expect(h.conntrack.list({ labels: [128] })).rejects.toThrow(ValidationError);
    } finally {
      sock.close();
    }
  });

  it('refuses what cannot be set, typed', async () => {
    const h = box.h('ct');
    const e = await udpFlow(h, 5001);
    await expect(h.conntrack.set(e, { labels: [128] })).rejects.toThrow(ValidationError);
    // A label outside its mask would not change: refused, also beside other changes; unknown keys too.
    await expect(h.conntrack.set(e, { labels: [1], labelsMask: [2] })).rejects.toThrow(/labelsMask/);
    await expect(h.conntrack.set(e, { labels: [1], labelsMask: [2], mark: 1 })).rejects.toThrow(/labelsMask/);
    await expect(h.conntrack.set(e, { labels: [1], color: 1 } as never)).rejects.toThrow(/unknown option/);
    await expect(h.conntrack.set(e, {})).rejects.toThrow(ValidationError);
    await expect(h.conntrack.set({ ...e, original: { ...e.original, sport: 4999 } }, { labels: [1] })).rejects.toThrow(NotFoundError);

    // An entry made while no rule used labels has no room for them: the kernel says ENOSPC.
    const plain = box.ns('plain');
    execFileSync(
      'ip',
      ['netns', 'exec', plain, 'conntrack', '-I', '-s', '10.9.0.1', '-d', '10.9.0.2', '-p', 'udp', '--sport', '1', '--dport', '2', '-t', '60'],
      {
        stdio: 'ignore',
      },
    );
    const [p] = await box.h('plain').conntrack.list();
    const err = await box
      .h('plain')
      .conntrack.set(p, { labels: [1] })
      .catch((x: unknown) => x);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).toMatchObject({ code: 'ENOSPC' });
    expect(p.labels).toBeUndefined();
  });
});
