/**
 * The event streams one handle has open for one family (`h.events`,
 * `h.nft.events`, `h.conntrack.events`): ended together when the handle
 * closes, and no new one once its close has begun (a draining close lets
 * the live ones run until it ends).
 * @module
 */
import { ClosedError } from './errors';
import type { NetlinkSubscription } from './subscription';

/** @internal */
export class LiveSubscriptions {
  private readonly live = new Set<NetlinkSubscription>();
  private refusing = false;

  /** Throws ClosedError naming `what` once the handle's close has begun (before options are read). */
  checkOpen(what: string): void {
    if (this.refusing) throw new ClosedError(what);
  }

  /** Keeps a new stream's subscription until the returned function (the stream's onClose) forgets it. */
  track(sub: NetlinkSubscription): () => void {
    this.live.add(sub);
    return () => this.live.delete(sub);
  }

  /** Ends every stream (the handle is closing). */
  closeAll(): void {
    this.refusing = true;
    for (const sub of this.live) sub.close();
    this.live.clear();
  }

  /** Refuses new streams, the live ones going on (`close({ drain: true })` has begun). */
  refuseNew(): void {
    this.refusing = true;
  }
}
