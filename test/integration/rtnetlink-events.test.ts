// Event streams: typed events for every kind of change, the current state
// first without a gap, explicit overrun events, per-namespace isolation, and
// sockets that close when the consumer stops.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { open, ValidationError, type EventStream, type RtnetlinkEvent } from '../../lib';
import { useNetns } from '../helpers/netns';

/** Reads events until one matches; returns every event read, the match last. */
async function until(stream: EventStream, match: (e: RtnetlinkEvent) => boolean): Promise<RtnetlinkEvent[]> {
  const seen: RtnetlinkEvent[] = [];
  for (;;) {
    const r = await stream.next();
    if (r.done) throw new Error(`stream ended before the expected event; saw ${seen.map((e) => e.type).join(',')}`);
    seen.push(r.value);
    if (match(r.value)) return seen;
  }
}

/** Netlink route sockets in a namespace that have joined multicast groups (from /proc/net/netlink). */
function subscribedSockets(ns: string): number {
  const out = execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/netlink'], { encoding: 'utf8' });
  return out
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1] === '0' && f[3] !== '00000000').length;
}

describe('events', () => {
  const box = useNetns('e', 'other');
  const ns = () => box.ns('e');
  const h = () => box.h('e');

  it('delivers typed events for links, addresses, routes, neighbours, FDB entries, bridge ports and rules', async () => {
    const s = h().events.subscribe();
    await s.ready; // joined: changes from here on are seen
    try {
      await h().links.add({ name: 'ebr', kind: 'bridge' });
      let seen = await until(s, (e) => e.type === 'link' && e.action === 'new' && e.link.name === 'ebr');
      const link = seen.at(-1) as Extract<RtnetlinkEvent, { type: 'link' }>;
      expect(link.link.kind).toBe('bridge');
      expect(link.link.index).toBe((await h().links.get('ebr')).index);

      await h().links.add({ name: 'ev0', kind: 'veth', peer: { name: 'ev1' }, up: true, master: 'ebr' });
      await h().links.set('ev1', { up: true });
      await h().links.set('ebr', { up: true });
      await until(s, (e) => e.type === 'link' && e.link.name === 'ev1' && e.link.up);
      await h().links.set('ev0', { port: { hairpin: true } });
      seen = await until(s, (e) => e.type === 'bridgePort' && e.link.name === 'ev0' && !!e.link.port?.hairpin);
      expect((seen.at(-1) as any).action).toBe('new');

      await h().addresses.add('ebr', '10.60.0.1/24');
      seen = await until(s, (e) => e.type === 'address' && e.address.cidr === '10.60.0.1/24');
      expect(seen.at(-1)).toMatchObject({ action: 'new', address: { family: 4, link: link.link.index } });

      await h().routes.add({ dst: '10.61.0.0/16', gateway: '10.60.0.2', table: 1234 });
      seen = await until(s, (e) => e.type === 'route' && e.route.dst === '10.61.0.0/16');
      expect(seen.at(-1)).toMatchObject({ action: 'new', route: { gateway: '10.60.0.2', tableId: 1234 } });

      await h().neighbours.add({ link: 'ebr', address: '10.60.0.9', mac: '02:00:00:00:00:09' });
      seen = await until(s, (e) => e.type === 'neighbour' && e.neighbour.address === '10.60.0.9');
      expect(seen.at(-1)).toMatchObject({ action: 'new', neighbour: { mac: '02:00:00:00:00:09', state: ['PERMANENT'] } });

      await h().fdb.add({ mac: '02:00:00:00:00:f1', link: 'ev0', bridge: 'ebr', state: 'static' });
      seen = await until(s, (e) => e.type === 'fdb' && e.entry.mac === '02:00:00:00:00:f1');
      expect(seen.at(-1)).toMatchObject({ action: 'new', entry: { state: 'static', bridge: link.link.index } });

      await h().rules.add({ priority: 777, src: '10.62.0.0/16', table: 1234 });
      seen = await until(s, (e) => e.type === 'rule' && e.rule.priority === 777);
      expect(seen.at(-1)).toMatchObject({ action: 'new', rule: { src: '10.62.0.0/16', tableId: 1234 } });

      // and removals
      await h().rules.delete({ priority: 777 });
      await until(s, (e) => e.type === 'rule' && e.action === 'del' && e.rule.priority === 777);
      await h().neighbours.delete({ link: 'ebr', address: '10.60.0.9' });
      await until(s, (e) => e.type === 'neighbour' && e.action === 'del' && e.neighbour.address === '10.60.0.9');
      await h().fdb.delete({ mac: '02:00:00:00:00:f1', link: 'ev0', bridge: 'ebr' });
      await until(s, (e) => e.type === 'fdb' && e.action === 'del' && e.entry.mac === '02:00:00:00:00:f1');
      await h().routes.delete({ dst: '10.61.0.0/16', table: 1234 });
      await until(s, (e) => e.type === 'route' && e.action === 'del' && e.route.dst === '10.61.0.0/16');
      await h().addresses.delete('ebr', '10.60.0.1/24');
      await until(s, (e) => e.type === 'address' && e.action === 'del' && e.address.cidr === '10.60.0.1/24');
      // leaving the bridge is a bridge-port removal, not a link removal
      await h().links.set('ev0', { master: null });
      seen = await until(s, (e) => e.type === 'bridgePort' && e.action === 'del' && e.link.name === 'ev0');
      expect(seen.some((e) => e.type === 'link' && e.action === 'del')).toBe(false);
      await h().links.delete('ev0');
      seen = await until(s, (e) => e.type === 'link' && e.action === 'del' && e.link.name === 'ev1');
    } finally {
      s.close();
    }
  });

  it('starts with the current state, then "synced", without a gap before live events', async () => {
    await h().links.add({ name: 'pre0', kind: 'bridge' });
    await h().addresses.add('pre0', '10.63.0.1/24');
    const s = h().events.subscribe({ groups: ['link', 'address'], includeExisting: true });
    try {
      // made after subscribing, before iterating: must show up (in the dump or live)
      await h().links.add({ name: 'gap0', kind: 'bridge' });
      const initial = await until(s, (e) => e.type === 'synced');
      const links = initial.filter((e) => e.type === 'link').map((e: any) => e.link.name as string);
      const addrs = initial.filter((e) => e.type === 'address').map((e: any) => e.address.cidr as string);
      const now = (await h().links.list()).map((l) => l.name);
      for (const name of now.filter((n) => n !== 'gap0')) expect(links).toContain(name);
      expect(addrs).toContain('10.63.0.1/24');
      expect(initial.every((e) => e.type === 'synced' || (e as any).action === 'new')).toBe(true);
      if (!links.includes('gap0')) await until(s, (e) => e.type === 'link' && e.link.name === 'gap0');

      await h().links.add({ name: 'live0', kind: 'bridge' });
      await until(s, (e) => e.type === 'link' && e.link.name === 'live0');
    } finally {
      s.close();
    }
  });

  it('filters by family and by group', async () => {
    const s = h().events.subscribe({ groups: ['address'], family: 6 });
    await s.ready; // joined: changes from here on are seen
    try {
      await h().links.add({ name: 'fam0', kind: 'bridge', up: true });
      await h().addresses.add('fam0', '10.64.0.1/24');
      await h().addresses.add('fam0', 'fd64::1/64', { nodad: true });
      const seen = await until(s, (e) => e.type === 'address' && e.address.address === 'fd64::1');
      expect(seen.every((e) => e.type === 'address' && e.address.family === 6)).toBe(true);
    } finally {
      s.close();
    }
  });

  it('refuses option keys it does not know, before opening a socket', () => {
    expect(() => h().events.subscribe({ group: ['link'] } as never)).toThrow(ValidationError);
    expect(() => h().events.subscribe({ includeExisting: true, resync: true } as never)).toThrow(/unknown option/);
  });

  it('sees only its own namespace', async () => {
    const s = h().events.subscribe({ groups: ['link'] });
    await s.ready; // joined: changes from here on are seen
    try {
      await box.h('other').links.add({ name: 'elsewhere0', kind: 'bridge' });
      await h().links.add({ name: 'here0', kind: 'bridge' });
      const seen = await until(s, (e) => e.type === 'link' && e.link.name === 'here0');
      expect(seen.some((e) => e.type === 'link' && e.link.name === 'elsewhere0')).toBe(false);
    } finally {
      s.close();
    }
  });

  it('reports a kernel receive-buffer overrun as an overrun event, then resyncs on request', async () => {
    // The smallest receive buffer the kernel allows: a burst of notifications cannot fit.
    const s = h().events.subscribe({ groups: ['link', 'address', 'route'], receiveBufferBytes: 1, resyncOnOverrun: true });
    await s.ready; // joined: changes from here on are seen
    try {
      await h().links.add({ name: 'burst0', kind: 'bridge', up: true });
      let overrun = false;
      for (let round = 0; round < 20 && !overrun; round++) {
        await Promise.all(Array.from({ length: 100 }, (_, i) => h().addresses.add('burst0', `10.${70 + round}.${i}.1/24`)));
        await h().links.set('burst0', { alias: `round ${round}` }); // the round's marker
        // Either the marker arrives (nothing lost this round) or an overrun is reported first.
        const seen = await until(s, (e) => e.type === 'overrun' || (e.type === 'link' && e.link.alias === `round ${round}`));
        overrun = seen.at(-1)!.type === 'overrun';
      }
      expect(overrun).toBe(true);
      // resyncOnOverrun: a fresh copy of the state follows, then "synced"
      const resync = await until(s, (e) => e.type === 'synced');
      const names = resync.filter((e) => e.type === 'link').map((e: any) => e.link.name);
      expect(names).toContain('burst0');
      // nothing changes meanwhile: the resync is exactly the current state
      const resynced = resync.filter((e) => e.type === 'address').map((e: any) => `${e.address.link} ${e.address.cidr}`);
      const current = (await h().addresses.list()).map((a) => `${a.link} ${a.cidr}`);
      expect(resynced.sort()).toEqual(current.sort());
    } finally {
      s.close();
    }
  });

  it('reports a consumer that fell too far behind as an overrun event', async () => {
    const s = h().events.subscribe({ groups: ['link'], maxQueued: 3 });
    await s.ready; // joined: changes from here on are seen
    try {
      await h().links.add({ name: 'slow0', kind: 'bridge', up: true }); // (changes of a down link are not announced)
      let overrun = false;
      for (let round = 0; round < 20 && !overrun; round++) {
        // no reading while 30 changes happen
        for (let i = 0; i < 30; i++) await h().links.set('slow0', { alias: `r${round}-${i}` });
        const seen = await until(s, (e) => e.type === 'overrun' || (e.type === 'link' && e.link.alias === `r${round}-29`));
        overrun = seen.at(-1)!.type === 'overrun';
      }
      expect(overrun).toBe(true);
      // the stream goes on after the overrun
      await h().links.set('slow0', { alias: 'after' });
      await until(s, (e) => e.type === 'link' && e.link.alias === 'after');
    } finally {
      s.close();
    }
  });

  it('closes its socket when the consumer breaks out, and when the handle closes', async () => {
    expect(subscribedSockets(ns())).toBe(0);
    const s = h().events.subscribe({ groups: ['link'] });
    await s.ready; // joined: changes from here on are seen
    expect(subscribedSockets(ns())).toBe(1);
    await h().links.add({ name: 'brk0', kind: 'bridge' });
    for await (const e of s) {
      if (e.type === 'link' && e.link.name === 'brk0') break;
    }
    expect(subscribedSockets(ns())).toBe(0);
    expect((await s.next()).done).toBe(true);

    // a second handle's stream ends when that handle is closed, even mid-wait
    const h2 = await open({ netns: ns() });
    const s2 = h2.events.subscribe();
    await s2.ready; // joined: changes from here on are seen
    expect(subscribedSockets(ns())).toBe(1);
    const pending = s2.next();
    h2.close();
    expect((await pending).done).toBe(true);
    expect(subscribedSockets(ns())).toBe(0);

    // close() from outside the loop ends a pending read
    const s3 = h().events.subscribe({ groups: ['rule'] });
    await s3.ready; // joined: changes from here on are seen
    const waiting = s3.next();
    s3.close();
    expect((await waiting).done).toBe(true);
    expect(subscribedSockets(ns())).toBe(0);
  });
});
