/**
 * The one dump a netlink socket may run at a time: the kernel answers a
 * second dump request with EBUSY while one runs (netlink_dump_start), so an
 * async connection's dumps (and dumps given to call()) wait their turn here.
 * A dump's request may still share a hand-off with other requests
 * (send-tick.ts): only another dump must not.
 * @module
 */
import { NLM_F_DUMP } from './constants';

/** Who holds the socket's dump slot, and who waits for it (in order). */
export class DumpSlot {
  private active = false;
  private readonly waiters: Array<() => void> = [];

  /** Takes the slot now if it is free (the dump's request then joins this tick's hand-off); false if taken. */
  tryAcquire(): boolean {
    if (this.active) return false;
    this.active = true;
    return true;
  }

  /** Resolves once the slot is this caller's (in turn after those waiting). */
  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  /** Hands the slot to the next waiter, or frees it. */
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.active = false;
  }
}

/** Whether a request's header asks for a dump (both NLM_F_ROOT and NLM_F_MATCH: one alone is NLM_F_REPLACE or NLM_F_EXCL on a NEW request). */
export function isDumpRequest(message: Buffer): boolean {
  return message.length >= 8 && (message.readUInt16LE(6) & NLM_F_DUMP) === NLM_F_DUMP;
}
