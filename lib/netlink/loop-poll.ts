// The event loop's side of a round trip: after a request is queued, keep the
// loop from sleeping for a few tens of µs so the reply is seen without a
// wake-up. The I/O thread posts a reply through a thread-safe function (an
// eventfd the loop waits on in epoll); on this VM waking a sleeping thread on
// an idle CPU costs 3-30 µs per hand-off (bench/notes.md, issue #14), more than
// the kernel's work for a route. The I/O thread already spins after a send for
// the next request (native/netlink_io.h, SpinPolicy); this is the other half.
//
// It is a chain of setImmediate callbacks: while one is pending, libuv polls
// with a zero timeout, and every other callback still runs. Nothing is spent
// unless a request was just queued within a millisecond of the last reply
// (calls one after another), and the rules are SpinPolicy's: off with
// one CPU, off while more tasks are runnable than CPUs, off after MAX_MISSES
// polls in a row that the reply outlasted (until a reply comes soon enough
// after its request that a poll would have caught it, or a probe every
// PROBE_MS catches one).
import { availableParallelism } from 'node:os';
import { native } from '../native/binding';

/** How long one poll lasts without a reply, in ms (NLKIT_LOOP_SPIN_US overrides, in µs; 0 disables). */
function windowMs(): number {
  const v = process.env.NLKIT_LOOP_SPIN_US;
  if (v !== undefined && v !== '') return Math.max(0, Number(v) || 0) / 1000;
  return availableParallelism() < 2 ? 0 : 0.05;
}
const MAX_MISSES = 4;
/**
 * After MAX_MISSES, one poll is still tried this often: when the reply outlasted the window only because
 * the I/O thread slept too (its spin was off for the same reason), neither side would start again on its
 * own. A fruitless probe costs one window per PROBE_MS (0.05% of a CPU).
 */
const PROBE_MS = 100;
/** How often the contention rule is looked up again (it reads /proc/loadavg). */
const LOAD_CHECK_MS = 20;
/**
 * A send polls only this soon (ms) after the last event reached the loop: awaited calls one after another (the
 * next sent in the reply's callback). A sporadic call after an idle loop (a daemon's) was slower and cost
 * more CPU with the poll than without (bench/notes.md, review8): the I/O thread it wakes sleeps too.
 */
function streakMs(): number {
  const v = process.env.NLKIT_LOOP_STREAK_MS; // tests that must not depend on the runner's pace between two calls
  return v !== undefined && v !== '' ? Math.max(0, Number(v) || 0) : 1;
}

/** What the policy needs from the outside world; injected so tests can drive it. */
export interface LoopPollEnv {
  now(): number;
  contended(): boolean;
  /** Runs fn once after the poll phase (setImmediate, which keeps libuv from sleeping while pending). */
  later(fn: () => void): void;
}

/** The bounded poll's state: one per thread (every connection of it shares one event loop). */
export class LoopPoll {
  /** A callback is queued (at most one chain runs). */
  private queued = false;
  /** A reply is awaited and no poll ended since the last request. */
  private waiting = false;
  private deadline = 0;
  private sentAt = 0;
  private misses = 0;
  private nextProbe = 0;
  private contended = false;
  private nextLoadCheck = 0;
  private lastArrival = -Infinity;

  constructor(
    private readonly windowMs: number,
    private readonly env: LoopPollEnv,
    private readonly streakMs = 1,
  ) {}

  /** A request was just queued to an I/O thread: poll until something arrives or the window ends. */
  expect(): void {
    if (this.windowMs === 0) return;
    const now = this.env.now();
    this.sentAt = now;
    if (now - this.lastArrival > this.streakMs) return;
    if (this.misses >= MAX_MISSES) {
      if (now < this.nextProbe) return;
      this.nextProbe = now + PROBE_MS;
    }
    if (now >= this.nextLoadCheck) {
      this.contended = this.env.contended();
      this.nextLoadCheck = now + LOAD_CHECK_MS;
    }
    if (this.contended) return;
    this.deadline = now + this.windowMs;
    this.waiting = true;
    if (!this.queued) {
      this.queued = true;
      this.env.later(this.poll);
    }
  }

  /** An I/O thread's event reached the loop: a poll running ends on its next turn. */
  arrived(): void {
    const now = this.env.now();
    this.lastArrival = now;
    if (this.waiting) {
      this.waiting = false;
      this.misses = 0;
    } else if (this.misses >= MAX_MISSES && now - this.sentAt < this.windowMs) {
      this.misses = 0; // a poll would have caught this reply: poll again
    }
  }

  /** Whether a poll is going on (for tests). */
  get polling(): boolean {
    return this.queued;
  }

  private readonly poll = (): void => {
    if (this.waiting && this.env.now() < this.deadline) {
      this.env.later(this.poll);
      return;
    }
    this.queued = false;
    if (this.waiting) {
      this.waiting = false;
      if (++this.misses === MAX_MISSES) this.nextProbe = this.env.now() + PROBE_MS;
    }
  };
}

// Captured at load: fake timers in a caller's tests must not hold the chain.
const immediate = setImmediate;
const clock = performance.now.bind(performance);
// Fake timers installed before this loaded (a test runner's global ones) were captured instead: the chain
// would sit in the caller's fake clock (its timer count, its runAllTimers), and a frozen clock would never
// end it. Then there is no poll (fake-timers marks what it replaced with its `clock`).
const faked = 'clock' in immediate || 'clock' in performance;

/** The poll of this thread's event loop. */
export const loopPoll = new LoopPoll(
  faked ? 0 : windowMs(),
  {
    now: clock,
    contended: () => native().cpusContended(),
    later: (fn) => immediate(fn),
  },
  streakMs(),
);
