/**
 * {@link openGenetlink}: a generic netlink socket in a namespace that
 * resolves families by name, sends requests and dumps to them, joins their
 * multicast groups, and carries the typed families nlkit has (the
 * controller, ethtool). New families (WireGuard, devlink, ...) are written
 * the same way: a table of operations built from `genlCall`/`genlDump`.
 * @module
 */
import { bindAsync, type AsyncOps } from '../netlink/bind';
import type { CloseOptions } from '../netlink/connection';
import type { Operation } from '../netlink/operation';
import { openNetlink, type NetlinkSocket, type OpenNetlinkOptions } from '../netlink/open';
import type { EventStream, OverrunEvent } from '../netlink/event-stream';
import { openSubscription, rawStream } from '../netlink/subscribe';
import { rejectUnknownKeys } from '../validate/options';
import { NETLINK_GENERIC } from './constants';
import { channelsOps } from './ethtool/channels';
import { linkInfoOps } from './ethtool/link-info';
import { linkModesOps } from './ethtool/link-modes';
import { linkStateOps } from './ethtool/link-state';
import { familyOps, multicastGroup, validateFamilyName, type GenlFamily } from './family';
import { decodeGenl, genlCall, genlDump, type GenlMessage, type GenlRequestOptions } from './message';

/** A family by name (resolved for you, and remembered) or as resolved. */
export type GenlFamilyRef = string | GenlFamily;

/** Options of {@link GenericNetlink.subscribe}. */
export interface GenlSubscribeOptions {
  /** SO_RCVBUF of the subscription socket in bytes (default 4 MiB). */
  receiveBufferBytes?: number;
  /** Most messages kept for a slow consumer before an overrun is declared (default 100,000). */
  maxQueued?: number;
}

/**
 * A family's notifications, decoded, and `{ type: 'overrun' }` where some
 * were lost: iterate with `for await`; `break` or `close()` ends it.
 */
export type GenlMessageStream = EventStream<GenlMessage | OverrunEvent>;

/** ethtool's typed parts, each a table of operations. */
export interface EthtoolApi {
  /** Port, PHY address, MDI-X, transceiver. */
  linkInfo: AsyncOps<typeof linkInfoOps>;
  /** Speed, duplex, autonegotiation, link modes. */
  linkModes: AsyncOps<typeof linkModesOps>;
  /** Link detected, signal quality. */
  linkState: AsyncOps<typeof linkStateOps>;
  /** Queue counts (`ethtool -l` / `-L`). */
  channels: AsyncOps<typeof channelsOps>;
}

const SUBSCRIBE_KEYS = ['receiveBufferBytes', 'maxQueued'] as const;

/** An async generic netlink socket; create it with {@link openGenetlink}. */
export class GenericNetlink {
  /** The controller: `families.get(name)`, `families.find(name)`, `families.list()`. */
  readonly families: AsyncOps<typeof familyOps>;
  /** ethtool (link info, link modes, link state, channels). */
  readonly ethtool: EthtoolApi;
  private readonly sock: NetlinkSocket;
  /** Families resolved by name on this socket; a failed lookup is not kept. */
  private readonly resolved = new Map<string, Promise<GenlFamily>>();

  /** @internal use {@link openGenetlink} */
  constructor(sock: NetlinkSocket) {
    this.sock = sock;
    const conn = sock.connection;
    this.families = bindAsync(conn, familyOps);
    this.ethtool = {
      linkInfo: bindAsync(conn, linkInfoOps),
      linkModes: bindAsync(conn, linkModesOps),
      linkState: bindAsync(conn, linkStateOps),
      channels: bindAsync(conn, channelsOps),
    };
  }

  /** The underlying netlink socket (raw requests, `run`). */
  get socket(): NetlinkSocket {
    return this.sock;
  }

  /**
   * Sends one command to a family (acked) and resolves with its replies, decoded.
   * @example
   * const [reply] = await genl.request('ethtool', ETHTOOL_MSG_LINKSTATE_GET, {
   *   attributes: (w) => { const n = w.nest(1); w.string(2, 'veth0'); w.endNest(n); },
   * });
   * console.log(reply.attributes.u8(2)); // ETHTOOL_A_LINKSTATE_LINK
   */
  async request(family: GenlFamilyRef, command: number, opts: GenlRequestOptions = {}): Promise<GenlMessage[]> {
    const f = await this.resolve(family);
    return this.sock.run(genlCall(f, command, opts));
  }

