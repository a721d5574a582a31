// Conntrack events (`conntrack -E`): a TCP connection made in the namespace
// is seen created, then changed as its state advances, then destroyed when
// its entry is deleted, in that order and with its tuples; a subscription to
// some events gets only those; closing the stream or the handle ends it.
// An entry made while nothing listened is listed by includeExisting, but the
// kernel reports nothing more of it (no update, no destroy) unless
// net.netfilter.nf_conntrack_events is 1 (its default, 2, gives events only
// to entries made while a listener was there). A blocking handle has no event
// streams: its subscribe() is refused (it was a TypeError: no `events`).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  bindUdp,
  connectTcp,
  listenTcp,
  open,
  openSync,
  setSysctl,
  ValidationError,
  type ConntrackEvent,
  type ConntrackStreamEvent,
  type EventStream,
} from '../../lib';
import { nftIn, sendTo, udpFlow } from '../helpers/conntrack-flow';
import { useNetns } from '../helpers/netns';

/** Reads events until `done` says enough (or 5 s pass). */
async function collect(events: EventStream<ConntrackStreamEvent>, done: (seen: ConntrackEvent[]) => boolean): Promise<ConntrackEvent[]> {
  const seen: ConntrackEvent[] = [];
  const deadline = setTimeout(() => events.close(), 5000);
  try {
    for await (const e of events) {
      if (e.type !== 'conntrack' || e.entry.original.dport !== 8080) continue;
      seen.push(e);
      if (done(seen)) break;
    }
  } finally {
    clearTimeout(deadline);
  }
  return seen;
}

describe('conntrack events', () => {
  const box = useNetns('ct');

  it('a connection is created, updated as it goes, then destroyed, in order, with its tuples', async () => {
    const ns = box.ns('ct');
    const h = box.h('ct');
    // A rule that uses conntrack makes the namespace track connections.
    execFileSync('ip', [
      'netns',
      'exec',
      ns,
      'nft',
      'add table inet t; add chain inet t out { type filter hook output priority 0; }; add rule inet t out ct state new counter',
    ]);
    const all = h.conntrack.events.subscribe();
    const destroys = h.conntrack.events.subscribe({ events: ['destroy'] });
    await Promise.all([all.ready, destroys.ready]);

    const server = await listenTcp({ netns: ns, host: '127.0.0.1', port: 8080 }, (s) => s.on('data', () => s.write('pong')));
    const c = await connectTcp({ netns: ns, host: '127.0.0.1', port: 8080 });
    await new Promise<void>((r) => {
      c.once('data', () => r());
      c.write('ping');
    });
    const sport = c.localPort;
    expect(await h.conntrack.flush({ protocol: 'tcp', original: { dport: 8080 } })).toBe(1);
    c.destroy();
    server.close();

    const seen = await collect(all, (s) => s.some((e) => e.event === 'destroy'));
    expect(seen[0]).toMatchObject({
      type: 'conntrack',
      action: 'new',
      event: 'new',
      entry: { family: 4, protocol: 'tcp', original: { src: '127.0.0.1', dst: '127.0.0.1', sport, dport: 8080 }, reply: { sport: 8080, dport: sport } },
    });
    const kinds = seen.map((e) => e.event);
    expect(kinds.at(-1)).toBe('destroy');
    expect(seen.at(-1)?.action).toBe('del');
    expect(kinds.slice(1, -1).every((k) => k === 'update')).toBe(true);
    expect(seen.filter((e) => e.event === 'update').map((e) => e.entry.tcpState)).toContain('established');
    for (const e of seen) expect(e.entry.original.sport).toBe(sport);

    const onlyDestroy = await collect(destroys, (s) => s.length > 0);
    expect(onlyDestroy.map((e) => e.event)).toEqual(['destroy']);
  });

  it('close() ends a stream; closing the handle ends its streams and refuses new ones', async () => {
    const h = await open({ netns: box.ns('ct') });
    const a = h.conntrack.events.subscribe();
    await a.ready;
    const pending = a.next();
    a.close();
    expect((await pending).done).toBe(true);

    // The current entries first (as `new`), then `synced`.
    const listed = await h.conntrack.list();
    const b = h.conntrack.events.subscribe({ includeExisting: true });
    const existing: ConntrackStreamEvent[] = [];
    for (;;) {
      const { value } = await b.next();
      if (value.type === 'synced') break;
      existing.push(value);
    }
    expect(existing.map((e) => e.type === 'conntrack' && [e.event, e.entry.id])).toEqual(listed.map((e) => ['new', e.id]));
    const pendingB = b.next();
    h.close();
    expect((await pendingB).done).toBe(true);
    expect(() => h.conntrack.events.subscribe()).toThrow(/closed/i);
  });

  it('refuses unknown options and event names', () => {
    const h = box.h('ct');
    expect(() => h.conntrack.events.subscribe({ events: ['created'] } as never)).toThrow(ValidationError);
    expect(() => h.conntrack.events.subscribe({ event: ['new'] } as never)).toThrow(ValidationError);
  });

  it('a blocking handle refuses to subscribe (ValidationError), and its conntrack calls go on', () => {
    const hs = openSync({ netns: box.ns('ct') });
    try {
      expect(() => hs.conntrack.events.subscribe()).toThrow(ValidationError);
      expect(() => hs.conntrack.events.subscribe({ includeExisting: true })).toThrow(/blocking handle has no event streams.*open\(\)/);
      expect(Array.isArray(hs.conntrack.list())).toBe(true);
    } finally {
      hs.close();
    }
  });
});

