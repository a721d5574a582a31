/**
 * {@link openNetlink}: a connection to any netlink protocol (rtnetlink,
 * netfilter, generic netlink, xfrm, ...) in any namespace, with the same
 * request engine every nlkit handle uses — sequence numbers, acks, dumps
 * (restarted when the kernel interrupts them), batches, streaming with
 * backpressure, typed errors with the kernel's extended ack. You bring the
 * message bytes ({@link NetlinkWriter}) and read the replies ({@link Attributes}).
 * @module
 */
import { openNetnsSync, type NetnsRef, type NetworkNamespace } from '../netns/namespace';
import { rejectUnknownKeys } from '../validate/options';
import { NetlinkConnection, NetlinkSyncConnection, openNetlinkSocketFd } from './connection';
import { checkBufferBytes, type CloseOptions } from './connection-options';
import { NLMSG_HDRLEN, NLMSG_MIN_TYPE, NLM_F_DUMP, align4 } from './constants';
import { ValidationError } from './errors';
import { runAsync, runSync, type NetlinkCall, type Operation } from './operation';
import type { NetlinkMessage } from './parser';
import { NetlinkWriter } from './writer';

/** Options of {@link openNetlink} and {@link openNetlinkSync}. */
export interface OpenNetlinkOptions {
  /** The namespace the socket lives in (name, path, pid, fd, or an open NetworkNamespace). Default: the caller's. */
  netns?: NetnsRef;
  /** SO_RCVBUF in bytes (default 4 MiB). */
  receiveBufferBytes?: number;
}

/** What a request is given as: the bytes of complete netlink messages, or the writer that built them. */
export type NetlinkRequest = Uint8Array | NetlinkWriter;

const OPTION_KEYS = ['netns', 'receiveBufferBytes'] as const;
/** MAX_LINKS in the kernel: protocols are 0-31. */
const MAX_PROTOCOL = 31;

/** Checks the protocol number and options before anything is opened. */
function checkOpenArgs(protocol: unknown, opts: OpenNetlinkOptions): void {
  if (typeof protocol !== 'number' || !Number.isInteger(protocol) || protocol < 0 || protocol > MAX_PROTOCOL) {
    throw new ValidationError(
      'protocol',
      protocol,
      `must be a netlink protocol number from 0 to ${MAX_PROTOCOL} (NETLINK_ROUTE = 0, NETLINK_GENERIC = 16, ...)`,
    );
  }
  rejectUnknownKeys(opts, OPTION_KEYS, 'openNetlink options');
  checkBufferBytes('receiveBufferBytes', opts.receiveBufferBytes);
}

/**
 * Turns what the caller gave into a call the connection can stamp: a private
 * copy (the connection writes sequence numbers into it), checked to be whole
 * netlink messages of a family type, `count` of them when one is required.
 */
function toCall(kind: NetlinkCall['kind'], request: NetlinkRequest, operation: string | undefined, single: boolean): NetlinkCall {
  let bytes: Buffer;
  if (request instanceof NetlinkWriter) {
    try {
      bytes = request.finish();
    } catch (e) {
      throw new ValidationError('message', (e as Error).message, 'end() the message before sending it');
    }
  } else if (request instanceof Uint8Array) {
    bytes = Buffer.from(request);
  } else {
    throw new ValidationError('message', typeof request, 'must be a Buffer (or Uint8Array) of netlink messages, or a NetlinkWriter');
  }
  const types: number[] = [];
  let flags0 = 0;
  let off = 0;
  while (off < bytes.length) {
    if (off + NLMSG_HDRLEN > bytes.length)
      throw new ValidationError('message', bytes.length, `has ${bytes.length - off} stray bytes after message ${types.length}`);
    const len = bytes.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > bytes.length)
      throw new ValidationError('message', len, `message ${types.length} has a length that does not fit the buffer (${bytes.length - off} bytes left)`);
    const type = bytes.readUInt16LE(off + 4);
    if (type < NLMSG_MIN_TYPE) throw new ValidationError('message type', type, `control message types (below ${NLMSG_MIN_TYPE}) are not requests`);
    if (types.length === 0) flags0 = bytes.readUInt16LE(off + 6);
    types.push(type);
    off += Math.min(align4(len), bytes.length - off);
  }
  if (types.length === 0) throw new ValidationError('message', bytes.length, 'is empty: expected at least one netlink message');
  if (single && types.length > 1)
    throw new ValidationError(
      'message',
      types.length,
      `holds ${types.length} messages; ${kind === 'dump' ? 'dump()' : 'request()'} sends one (use batch() for several)`,
    );
  if (kind === 'dump' && (flags0 & NLM_F_DUMP) !== NLM_F_DUMP) {
    throw new ValidationError('message flags', flags0, 'a dump request needs NLM_F_DUMP in its flags (else the kernel answers once and never ends the dump)');
  }
  return { kind, message: bytes, operation: operation ?? `netlink ${kind === 'ack' ? 'request' : kind} (type ${types[0]})` };
}

