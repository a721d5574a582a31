/**
 * Source sockets for forwarded UDP queries, rotated often: each socket (a
 * random source port from the kernel) carries at most `USES` forwards, then
 * takes no more and closes once its last reply is in. A fresh socket per
 * forward is as unpredictable but binding one in a namespace costs several
 * times a forward's own work; a few dozen forwards per port keep the port as
 * much a secret as the id.
 * @module
 */
import { randomInt } from 'node:crypto';
import type * as dgram from 'node:dgram';
import type { NetnsRef } from '../netns/namespace';
import { bindUdp } from '../sockets/inet';

/** Forwards per source socket before it is replaced. */
export const USES = 32;

/** Gets each reply arriving with its id on the socket; true when it took it (the right server and question). */
type Waiter = (reply: Buffer, from: dgram.RemoteInfo) => boolean;

export class Lease {
  uses = 0;
  readonly waiting = new Map<number, Waiter>();
  private open = true;
  constructor(readonly sock: dgram.Socket) {
    sock.on('message', (msg, from) => {
      if (msg.length >= 12 && this.waiting.get(msg.readUInt16BE(0))?.(msg, from) === true) this.release(msg.readUInt16BE(0));
    });
  }

  /** A random id no other forward on this socket is waiting with, or undefined (all taken). */
  wait(waiter: Waiter): number | undefined {
    for (let tries = 0; tries < 16; tries++) {
      const id = randomInt(65536);
      if (this.waiting.has(id)) continue;
      this.waiting.set(id, waiter);
      return id;
    }
    return undefined;
  }

  /** Stops waiting for `id`; a used-up socket closes with its last forward. */
  release(id: number): void {
    this.waiting.delete(id);
    if (this.uses >= USES && this.waiting.size === 0) this.close();
  }

  close(): void {
    if (this.open) this.sock.close();
    this.open = false;
  }
}

export class UdpLeases {
  private readonly current = new Map<4 | 6, Promise<Lease | undefined>>();
  private readonly all = new Set<Lease>();
  private closed = false;

  constructor(private readonly netns: NetnsRef | undefined) {}

  /** A socket to forward one query from (counted as one use), or undefined when none can be bound (EMFILE). */
  async take(family: 4 | 6): Promise<Lease | undefined> {
    for (;;) {
      let pending = this.current.get(family);
      if (!pending) {
        pending = this.bind(family);
        this.current.set(family, pending);
      }
      const lease = await pending;
      if (!lease || this.closed) {
        if (this.current.get(family) === pending) this.current.delete(family);
        return undefined;
      }
      if (lease.uses < USES) {
        lease.uses++;
        return lease;
      }
      if (this.current.get(family) === pending) this.current.delete(family); // used up: the next turn binds a fresh port
    }
  }

  close(): void {
    this.closed = true;
    for (const l of this.all) l.close();
    this.all.clear();
    this.current.clear();
  }

  private async bind(family: 4 | 6): Promise<Lease | undefined> {
    try {
      const sock = await bindUdp({ netns: this.netns, family });
      if (this.closed) {
        sock.close();
        return undefined;
      }
      const lease = new Lease(sock);
      this.all.add(lease);
      sock.on('close', () => this.all.delete(lease));
      sock.on('error', () => undefined); // a send error is reported to that send's callback
      return lease;
    } catch {
      return undefined;
    }
  }
}
