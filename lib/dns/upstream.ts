/**
 * Forwarding queries the responder does not answer to upstream servers, from
 * the responder's namespace: over UDP with a random query id from a source
 * socket replaced every few forwards (a random source port, see udp-leases),
 * accepting only a reply from the server asked that repeats the question
 * asked (so a spoofer must guess port and id and know the question); the next server on a timeout, and over TCP
 * when the client came by TCP or the UDP answer was truncated.
 * @module
 */
import * as dnsPacket from 'dns-packet';
import type { NetnsRef } from '../netns/namespace';
import { connectTcp } from '../sockets/inet';
import { frame, readFrames } from './tcp-frames';
import { UdpLeases } from './udp-leases';

/** An upstream server (its host in the canonical form Node reports senders in, see `formatIp`). */
export interface UpstreamServer {
  host: string;
  /** Default 53. */
  port?: number;
}

const TRUNCATED = 0x0200;
/** UDP forwards in flight at once (waiting keeps a rotated-out socket open); more are answered SERVFAIL rather than exhausting file descriptors. */
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
  private readonly leases: UdpLeases;
  private udpInFlight = 0;
  /** Ends each UDP forward still waiting (on close). */
  private readonly waiting = new Set<() => void>();

  /** @param onMismatch called for each reply dropped because its question was not the one asked */
  constructor(
    private readonly servers: ReadonlyArray<Required<UpstreamServer>>,
    private readonly netns: NetnsRef | undefined,
    private readonly timeoutMs: number,
    private readonly onMismatch: () => void = () => undefined,
  ) {
    this.leases = new UdpLeases(netns);
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
    this.leases.close();
    for (const cancel of this.waiting) cancel();
  }

  private async overUdp(query: Buffer, server: Required<UpstreamServer>): Promise<Buffer | undefined> {
    const question = questionOf(query);
    if (question === undefined || this.udpInFlight >= MAX_UDP_IN_FLIGHT) return undefined;
    this.udpInFlight++;
    try {
      return await this.askOverUdp(query, question, server);
    } finally {
      this.udpInFlight--;
    }
  }

  private async askOverUdp(query: Buffer, question: string, server: Required<UpstreamServer>): Promise<Buffer | undefined> {
    const lease = await this.leases.take(server.host.includes(':') ? 6 : 4);
    if (!lease) return undefined; // no socket (EMFILE, or closing): this server cannot be asked now
    return new Promise((resolve) => {
      const finish = (reply: Buffer | undefined): void => {
        clearTimeout(timer);
        this.waiting.delete(cancel);
        lease.release(id ?? -1);
        if (reply) reply.writeUInt16BE(query.readUInt16BE(0), 0);
        resolve(reply);
      };
      // Only the server asked, with the id sent, may answer; a reply to another question is dropped (and the real one still awaited).
      const id = lease.wait((reply, from) => {
        if (from.address !== server.host || from.port !== server.port) return false;
        if (questionOf(reply) !== question) {
          this.onMismatch();
          return false;
        }
        finish(Buffer.from(reply));
        return true;
      });
      const timer = setTimeout(() => finish(undefined), this.timeoutMs);
      const cancel = (): void => finish(undefined);
      this.waiting.add(cancel);
      if (id === undefined) {
        finish(undefined); // every id taken on this socket
        return;
      }
      const msg = Buffer.from(query);
      msg.writeUInt16BE(id, 0);
      lease.sock.send(msg, server.port, server.host, (err) => {
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
