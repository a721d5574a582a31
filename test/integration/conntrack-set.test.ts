// conntrack.set() changes an entry's mark (all of it or the bits of a mask,
// as `conntrack -U -m value/mask`) and its timeout (`conntrack -U -t`):
// conntrack-tools reads them back, and the kernel's `ct mark` match sees the
// mark on the flow's next packet.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ValidationError, bindUdp } from '../../lib';
import { countedPackets, nftIn, sendTo, udpFlow } from '../helpers/conntrack-flow';
import { useNetns } from '../helpers/netns';

/** conntrack-tools' view of the flow to `dport`: its mark and the seconds left. */
function conntrackL(netns: string, dport: number): { mark: number; timeout: number } {
  const out = execFileSync('ip', ['netns', 'exec', netns, 'conntrack', '-L', '-p', 'udp', '--dport', String(dport)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = out.split('\n').filter((l) => l.startsWith('udp'));
  expect(lines).toHaveLength(1);
  const m = /^udp\s+17\s+(\d+)\s.*\bmark=(\d+)/.exec(lines[0]);
  if (!m) throw new Error(`unexpected conntrack -L output: ${lines[0]}`);
  return { timeout: Number(m[1]), mark: Number(m[2]) };
}

describe('conntrack.set: mark and timeout', () => {
  const box = useNetns('ct');

  it('sets the mark and the timeout, which conntrack -L and the ct mark match then see', async () => {
    const ns = box.ns('ct');
    const h = box.h('ct');
    nftIn(
      ns,
      `table inet t {
        chain out { type filter hook output priority 0;
          udp dport 5001 ct mark 0x42 counter
        }
      }`,
    );
    const sock = await bindUdp({ netns: ns, port: 4000, host: '127.0.0.1' });
    try {
      await sendTo(sock, 5001);
      const e = await udpFlow(h, 5001);
      const before = conntrackL(ns, 5001);
      expect(before.mark).toBe(0);
      expect(before.timeout).toBeLessThanOrEqual(30); // an unreplied UDP flow's own timeout

      await h.conntrack.set(e, { mark: 0x42, timeout: 300 });
      const after = conntrackL(ns, 5001);
      expect(after.mark).toBe(0x42);
      expect(after.timeout).toBeGreaterThan(290);
      expect(after.timeout).toBeLessThanOrEqual(300);
      const listed = await udpFlow(h, 5001);
      expect(listed.mark).toBe(0x42);
      expect(listed.timeout).toBeGreaterThan(290);
      expect(countedPackets(ns, /ct mark 0x00000042 counter packets (\d+)/)).toBe(0);
      await sendTo(sock, 5001);
      expect(countedPackets(ns, /ct mark 0x00000042 counter packets (\d+)/)).toBe(1);

      // With a mask only the mask's bits change: 0x42 -> 0x45, then its low nibble cleared.
      await h.conntrack.set(e, { mark: 0x5, markMask: 0x0f });
      expect(conntrackL(ns, 5001).mark).toBe(0x45);
      await h.conntrack.set(e, { markMask: 0x0f });
      expect(conntrackL(ns, 5001).mark).toBe(0x40);
      // The whole mark, the top bit too; the timeout stays as it is.
      await h.conntrack.set(e, { mark: 0xffffffff });
      expect(conntrackL(ns, 5001).mark).toBe(0xffffffff);
      await h.conntrack.set(e, { mark: 0 });
      expect(conntrackL(ns, 5001).mark).toBe(0);
    } finally {
      sock.close();
    }
  });

  it('refuses marks and timeouts that cannot be sent or would not mean what they say, before sending', async () => {
    const ns = box.ns('ct');
    const h = box.h('ct');
    const e = await udpFlow(h, 5001);
    await h.conntrack.set(e, { mark: 7, timeout: 200 });
    for (const bad of [
      { mark: -1 },
      { mark: 1.5 },
      { mark: 2 ** 32 },
      { mark: '0x42' },
      { mark: 0x100, markMask: 0xff }, // bit 8 would flip, not be set
      { mark: 1, markMask: -1 },
      { timeout: -1 },
      { timeout: 2 ** 32 },
      { timeout: 1.5 },
      { timeout: '300' },
      { mark: 1, timeout: 300, timeOut: 1 },
      { mark: undefined },
    ]) {
      await expect(h.conntrack.set(e, bad as never), JSON.stringify(bad)).rejects.toThrow(ValidationError);
    }
    // Nothing of them reached the entry.
    const now = conntrackL(ns, 5001);
    expect(now.mark).toBe(7);
    expect(now.timeout).toBeLessThanOrEqual(200);
    expect(now.timeout).toBeGreaterThan(150);
  });
});
