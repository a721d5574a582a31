// Sockets a handle opens on first use (netfilter for h.nft and h.conntrack)
// are made off the event loop: calls made meanwhile wait for them, a close in
// between rejects them as never sent, and the socket that arrives after the
// close is closed at once.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ClosedError, open, openSync } from '../../lib';
import { useNetns } from '../helpers/netns';

const fdCount = () => fs.readdirSync('/proc/self/fd').length;
const settle = () => new Promise((r) => setTimeout(r, 50));

describe('sockets made on first use', () => {
  const box = useNetns('lazy');

  it('answers calls made before the netfilter socket exists, in order', async () => {
    const h = await open({ netns: box.ns('lazy') });
    try {
      const [tables, entries] = await Promise.all([h.nft.listTables(), h.conntrack.list()]);
      expect(tables).toEqual([]);
      expect(entries).toEqual([]);
    } finally {
      h.close();
    }
  });

  it('rejects calls waiting for the socket as never sent when the handle closes, and closes the socket that arrives', async () => {
    await settle();
    const before = fdCount();
    const h = await open({ netns: box.ns('lazy') });
    const waiting = h.conntrack.list();
    h.close();
    await expect(waiting).rejects.toMatchObject({ name: 'ClosedError', sent: false });
    await expect(waiting).rejects.toBeInstanceOf(ClosedError);
    await settle();
    expect(fdCount()).toBe(before);
  });

  it('gives the blocking handle conntrack too (and refuses it once closed)', async () => {
    const hs = openSync({ netns: box.ns('lazy') });
    const h = await open({ netns: box.ns('lazy') });
    try {
      expect(hs.conntrack.count()).toBe(await h.conntrack.count());
      expect(hs.conntrack.list()).toEqual(await h.conntrack.list());
    } finally {
      h.close();
      hs.close();
    }
    expect(() => hs.conntrack).toThrow(ClosedError);
  });

  it('makes event sockets off the event loop: ready once joined, closed at once when the stream ends before that', async () => {
    await settle();
    const before = fdCount();
    const h = await open({ netns: box.ns('lazy') });
    try {
      const early = h.events.subscribe({ groups: ['link'] });
      early.close(); // before its socket exists
      await early.ready.catch(() => {});
      const s = h.events.subscribe({ groups: ['link'] });
      await s.ready;
      await h.links.add({ name: 'lz0', kind: 'bridge' });
      for await (const e of s) if (e.type === 'link' && e.link.name === 'lz0') break;
      const n = h.nft.events.subscribe();
      await n.ready;
      const tx = h.nft.transaction();
      tx.addTable({ family: 'inet', name: 'lz' });
      await tx.commit();
      for await (const e of n) if (e.type === 'table' && e.table.name === 'lz') break;
    } finally {
      h.close();
    }
    await settle();
    expect(fdCount()).toBe(before);
  });
});