describe('conntrack events of an entry made while nothing listened', () => {
  const box = useNetns('auto', 'always');

  /**
   * In namespace `label`: a UDP flow made before any subscription; then a stream without and one with
   * includeExisting; the kernel changes the entry (a reply: seen reply) and it is deleted. Returns each
   * stream's events of that entry ('synced' where the snapshot ended), read up to the `new` of a flow made
   * afterwards: events come in order, so nothing of the entry can follow it.
   */
  async function madeBefore(label: string): Promise<{ live: string[]; snapshot: string[] }> {
    const ns = box.ns(label);
    const h = box.h(label);
    const server = await bindUdp({ netns: ns, port: 5003, host: '127.0.0.1' });
    const client = await bindUdp({ netns: ns, port: 4003, host: '127.0.0.1' });
    const marker = await bindUdp({ netns: ns, port: 4004, host: '127.0.0.1' });
    try {
      await sendTo(client, 5003);
      const before = await udpFlow(h, 5003);
      const live = h.conntrack.events.subscribe();
      const withExisting = h.conntrack.events.subscribe({ includeExisting: true });
      await Promise.all([live.ready, withExisting.ready]);
      const snapshot: string[] = [];
      for (;;) {
        const { value } = await withExisting.next();
        if (value.type === 'synced') break;
        if (value.type === 'conntrack' && value.entry.id === before.id) snapshot.push(value.event);
      }
      snapshot.push('synced');

      const replied = new Promise((r) => client.once('message', r));
      server.send('pong', 4003, '127.0.0.1');
      await replied;
      expect(await h.conntrack.delete(before)).toBe(true);
      await sendTo(marker, 5004);

      async function untilMarker(events: EventStream<ConntrackStreamEvent>, seen: string[]): Promise<string[]> {
        const deadline = setTimeout(() => events.close(), 5000);
        try {
          for await (const e of events) {
            if (e.type !== 'conntrack') continue;
            if (e.entry.original.sport === 4004 && e.entry.original.dport === 5004) return seen;
            if (e.entry.id === before.id) seen.push(e.event);
          }
          throw new Error(`no event of the flow made while listening (seen: ${seen.join(', ')})`);
        } finally {
          clearTimeout(deadline);
          events.close();
        }
      }
      return { live: await untilMarker(live, []), snapshot: await untilMarker(withExisting, snapshot) };
    } finally {
      for (const s of [client, server, marker]) s.close();
    }
  }

  it('nf_conntrack_events 2 (the default): listed by includeExisting, then nothing of it, neither update nor destroy', async () => {
    nftIn(box.ns('auto'), 'table inet pre { chain out { type filter hook output priority 0; ct state new counter; }; }');
    expect(execFileSync('ip', ['netns', 'exec', box.ns('auto'), 'cat', '/proc/sys/net/netfilter/nf_conntrack_events'], { encoding: 'utf8' }).trim()).toBe('2');
    expect(await madeBefore('auto')).toEqual({ live: [], snapshot: ['new', 'synced'] });
  });

  it('nf_conntrack_events 1: its update and its destroy arrive too', async () => {
    nftIn(box.ns('always'), 'table inet pre { chain out { type filter hook output priority 0; ct state new counter; }; }');
    await setSysctl(box.ns('always'), 'net.netfilter.nf_conntrack_events', 1);
    expect(await madeBefore('always')).toEqual({ live: ['update', 'destroy'], snapshot: ['new', 'synced', 'update', 'destroy'] });
  });
});
