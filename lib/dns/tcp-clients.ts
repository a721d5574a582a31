/**
 * The responder's TCP clients, bounded: strangers and connections over the
 * caps are closed right after accept, each connection answers a few queries
 * at a time and reads no further while its replies are not written out
 * (backpressure), and it is closed when idle or too old. So one client
 * cannot make the process hold unbounded memory or file descriptors.
 * @module
 */
import type { Socket as TcpSocket } from 'node:net';
import type { DnsTcpLimits } from './options';
import type { DnsStats } from './handler';
import { frame, readFrames } from './tcp-frames';

/** Answers one query (undefined: nothing to send). */
export type Answerer = (message: Buffer) => Promise<Buffer | undefined>;

export class TcpClients {
  private readonly open = new Set<TcpSocket>();
  private readonly perClient = new Map<string, number>();

  constructor(
    private readonly limits: Required<DnsTcpLimits>,
    private readonly stats: DnsStats,
  ) {}

  /** Takes an accepted connection: serves it, or closes it at once (a stranger, or over a cap). */
  accept(sock: TcpSocket, member: boolean, answer: Answerer): void {
    const client = sock.remoteAddress ?? '';
    const fromClient = this.perClient.get(client) ?? 0;
    if (!member || this.open.size >= this.limits.maxConnections || fromClient >= this.limits.maxConnectionsPerClient) {
      this.stats.tcpRejected++;
      sock.destroy();
      return;
    }
    this.open.add(sock);
    this.perClient.set(client, fromClient + 1);
    this.stats.tcpConnections++;
    const lifetime = setTimeout(() => sock.destroy(), this.limits.lifetimeMs);
    let idle = setTimeout(() => sock.destroy(), this.limits.idleMs);
    sock.on('error', () => sock.destroy()); // a client resetting is its own business
    sock.on('close', () => {
      clearTimeout(lifetime);
      clearTimeout(idle);
      this.open.delete(sock);
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left === 0) this.perClient.delete(client);
      else this.perClient.set(client, left);
      this.stats.tcpConnections--;
    });
    this.serve(sock, answer, () => {
      // Only complete queries count as activity: a client dripping bytes is still idle.
      clearTimeout(idle);
      idle = setTimeout(() => sock.destroy(), this.limits.idleMs);
    });
  }

  /** Closes every connection. */
  closeAll(): void {
    for (const s of this.open) s.destroy();
  }

  /** Reads queries, at most `maxQueriesInFlight` answered at once; stops reading while that many are out or the socket's buffer is full. */
  private serve(sock: TcpSocket, answer: Answerer, onQuery: () => void): void {
    const queue: Buffer[] = []; // what the last chunk held beyond the cap: bounded by one read
    let inFlight = 0;
    let draining = false;
    const flow = (): void => {
      while (queue.length > 0 && inFlight < this.limits.maxQueriesInFlight && !sock.destroyed) start(queue.shift() as Buffer);
      if (queue.length > 0 || inFlight >= this.limits.maxQueriesInFlight || draining) sock.pause();
      else sock.resume();
    };
    const start = (msg: Buffer): void => {
      inFlight++;
      this.stats.tcpInFlight++;
      void answer(msg).then((out) => {
        inFlight--;
        this.stats.tcpInFlight--;
        if (out && !sock.destroyed && !sock.write(frame(out)) && !draining) {
          draining = true;
          sock.once('drain', () => {
            draining = false;
            flow();
          });
        }
        flow();
      });
    };
    readFrames(sock, (msg) => {
      onQuery();
      queue.push(Buffer.from(msg));
      flow();
    });
  }
}
