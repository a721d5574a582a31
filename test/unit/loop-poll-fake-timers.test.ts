// The event loop's poll (lib/netlink/loop-poll.ts) loaded while a caller's
// fake timers are installed (a test runner's global fake timers load modules
// after installing them): it captures setImmediate and the clock at load, so
// it would capture the fakes. Its chain then showed up in the caller's timer
// count, and with only the clock faked (frozen) a poll whose reply never came
// (its connection closed first) would never end. It must poll nothing there.
import { afterEach, describe, expect, it, vi } from 'vitest';

afterEach(() => {
  vi.useRealTimers();
  vi.doUnmock('../../lib/native/binding');
  vi.resetModules();
});

/** loop-poll.ts loaded afresh, on an idle machine (the rule reads /proc/loadavg; a loaded one would hide the poll from these tests). */
async function load() {
  vi.resetModules();
  vi.doMock('../../lib/native/binding', () => ({ native: () => ({ cpusContended: () => false }) }));
  return import('../../lib/netlink/loop-poll');
}

describe('the bounded poll under fake timers installed before nlkit loads', () => {
  it('schedules nothing on the fake clock, and runAllTimers() after a send ends', async () => {
    vi.useFakeTimers({ toFake: ['setImmediate', 'clearImmediate', 'performance', 'setTimeout', 'clearTimeout'] });
    const { loopPoll } = await load();
    loopPoll.arrived(); // the reply of a previous call: the next one is sent at once
    loopPoll.expect(); // a request was just queued; its reply has not come
    expect(vi.getTimerCount()).toBe(0);
    expect(() => vi.runAllTimers()).not.toThrow();
    expect(loopPoll.polling).toBe(false);
  });

  it('does not poll with only the clock faked (frozen, it would never end a chain whose reply never comes)', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const { loopPoll } = await load();
    try {
      loopPoll.arrived();
      loopPoll.expect(); // e.g. its connection closed before the reply: nothing would ever arrive
      expect(loopPoll.polling).toBe(false);
    } finally {
      loopPoll.arrived(); // ends a chain the check above found, so a failure does not spin on
    }
  });
});