  /**
   * Dumps a family's command (NLM_F_DUMP is set) and resolves with every message, decoded.
   * @example
   * const all = await genl.dump('nlctrl', CTRL_CMD_GETFAMILY);
   */
  async dump(family: GenlFamilyRef, command: number, opts: GenlRequestOptions = {}): Promise<GenlMessage[]> {
    const f = await this.resolve(family);
    return this.sock.run(genlDump(f, command, opts));
  }

  /**
   * Joins multicast groups of a family (by name, as `families.get` lists
   * them) in this socket's namespace and streams the notifications,
   * decoded. The groups are joined when the promise resolves. Where
   * notifications were lost the stream yields `{ type: 'overrun' }` and goes on.
   * @example
   * const events = await genl.subscribe('ethtool', 'monitor');
   * for await (const ev of events) {
   *   if ('type' in ev) continue; // overrun: read the state again
   *   console.log('ethtool notification', ev.command);
   *   break;
   * }
   */
  async subscribe(family: GenlFamilyRef, groups: string | string[], opts: GenlSubscribeOptions = {}): Promise<GenlMessageStream> {
    rejectUnknownKeys(opts, SUBSCRIBE_KEYS, 'subscribe options');
    const f = await this.resolve(family);
    const ids = (Array.isArray(groups) ? groups : [groups]).map((g) => multicastGroup(f, g).id);
    const sub = await openSubscription(NETLINK_GENERIC, { groups: ids, netns: this.sock.netns, ...opts });
    // Only the family's own messages (a group belongs to one family, but be strict).
    return rawStream(sub, (m) => (m.type === f.id ? decodeGenl(m, f.headerSize) : undefined));
  }

  /**
   * Runs an operation (the typed families' own, or yours) on this socket.
   * @example
   * const fam = await genl.run(familyOps.get('ethtool'));
   */
  run<T>(op: Operation<T>): Promise<T> {
    return this.sock.run(op);
  }

  /**
   * Closes the socket now; pending calls reject with `ClosedError`
   * (subscriptions have their own sockets and stay open until closed).
   * @example
   * const genl = await openGenetlink({ netns: 'c1' });
   * try { console.log(await genl.families.list()); } finally { genl.close(); }
   */
  close(): void;
  /**
   * Closes once pending calls are done: new calls are refused at once, every
   * call already made is answered, then the socket closes (the promise
   * settles then).
   * @example
   * const pending = genl.ethtool.linkInfo.get('veth0');
   * await genl.close({ drain: true }); // `pending` was answered
   */
  close(opts: CloseOptions & { drain: true }): Promise<void>;
  /**
   * Closes now (`{}` or `{ drain: false }`) or once pending calls are done
   * (`{ drain: true }`, returns a promise); see the two forms above.
   * @example
   * await genl.close({ drain: shouldDrain });
   */
  close(opts?: CloseOptions): void | Promise<void>;
  close(opts?: CloseOptions): void | Promise<void> {
    return this.sock.close(opts);
  }

  /** Closes the socket at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes the socket at the end of an `await using` block, letting pending calls finish. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close({ drain: true });
  }

  private async resolve(family: GenlFamilyRef): Promise<GenlFamily> {
    if (typeof family !== 'string') return family;
    const name = validateFamilyName(family);
    let p = this.resolved.get(name);
    if (!p) {
      p = this.sock.run(familyOps.get(name));
      this.resolved.set(name, p);
      p.catch(() => this.resolved.delete(name));
    }
    return p;
  }
}

/**
 * Opens a generic netlink socket in a namespace (made off the event loop).
 * For blocking scripts, run the same operations on
 * `openNetlinkSync(NETLINK_GENERIC)`: `sock.run(familyOps.list())`.
 * @example
 * import { openGenetlink } from 'nlkit/genetlink';
 * const genl = await openGenetlink({ netns: 'c1' });
 * try {
 *   const modes = await genl.ethtool.linkModes.get('veth0');
 *   console.log(`${modes.speed} Mb/s ${modes.duplex}`);
 * } finally {
 *   genl.close();
 * }
 */
export async function openGenetlink(opts: OpenNetlinkOptions = {}): Promise<GenericNetlink> {
  return new GenericNetlink(await openNetlink(NETLINK_GENERIC, opts));
}
