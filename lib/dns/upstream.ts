/**
 * Forwarding queries the responder does not answer to upstream servers, from
 * the responder's namespace: over UDP from a fresh socket per forward (a
 * random source port) with a random query id, accepting only a reply from
 * the server asked that repeats the question asked (so a spoofer must guess
 * port, id and see the question); the next server on a timeout, and over TCP
 * when the client came by TCP or the UDP answer was truncated.
 * @module
 */
import { randomInt } from 'node:crypto';
import type * as dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import type { NetnsRef } from '../netns/namespace';
import { bindUdp, connectTcp } from '../sockets/inet';
import { frame, readFrames } from './tcp-frames';

/** An upstream server (its host in the canonical form Node reports senders in, see `formatIp`). */
export interface UpstreamServer {
  host: string;
  /** Default 53. */
  port?: number;
}

const TRUNCATED = 0x0200;
/** UDP forwards in flight at once (each holds a socket); more are answered SERVFAIL rather than exhausting file descriptors. */
const MAX_UDP_IN_FLIGHT = 1024;

/** The question of a message as "name type class" (name case-insensitive: resolvers may randomise case), or undefined if it does not decode. */
function questionOf(msg: Buffer): string | undefined {
  try {
    const q = dnsPacket.decode(msg).questions ?? [];
    return q.map((x) => `${x.name.toLowerCase().replace(/\.$/, '')} ${x.type} ${x.class ?? 'IN'}`).join(',');
  } catch {
    return undefined;
  }
}

export class Upstreams {
  private readonly sockets = new Set<dgram.Socket>();
  private closed = false;

  /** @param onMismatch called for each reply dropped because its question was not the one asked */
  constructor(
    private readonly servers: ReadonlyArray<Required<UpstreamServer>>,
    private readonly netns: NetnsRef | undefined,
    private readonly timeoutMs: number,
    private readonly onMismatch: () => void = () => undefined,
  ) {}

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
    this.closed = true;
    for (const s of this.sockets) s.close();
    this.sockets.clear();
  }

  private isClosed(): boolean {
    return this.closed;
  }

  private async overUdp(query: Buffer, server: Required<UpstreamServer>): Promise<Buffer | undefined> {
    const question = questionOf(query);
    if (this.closed || question === undefined || this.sockets.size >= MAX_UDP_IN_FLIGHT) return undefined;
    let sock: dgram.Socket;
    try {
      sock = await bindUdp({ netns: this.netns, family: server.host.includes(':') ? 6 : 4 });
    } catch {
      return undefined; // no socket (EMFILE): this server cannot be asked now
    }
    if (this.isClosed()) {
      sock.close(); // closed while the socket was being bound
      return undefined;
    }
    this.sockets.add(sock);
    const id = randomInt(65536);
    const msg = Buffer.from(query);
    msg.writeUInt16BE(id, 0);
    return new Promise((resolve) => {
      const finish = (reply: Buffer | undefined): void => {
        clearTimeout(timer);
        if (this.sockets.delete(sock)) sock.close();
        if (reply) reply.writeUInt16BE(query.readUInt16BE(0), 0);
        resolve(reply);
      };
      const timer = setTimeout(() => finish(undefined), this.timeoutMs);
      sock.on('error', () => finish(undefined)); // an unreachable upstream: the next one is asked
      sock.on('close', () => finish(undefined));
      sock.on('message', (reply, rinfo) => {
        // Only the server asked, with the id sent, may answer; a reply to another question is dropped (and the real one still awaited).
        if (rinfo.address !== server.host || rinfo.port !== server.port || reply.length < 12 || reply.readUInt16BE(0) !== id) return;
        if (questionOf(reply) !== question) {
          this.onMismatch();
          return;
        }
        finish(Buffer.from(reply));
      });
      sock.send(msg, server.port, server.host, (err) => {
        if (err) finish(undefined);
      });
    });
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