/**
 * An async netlink socket of one protocol in one namespace; create it with
 * {@link openNetlink}. Every call returns a promise and never blocks the
 * event loop; any number may be in flight, each gets exactly its own replies.
 */
export class NetlinkSocket {
  /** The netlink protocol number the socket speaks. */
  readonly protocol: number;
  private readonly conn: NetlinkConnection;
  private readonly ns?: NetworkNamespace;

  /**
   * @internal use {@link openNetlink}
   * @param conn the connection (owned from here on)
   * @param ns the namespace it lives in (owned from here on)
   */
  constructor(protocol: number, conn: NetlinkConnection, ns?: NetworkNamespace) {
    this.protocol = protocol;
    this.conn = conn;
    this.ns = ns;
  }

  /** The socket's netlink port id (nl_pid). */
  get portId(): number {
    return this.conn.portId;
  }

  /** The namespace the socket lives in, or undefined for the caller's own. */
  get netns(): NetworkNamespace | undefined {
    return this.ns;
  }

  /** @internal the request engine, for binding operation tables to this socket. */
  get connection(): NetlinkConnection {
    return this.conn;
  }

  /**
   * Sends one message and resolves with the kernel's replies once it acks it
   * (NLM_F_ACK is set for you): a GET's answer, an NLM_F_ECHO copy, or `[]`.
   * A refusal rejects with a `NetlinkError` (errno, extended-ack text).
   * @param operation how errors name the request, e.g. "get nsid of c1"
   * @example
   * const w = new NetlinkWriter().begin(RTM_GETLINK, 0);
   * w.struct(16); // struct ifinfomsg, zeroed
   * w.string(IFLA_IFNAME, 'lo');
   * const [reply] = await sock.request(w.end());
   */
  async request(message: NetlinkRequest, operation?: string): Promise<NetlinkMessage[]> {
    return this.conn.execute(toCall('ack', message, operation, true));
  }

  /**
   * Runs a dump (the message must carry NLM_F_DUMP) and resolves with every
   * message of it, restarting it if the kernel flags it as interrupted.
   * Dumps on one socket run one after the other (the kernel allows one at a time).
   * @example
   * const w = new NetlinkWriter().begin(RTM_GETLINK, NLM_F_DUMP);
   * w.struct(16);
   * const links = await sock.dump(w.end()); // one RTM_NEWLINK per interface
   */
  async dump(message: NetlinkRequest, operation?: string): Promise<NetlinkMessage[]> {
    return this.conn.execute(toCall('dump', message, operation, true));
  }

  /**
   * Streams a dump message by message, for dumps too large to hold at once:
   * a slow consumer holds the kernel back (a few thousand messages wait in
   * memory at most). Ends with a `DumpInterruptedError` if the kernel flagged
   * the dump as inconsistent; `break` stops it early. Invalid input throws
   * at the call.
   *
   * The dump runs on a socket of its own (same protocol, namespace and
   * buffers), made when the stream starts and closed when it breaks, fails
   * or this socket closes (the stream then ends with `ClosedError`); one
   * read to its end is kept for the next stream until this socket closes. So a consumer
   * that stops reading holds back only its dump: the other calls of this
   * socket, `dump` included, are sent and answered meanwhile. It is not
   * ordered after calls still in flight here: await those whose effect the
   * dump must show.
   * @example
   * for await (const m of sock.stream(dumpRequest)) count++;
   */
  stream(message: NetlinkRequest, operation?: string): AsyncGenerator<NetlinkMessage, void, undefined> {
    return this.conn.stream(toCall('dump', message, operation, true));
  }

