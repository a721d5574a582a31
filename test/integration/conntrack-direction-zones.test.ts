// Entries whose zone applies to one direction only (`conntrack --orig-zone`,
// `--reply-zone`, `ct original zone set`): the kernel reports that zone
// inside the tuple, and finds the entry only when a delete names it there.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { useNetns } from '../helpers/netns';

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
});
