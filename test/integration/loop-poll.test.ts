// The event loop's bounded poll with a real handle: a request queued to the
// I/O thread keeps the loop polling (an Immediate pending) until its reply
// arrives, not until the window ends; a handle or a subscription with nothing
// awaited keeps nothing pending. The window is set to 10 s, a send counts as
// the next of a sequence up to 10 s after a reply, and the contention rule is
// switched off, so a poll that did not end with its reply would still
// be running when the test looks. Each test looks only once every reply it
// caused has arrived (a subscription's starting link dump too): on a loaded
// runner a reply still in flight is a poll rightly going on.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useNetns } from '../helpers/netns';

type Lib = typeof import('../../lib');
type Poll = typeof import('../../lib/netlink/loop-poll');
type Binding = typeof import('../../lib/native/binding');

const turn = () => new Promise((r) => setImmediate(r));
const immediates = () => process.getActiveResourcesInfo().filter((r) => r === 'Immediate').length;

describe('the event loop polls for a reply only while one is awaited', () => {
  const box = useNetns('poll');
  let lib: Lib;
  let poll: Poll;
  let contended: ReturnType<typeof vi.spyOn>;

  beforeAll(async () => {
    vi.stubEnv('NLKIT_LOOP_SPIN_US', '10000000');
    vi.stubEnv('NLKIT_LOOP_STREAK_MS', '10000'); // a loaded runner between two calls still counts as one after another
    vi.resetModules();
    lib = await import('../../lib');
    poll = await import('../../lib/netlink/loop-poll');
    const binding: Binding = await import('../../lib/native/binding');
    contended = vi.spyOn(binding.native(), 'cpusContended').mockReturnValue(false);
  });
  afterAll(() => {
    contended.mockRestore();
    vi.unstubAllEnvs();
  });

  it('polls from each send to its reply, then nothing is pending', async () => {
    const h = await lib.open({ netns: box.ns('poll') });
    try {
      await h.links.get('lo'); // the first round (threadless) is behind us
      for (let i = 0; i < 3; i++) {
        const p = h.links.get('lo');
        await Promise.resolve(); // the request leaves in a microtask (ack groups)
        expect(poll.loopPoll.polling).toBe(true);
        expect((await p).name).toBe('lo');
        await turn();
        expect(poll.loopPoll.polling).toBe(false);
        expect(immediates()).toBe(0);
      }
    } finally {
      h.close();
    }
  });

  it('an open handle and a subscription with nothing awaited poll nothing', async () => {
    const h = await lib.open({ netns: box.ns('poll') });
    // Names resolved (the default with links): once joined it dumps the links on h's socket, a reply awaited.
    const events = h.events.subscribe({ groups: ['link'] });
    try {
      await events.ready;
      await h.links.add({ name: 'lp0', kind: 'bridge' }); // an event the subscription's thread posts
      // Named, so after the starting dump's reply: every reply and the event are in (how late the join was
      // on a loaded runner does not matter).
      for (;;) {
        const r = await events.next();
        if (r.done) throw new Error('the stream ended before the lp0 event');
        if (r.value.type === 'link' && r.value.link.name === 'lp0') break;
      }
      await turn(); // a poll ends on its next turn after the reply
      expect(poll.loopPoll.polling).toBe(false);
      expect(immediates()).toBe(0);
    } finally {
      events.close();
      h.close();
    }
  });

  it('does not poll while the CPUs are contended', async () => {
    contended.mockReturnValue(true);
    // Past the 20 ms between looks on the poll's own clock: a timer can fire early by it (the loop's time
    // is read once per turn, stale on a loaded runner).
    const mocked = performance.now();
    while (performance.now() < mocked + 25) await new Promise((r) => setTimeout(r, 5));
    const h = await lib.open({ netns: box.ns('poll') });
    try {
      await h.links.get('lo');
      await turn(); // a poll this request started (the contention look broken) has ended: the next one is looked at alone
      const p = h.links.get('lo');
      await Promise.resolve();
      expect(poll.loopPoll.polling).toBe(false);
      await p;
    } finally {
      h.close();
      contended.mockReturnValue(false);
    }
  });
});
