// An event stream with includeExisting closed while it dumps the current
// state ends: a pending next() resolves as done (it delivered the dump's
// events anyway, or rejected with the handle's ClosedError when the handle
// closed), and the rest of the dump is not delivered (close() after the
// first event still gave every other link and `synced`). A handle closed
// before its events were first reached refuses to subscribe (the stream
// never ended).
import { describe, expect, it } from 'vitest';
import { ClosedError, open, type EventStream } from '../../lib';
import { useNetns } from '../helpers/netns';

describe('events closed during the includeExisting dump', () => {
  const box = useNetns('evclose');
  const ns = () => box.ns('evclose');

  /** Enough links that the dump is still running when the test closes the stream. */
  async function manyLinks(): Promise<void> {
    const h = box.h('evclose');
    if ((await h.links.list()).length > 100) return;
    await Promise.all(Array.from({ length: 60 }, (_, i) => h.links.add({ name: `ec${i}`, kind: 'veth', peer: { name: `ep${i}` } })));
  }
  const subscribe = (h: Awaited<ReturnType<typeof open>>): EventStream => h.events.subscribe({ includeExisting: true, groups: ['link'] });

  it('close() after the first existing event: the next next() is done', async () => {
    await manyLinks();
    const h = await open({ netns: ns() });
    try {
      const s = subscribe(h);
      expect((await s.next()).value).toMatchObject({ type: 'link', action: 'new' });
      s.close();
      expect(await s.next()).toEqual({ value: undefined, done: true });
    } finally {
      h.close();
    }
  });

  it('close() or return() with a next() pending on the dump: it resolves as done', async () => {
    await manyLinks();
    const h = await open({ netns: ns() });
    try {
      const a = subscribe(h);
      const pendingA = a.next();
      a.close();
      expect(await pendingA).toEqual({ value: undefined, done: true });

      const b = subscribe(h);
      const pendingB = b.next();
      const returned = b.return(undefined);
      expect(await pendingB).toEqual({ value: undefined, done: true });
      expect(await returned).toEqual({ value: undefined, done: true });
      expect(await b.next()).toEqual({ value: undefined, done: true });
    } finally {
      h.close();
    }
  });

  it('the handle closed during the dump: the stream ends, nothing is thrown later', async () => {
    await manyLinks();
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const h = await open({ netns: ns() });
      const s = subscribe(h);
      const pending = s.next();
      h.close();
      expect(await pending).toEqual({ value: undefined, done: true });
      expect(await s.next()).toEqual({ value: undefined, done: true });
      await new Promise((r) => setTimeout(r, 200)); // any rejection left behind would surface now
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('h.close(); h.events.subscribe(): ClosedError at once', async () => {
    for (const netns of [ns(), undefined]) {
      const h = await open(netns === undefined ? {} : { netns });
      h.close();
      expect(() => h.events.subscribe()).toThrow(ClosedError);
      expect(() => h.events.subscribe({ includeExisting: true })).toThrow(ClosedError);
    }
  });
});
