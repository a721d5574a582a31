/**
 * Forwarding queries the responder does not answer to upstream servers, from
 * the responder's namespace: over UDP with a fresh query id per forward (so
 * concurrent clients' ids cannot collide), the next server on a timeout, and
 * over TCP when the client came by TCP or the UDP answer was truncated.
 * @module
 */
import { randomInt } from 'node:crypto';
import type * as dgram from 'node:dgram';
import type { NetnsRef } from '../netns/namespace';
import { bindUdp, connectTcp } from '../sockets/inet';
import { parseIp } from '../validate/ip';
import { frame, readFrames } from './tcp-frames';

/** An upstream server (its host in the canonical form Node reports senders in, see `formatIp`). */
export interface UpstreamServer {
  host: string;
  /** Default 53. */
  port?: number;
}

interface Pending {
  resolve: (reply: Buffer | undefined) => void;
  server: string;
}

const TRUNCATED = 0x0200;

export class Upstreams {
  private readonly sockets = new Map<4 | 6, dgram.Socket>();
  private readonly pending = new Map<number, Pending>();

  private constructor(
    private readonly servers: ReadonlyArray<Required<UpstreamServer>>,
    private readonly netns: NetnsRef | undefined,
    private readonly timeoutMs: number,
  ) {}

  /** Opens one UDP socket per address family the servers need, in `netns`. */
  static async open(servers: ReadonlyArray<Required<UpstreamServer>>, netns: NetnsRef | undefined, timeoutMs: number): Promise<Upstreams> {
    const u = new Upstreams(servers, netns, timeoutMs);
    try {
      for (const family of new Set(servers.map((s) => parseIp(s.host).family))) {
        const sock = await bindUdp({ netns, family });
        sock.on('message', (msg, rinfo) => u.onReply(msg, `${rinfo.address}:${String(rinfo.port)}`));
        sock.on('error', () => undefined); // an unreachable upstream: the query times out and the next one is asked
        u.sockets.set(family, sock);
      }
    } catch (e) {
      u.close();
      throw e;
    }
    return u;
  }

  get size(): number {
    return this.servers.length;
  }

  /** The upstream's reply (with the query's id), or undefined when no server answered in time. */
  async forward(query: Buffer, viaTcp: boolean): Promise<Buffer | undefined> {
    for (const server of this.servers) {
      let reply = viaTcp ? undefined : await this.overUdp(query, server);
      if (viaTcp || (reply && (reply.readUInt16BE(2) & TRUNCATED) !== 0)) reply = (await this.overTcp(query, server)) ?? reply;
      if (reply) return reply;
    }
    return undefined;
  }

  close(): void {
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
    for (const p of this.pending.values()) p.resolve(undefined);
    this.pending.clear();
  }

  private overUdp(query: Buffer, server: Required<UpstreamServer>): Promise<Buffer | undefined> {
    const sock = this.sockets.get(parseIp(server.host).family);
    if (!sock || this.pending.size >= 60000) return Promise.resolve(undefined);
    let id = randomInt(65536);
    while (this.pending.has(id)) id = (id + 1) & 0xffff;
    const msg = Buffer.from(query);
    msg.writeUInt16BE(id, 0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(undefined);
      }, this.timeoutMs);
      const done = (reply: Buffer | undefined): void => {
        clearTimeout(timer);
        if (reply) reply.writeUInt16BE(query.readUInt16BE(0), 0);
        resolve(reply);
      };
      this.pending.set(id, { resolve: done, server: `${server.host}:${String(server.port)}` });
      sock.send(msg, server.port, server.host, (err) => {
        if (err && this.pending.delete(id)) done(undefined);
      });
    });
  }

  private onReply(msg: Buffer, from: string): void {
    if (msg.length < 12) return;
    const id = msg.readUInt16BE(0);
    const p = this.pending.get(id);
    // Only the server asked may answer (another sender guessing ids is ignored).
    if (p?.server !== from) return;
    this.pending.delete(id);
    p.resolve(Buffer.from(msg));
  }

  private async overTcp(query: Buffer, server: Required<UpstreamServer>): Promise<Buffer | undefined> {
    let sock;
    try {
      sock = await connectTcp({ netns: this.netns, host: server.host, port: server.port, timeoutMs: this.timeoutMs });
    } catch {
      return undefined;
    }
    const conn = sock;
    return new Promise((resolve) => {
      const finish = (reply: Buffer | undefined): void => {
        clearTimeout(timer);
        conn.destroy();
        resolve(reply);
      };
      const timer = setTimeout(() => finish(undefined), this.timeoutMs);
      conn.on('error', () => finish(undefined));
      conn.on('close', () => finish(undefined));
      readFrames(conn, (m) => finish(Buffer.from(m)));
      conn.write(frame(query));
    });
  }
}
