/**
 * Forwarding queries the responder does not answer to upstream servers, from
 * the responder's namespace: over UDP with a random query id from a source
 * socket replaced every few forwards (a random source port, see udp-leases),
 * accepting only a reply from the server asked that repeats the question
 * asked (so a spoofer must guess port and id and know the question); the next server on a timeout, and over TCP
 * when the client came by TCP or the UDP answer was truncated.
 * A query goes with the responder's OPT (EDNS); a server that answers it
 * FORMERR without an OPT (it does not know EDNS, RFC 6891 7) or does not
 * answer it in time (a middlebox on the way drops queries with an OPT) is
 * asked again at once without, and for a while after without (then with
 * an OPT again: a server or path fixed is noticed).
 * A reply is read once here (wire.readMessage), and the handler cuts it from that.
 * @module
 */
import type { NetnsRef } from '../netns/namespace';
import { connectTcp } from '../sockets/inet';
import { frame, readFrames } from './tcp-frames';
import { UdpLeases } from './udp-leases';
import { questionOf, readMessage, type ReadMessage } from './wire';

/** An upstream server (its host in the canonical form Node reports senders in, see `formatIp`). */
export interface UpstreamServer {
  host: string;
  /** Default 53. */
  port?: number;
}

/** The query to forward, with the responder's OPT (`edns`) or without; undefined when it does not read. */
export type UpstreamQuery = (edns: boolean) => Buffer | undefined;

const TRUNCATED = 0x0200;
const FORMERR = 1;
/** UDP forwards in flight at once (waiting keeps a rotated-out socket open); more are answered SERVFAIL rather than exhausting file descriptors. */
const MAX_UDP_IN_FLIGHT = 1024;
/** How long a server that failed a query with an OPT and answered it without is asked without (ms): then with an OPT again, once, to see whether it still fails. */
export const PLAIN_MS = 10 * 60_000;

/** What one exchange with a server came to: its reply read, no reply in time, or none for another reason (no socket, refused, unreadable). */
type Outcome = ReadMessage | 'timeout' | undefined;

export class Upstreams {
  private readonly leases: UdpLeases;
  private udpInFlight = 0;
  /** Ends each UDP forward still waiting (on close). */
  private readonly waiting = new Set<() => void>();
  /** Until when (Date.now()) each server, by index, is asked without an OPT; one number per server, so bounded. */
  private readonly plainUntil: number[];

  /**
   * @param onMismatch called for each reply dropped because its question was not the one asked
   * @param plainMs how long a server that needed a query without an OPT is asked without one (see {@link PLAIN_MS})
   */
  constructor(
    private readonly servers: ReadonlyArray<Required<UpstreamServer>>,
    private readonly netns: NetnsRef | undefined,
    private readonly timeoutMs: number,
    private readonly onMismatch: () => void = () => undefined,
    private readonly plainMs = PLAIN_MS,
  ) {
    this.leases = new UdpLeases(netns);
    this.plainUntil = servers.map(() => 0);
  }

  get size(): number {
    return this.servers.length;
  }

  /** The servers asked without an OPT now (their hosts and ports), see the module's comment. */
  get plainServers(): Array<Required<UpstreamServer>> {
    const now = Date.now();
    return this.servers.filter((_, i) => this.plainUntil[i] > now);
  }

  /** The upstream's reply (with the query's id) read, or undefined when no server answered in time or the query does not read. */
  async forward(query: UpstreamQuery, viaTcp: boolean): Promise<ReadMessage | undefined> {
    const plain = query(false);
    const question = plain && questionOf(plain);
    if (!plain || question === undefined) return undefined;
    for (let i = 0; i < this.servers.length; i++) {
      const reply = await this.ask(i, query, plain, question, viaTcp);
      if (reply) return reply;
    }
    return undefined;
  }

  close(): void {
    this.leases.close();
    for (const cancel of this.waiting) cancel();
  }

  /** One server's reply: asked with an OPT unless it is known to need none, then without when that failed (remembered when that worked). */
  private async ask(i: number, query: UpstreamQuery, plain: Buffer, question: string, viaTcp: boolean): Promise<ReadMessage | undefined> {
    const server = this.servers[i];
    const probe = this.plainUntil[i] <= Date.now();
    if (probe) {
      const withOpt = query(true);
      const got = withOpt && (await this.exchange(withOpt, question, server, viaTcp));
      if (got !== 'timeout' && !(got?.rcode === FORMERR && !got.opt)) return got;
    }
    const got = await this.exchange(plain, question, server, viaTcp);
    if (got === 'timeout' || !got) return undefined;
    // It answers without an OPT what it failed with one: ask it so for a while, not a timeout every query.
    if (probe) this.plainUntil[i] = Date.now() + this.plainMs;
    return got;
  }

  /** One query to one server: over UDP, then TCP when the client came by TCP or the UDP reply was truncated. */
  private async exchange(query: Buffer, question: string, server: Required<UpstreamServer>, viaTcp: boolean): Promise<Outcome> {
    const udp = viaTcp ? undefined : await this.overUdp(query, question, server);
    if (!viaTcp && (typeof udp !== 'object' || (udp.bytes.readUInt16BE(2) & TRUNCATED) === 0)) return udp;
    const tcp = await this.overTcp(query, server);
    if (typeof tcp === 'object' || typeof udp !== 'object') return tcp;
    return udp; // the truncated UDP reply, when TCP failed
  }

  private async overUdp(query: Buffer, question: string, server: Required<UpstreamServer>): Promise<Outcome> {
    if (this.udpInFlight >= MAX_UDP_IN_FLIGHT) return undefined;
    this.udpInFlight++;
    try {
      return await this.askOverUdp(query, question, server);
    } finally {
      this.udpInFlight--;
    }
  }

  private async askOverUdp(query: Buffer, question: string, server: Required<UpstreamServer>): Promise<Outcome> {
    const lease = await this.leases.take(server.host.includes(':') ? 6 : 4);
    if (!lease) return undefined; // no socket (EMFILE, or closing): this server cannot be asked now
    return new Promise((resolve) => {
      const finish = (reply: Outcome): void => {
        clearTimeout(timer);
        this.waiting.delete(cancel);
        lease.release(id ?? -1);
        resolve(reply);
      };
      // Only the server asked, with the id sent, may answer; a reply to another question (or none readable) is dropped, and the real one still awaited.
      const id = lease.wait((reply, from) => {
        if (from.address !== server.host || from.port !== server.port) return false;
        const bytes = Buffer.from(reply); // the socket's id stays on `reply` until the lease lets it go
        bytes.writeUInt16BE(query.readUInt16BE(0), 0);
        const read = readMessage(bytes);
        if (read?.question !== question) {
          this.onMismatch();
          return false;
        }
        finish(read);
        return true;
      });
      const timer = setTimeout(() => finish('timeout'), this.timeoutMs);
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

  private async overTcp(query: Buffer, server: Required<UpstreamServer>): Promise<Outcome> {
    let sock;
    try {
      sock = await connectTcp({ netns: this.netns, host: server.host, port: server.port, timeoutMs: this.timeoutMs });
    } catch {
      return undefined;
    }
    const conn = sock;
    return new Promise((resolve) => {
      const finish = (reply: Outcome): void => {
        clearTimeout(timer);
        conn.destroy();
        resolve(reply);
      };
      const timer = setTimeout(() => finish('timeout'), this.timeoutMs);
      conn.on('error', () => finish(undefined));
      conn.on('close', () => finish(undefined));
      readFrames(conn, (m) => finish(readMessage(Buffer.from(m))));
      conn.write(frame(query));
    });
  }
}