  /**
   * Sends several messages in one datagram (nfnetlink batches, or any
   * messages the kernel should process back to back) and resolves once the
   * kernel has processed all of them, with the replies they produced. The
   * first refusal rejects the call; its `commandIndex` says which message.
   * Messages are acked only if they ask for it (NLM_F_ACK).
   * @example
   * const w = new NetlinkWriter();
   * for (const name of ['a', 'b']) { w.begin(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL); w.struct(16); w.string(IFLA_IFNAME, name); ... w.end(); }
   * await sock.batch(w);
   */
  async batch(messages: NetlinkRequest | readonly Uint8Array[], operation?: string): Promise<NetlinkMessage[]> {
    return this.conn.execute(toCall('batch', joinMessages(messages), operation, false));
  }

  /**
   * Runs an operation (a generator that yields requests: nlkit's own, like
   * `linkOps.list()`, or your own built from `call`, `dump` and `batch`) on
   * this socket.
   * @example
   * function* nsid(fd: number): Operation<number | undefined> { ... yield* call(msg, 'get nsid') ... }
   * const id = await sock.run(nsid(ns.fd));
   */
  run<T>(op: Operation<T>): Promise<T> {
    return runAsync(this.conn, op, { netnsFd: this.ns ? this.ns.fd : -1 });
  }

  /**
   * Closes the socket and its namespace reference now: pending calls reject
   * with `ClosedError`. Safe to call twice.
   * @example
   * const sock = await openNetlink(NETLINK_ROUTE);
   * try { await sock.dump(msg); } finally { sock.close(); }
   */
  close(): void;
  /**
   * Closes once pending calls are done: new calls are refused at once, every
   * call already made is sent and answered, then the socket closes (the
   * promise settles then).
   * @example
   * for (const m of messages) void sock.request(m);
   * await sock.close({ drain: true }); // every request was answered
   */
  close(opts: CloseOptions & { drain: true }): Promise<void>;
  /**
   * Closes now (`{}` or `{ drain: false }`) or once pending calls are done
   * (`{ drain: true }`, returns a promise); see the two forms above.
   * @example
   * await sock.close({ drain: shouldDrain });
   */
  close(opts?: CloseOptions): void | Promise<void>;
  close(opts?: CloseOptions): void | Promise<void> {
    const done = this.conn.close(opts);
    if (done) return done.then(() => this.ns?.close());
    this.ns?.close();
  }

  /** Closes the socket at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes the socket at the end of an `await using` block, letting pending calls finish. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close({ drain: true });
  }
}

/**
 * A blocking netlink socket for scripts; create it with {@link openNetlinkSync}.
 * Same rules as {@link NetlinkSocket}, without promises (and without streams).
 */
export class NetlinkSyncSocket {
  /** The netlink protocol number the socket speaks. */
  readonly protocol: number;
  private readonly conn: NetlinkSyncConnection;
  private readonly ns?: NetworkNamespace;

  /** @internal use {@link openNetlinkSync} */
  constructor(protocol: number, conn: NetlinkSyncConnection, ns?: NetworkNamespace) {
    this.protocol = protocol;
    this.conn = conn;
    this.ns = ns;
  }

  /** The socket's netlink port id (nl_pid). */
  get portId(): number {
    return this.conn.portId;
  }

  /** The namespace the socket lives in, or undefined for the caller's own. */
  get netns(): NetworkNamespace | undefined {
    return this.ns;
  }

  /**
   * Sends one message, waits for the kernel's ack, returns the replies.
   * @example
   * const [reply] = sock.request(getLinkMessage);
   */
  request(message: NetlinkRequest, operation?: string): NetlinkMessage[] {
    return this.conn.executeSync(toCall('ack', message, operation, true));
  }

