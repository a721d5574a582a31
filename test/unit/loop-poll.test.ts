// The event loop's bounded poll after a send (lib/netlink/loop-poll.ts),
// driven by a fake clock and a fake setImmediate: it runs only while a reply
// is awaited, ends with the reply or at the end of its window, and follows
// SpinPolicy's rules (contention, fruitless polls).
import { describe, expect, it } from 'vitest';
import { LoopPoll } from '../../lib/netlink/loop-poll';

function rig(windowMs = 0.05, contended = false) {
  const s = { t: 0, contended, checks: 0, queue: [] as Array<() => void> };
  const poll = new LoopPoll(windowMs, {
    now: () => s.t,
    contended: () => (s.checks++, s.contended),
    later: (fn) => s.queue.push(fn),
  });
  /** One turn of the loop: runs what was queued before it. */
  const turn = () => s.queue.splice(0).forEach((fn) => fn());
  /** Turns until the poll ends (each 10 µs later); how many it took. */
  const runOut = () => {
    let n = 0;
    while (s.queue.length > 0 && n < 1000) {
      s.t += 0.01;
      turn();
      n++;
    }
    return n;
  };
  poll.arrived(); // a reply just came: the next send is the next of a sequence of calls
  return { s, poll, turn, runOut };
}

describe('the bounded poll of the event loop', () => {
  it('polls from a send until the reply arrives, one chain at a time', () => {
    const { s, poll, turn } = rig();
    poll.expect();
    poll.expect();
    expect(s.queue).toHaveLength(1);
    s.t += 0.01;
    turn();
    expect(poll.polling).toBe(true); // no reply yet, within the window: again
    poll.arrived();
    turn();
    expect(poll.polling).toBe(false);
    expect(s.queue).toHaveLength(0);
  });

  it('a send made while polling (the next awaited call) extends the same chain', () => {
    const { s, poll, turn } = rig();
    poll.expect();
    s.t += 0.04;
    poll.arrived();
    poll.expect(); // the caller's next call, in the reply's callback
    s.t += 0.03; // past the first window, within the second
    turn();
    expect(poll.polling).toBe(true);
    expect(s.queue).toHaveLength(1);
  });

  it('ends at the end of its window without a reply, and stops after 4 such polls until a reply shows one would pay', () => {
    const { s, poll, runOut } = rig();
    for (let i = 0; i < 4; i++) {
      poll.expect();
      const turns = runOut(); // 50 µs in 10 µs turns (the clock is a float)
      expect(turns).toBeGreaterThanOrEqual(5);
      expect(turns).toBeLessThanOrEqual(6);
      s.t += 1;
      poll.arrived(); // late: after the poll ended
    }
    poll.expect();
    expect(poll.polling).toBe(false); // fruitless: no poll now
    s.t += 0.02;
    poll.arrived(); // 20 µs after its send: a poll would have caught it
    poll.expect();
    expect(poll.polling).toBe(true);
  });

  it('after 4 fruitless polls, probes once every 100 ms, and polls again once a probe catches its reply', () => {
    const { s, poll, runOut } = rig();
    for (let i = 0; i < 4; i++) {
      poll.expect();
      runOut();
      s.t += 1;
      poll.arrived(); // late: 1 ms after its send
    }
    poll.expect();
    expect(poll.polling).toBe(false);
    s.t += 100;
    poll.arrived(); // calls go on one after another
    poll.expect(); // a probe
    expect(poll.polling).toBe(true);
    runOut(); // fruitless
    s.t += 1;
    poll.arrived();
    poll.expect();
    expect(poll.polling).toBe(false); // the next probe is 100 ms away
    s.t += 100;
    poll.arrived();
    poll.expect();
    expect(poll.polling).toBe(true);
    s.t += 0.02;
    poll.arrived(); // caught
    runOut();
    s.t += 0.5;
    poll.expect();
    expect(poll.polling).toBe(true); // polling as usual again
  });

  it('does not poll while the CPUs are contended, and looks again only every 20 ms', () => {
    const { s, poll } = rig(0.05, true);
    poll.expect();
    expect(poll.polling).toBe(false);
    s.contended = false;
    s.t += 5;
    poll.arrived();
    poll.expect();
    expect(poll.polling).toBe(false);
    expect(s.checks).toBe(1);
    s.t += 20;
    poll.arrived();
    poll.expect();
    expect(poll.polling).toBe(true);
    expect(s.checks).toBe(2);
  });

  it('never polls with a window of 0 (one CPU, or NLKIT_LOOP_SPIN_US=0)', () => {
    const { s, poll } = rig(0);
    poll.expect();
    expect(poll.polling).toBe(false);
    expect(s.checks).toBe(0);
  });

  it('does not poll a send made after the loop was idle over 1 ms (a sporadic call), nor reads the load for it', () => {
    const { s, poll } = rig();
    s.t += 5; // a daemon's next call, 5 ms after the last reply
    poll.expect();
    expect(poll.polling).toBe(false);
    expect(s.checks).toBe(0);
    s.t += 0.2;
    poll.arrived(); // its reply
    s.t += 0.01;
    poll.expect(); // the next call, sent in the reply's callback
    expect(poll.polling).toBe(true);
    expect(s.checks).toBe(1);
  });
});