  /**
   * Runs a dump (NLM_F_DUMP) and returns every message of it.
   * @example
   * const links = sock.dump(dumpLinksMessage);
   */
  dump(message: NetlinkRequest, operation?: string): NetlinkMessage[] {
    return this.conn.executeSync(toCall('dump', message, operation, true));
  }

  /**
   * Sends several messages in one datagram; returns their replies, throws the first refusal.
   * @example
   * sock.batch([messageA, messageB]);
   */
  batch(messages: NetlinkRequest | readonly Uint8Array[], operation?: string): NetlinkMessage[] {
    return this.conn.executeSync(toCall('batch', joinMessages(messages), operation, false));
  }

  /**
   * Runs an operation on this socket, blocking.
   * @example
   * const links = sock.run(linkOps.list());
   */
  run<T>(op: Operation<T>): T {
    return runSync(this.conn, op, { netnsFd: this.ns ? this.ns.fd : -1 });
  }

  /**
   * Closes the socket and its namespace reference. Safe to call twice.
   * @example
   * const sock = openNetlinkSync(NETLINK_ROUTE);
   * try { sock.dump(msg); } finally { sock.close(); }
   */
  close(): void {
    this.conn.close();
    this.ns?.close();
  }

  /** Closes the socket at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** A list of messages as one datagram, each padded to 4 bytes; anything else as it is. */
function joinMessages(messages: NetlinkRequest | readonly Uint8Array[]): NetlinkRequest {
  if (!isMessageList(messages)) return messages;
  const list: readonly unknown[] = messages;
  return Buffer.concat(
    list.map((m) => {
      if (!(m instanceof Uint8Array)) throw new ValidationError('message', typeof m, 'must be a Buffer (or Uint8Array) of a netlink message');
      const out = Buffer.alloc(align4(m.length));
      out.set(m);
      return out;
    }),
  );
}

function isMessageList(messages: NetlinkRequest | readonly Uint8Array[]): messages is readonly Uint8Array[] {
  return Array.isArray(messages);
}

/**
 * Opens a netlink socket of any protocol in a namespace. The socket is made
 * off the event loop (entering a namespace takes a thread and a setns).
 * @example
 * import { openNetlink, NETLINK_ROUTE, NetlinkWriter, NLM_F_DUMP } from 'nlkit/netlink';
 * const RTM_GETLINK = 18; // linux/rtnetlink.h
 * const sock = await openNetlink(NETLINK_ROUTE, { netns: 'c1' });
 * try {
 *   const w = new NetlinkWriter().begin(RTM_GETLINK, NLM_F_DUMP);
 *   w.struct(16);
 *   console.log((await sock.dump(w.end())).length, 'links');
 * } finally {
 *   sock.close();
 * }
 */
export async function openNetlink(protocol: number, opts: OpenNetlinkOptions = {}): Promise<NetlinkSocket> {
  checkOpenArgs(protocol, opts);
  const ns = opts.netns !== undefined ? openNetnsSync(opts.netns) : undefined;
  try {
    const fd = await openNetlinkSocketFd(protocol, ns ? ns.fd : -1);
    const conn = new NetlinkConnection({ protocol, netnsFd: ns ? ns.fd : -1, fd, receiveBufferBytes: opts.receiveBufferBytes });
    return new NetlinkSocket(protocol, conn, ns);
  } catch (e) {
    ns?.close();
    throw e;
  }
}

/**
 * Opens a blocking netlink socket of any protocol (for scripts; {@link openNetlink} is the main API).
 * @example
 * const sock = openNetlinkSync(NETLINK_ROUTE, { netns: 'c1' });
 * try { console.log(sock.run(linkOps.list()).map((l) => l.name)); } finally { sock.close(); }
 */
export function openNetlinkSync(protocol: number, opts: OpenNetlinkOptions = {}): NetlinkSyncSocket {
  checkOpenArgs(protocol, opts);
  const ns = opts.netns !== undefined ? openNetnsSync(opts.netns) : undefined;
  try {
    return new NetlinkSyncSocket(protocol, new NetlinkSyncConnection({ protocol, netnsFd: ns ? ns.fd : -1, receiveBufferBytes: opts.receiveBufferBytes }), ns);
  } catch (e) {
    ns?.close();
    throw e;
  }
}
