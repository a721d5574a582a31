/**
 * The sockets of a namespace as `ss` lists them, over NETLINK_SOCK_DIAG
 * (inet_diag): TCP and UDP sockets with their state and local and peer
 * address. Read-only: what a port publisher needs to see whether a host
 * process already listens on a port.
 * @module
 */
import { NLM_F_DUMP } from '../netlink/constants';
import { ValidationError } from '../netlink/errors';
import { dump, type Operation } from '../netlink/operation';
import type { NetlinkMessage } from '../netlink/parser';
import { NetlinkWriter } from '../netlink/writer';
import { AF_INET, AF_INET6, formatIp, type IpFamily } from '../validate/ip';
import { isObject, rejectUnknownKeys } from '../validate/options';

/** The netlink protocol of socket diagnostics (linux/netlink.h). */
export const NETLINK_SOCK_DIAG = 4;
/** linux/sock_diag.h: the request and reply type of every family's dump. */
const SOCK_DIAG_BY_FAMILY = 20;
const IPPROTO = { tcp: 6, udp: 17 } as const;
/** struct inet_diag_req_v2 and struct inet_diag_msg (linux/inet_diag.h). */
const REQ_SIZE = 56;
const MSG_SIZE = 72;

/**
 * Socket states (the kernel's TCP_* numbers, shared by UDP: a bound UDP
 * socket is `close`, a connected one `established`).
 */
const STATES: readonly SocketState[] = [
  'established',
  'syn-sent',
  'syn-recv',
  'fin-wait-1',
  'fin-wait-2',
  'time-wait',
  'close',
  'close-wait',
  'last-ack',
  'listen',
  'closing',
  'new-syn-recv',
];

/** A socket state, as `ss` prints it (lower case). */
export type SocketState =
  | 'established'
  | 'syn-sent'
  | 'syn-recv'
  | 'fin-wait-1'
  | 'fin-wait-2'
  | 'time-wait'
  | 'close'
  | 'close-wait'
  | 'last-ack'
  | 'listen'
  | 'closing'
  | 'new-syn-recv';

/** An address and port of a socket. */
export interface SocketEndpoint {
  /** "0.0.0.0" / "::" when bound to every address. */
  address: string;
  /** 0 when none (a listener's peer). */
  port: number;
}

/** One socket, as listed. */
export interface InetSocket {
  family: IpFamily;
  protocol: 'tcp' | 'udp';
  state: SocketState;
  local: SocketEndpoint;
  peer: SocketEndpoint;
  /** The interface the socket is bound to (SO_BINDTODEVICE), when it is. */
  link?: number;
  /** Owner's user id. */
  uid: number;
  /** Inode of the socket (as in /proc/PID/fd → socket:[inode]). */
  inode: number;
}

/** Selects sockets; every field narrows. */
export interface SocketFilter {
  /** "tcp" or "udp" (required: each is its own dump). */
  protocol: 'tcp' | 'udp';
  /** Only IPv4 (4) or IPv6 (6) sockets; default both. */
  family?: IpFamily;
  /** Only sockets in this state (or one of these); filtered by the kernel. Default every state. */
  state?: SocketState | SocketState[];
  /** Only sockets whose local port is this. */
  port?: number;
}

const FILTER_KEYS = ['protocol', 'family', 'state', 'port'];

/** The kernel's state bit mask of a filter (bit n = state n). */
function stateMask(state: SocketFilter['state']): number {
  if (state === undefined) return 0xffffffff;
  let mask = 0;
  for (const s of Array.isArray(state) ? state : [state]) {
    const n = STATES.indexOf(s);
    if (n < 0) throw new ValidationError('state', s, `must be one of ${STATES.join(', ')}`);
    mask |= 1 << (n + 1);
  }
  return mask >>> 0;
}

function checkFilter(filter: SocketFilter): void {
  if (!isObject(filter)) throw new ValidationError('socket filter', filter, "must be an object like { protocol: 'tcp' }");
  rejectUnknownKeys(filter, FILTER_KEYS, 'socket filter');
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers may pass anything
  if (filter.protocol !== 'tcp' && filter.protocol !== 'udp') throw new ValidationError('protocol', filter.protocol, 'must be "tcp" or "udp"');
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers may pass anything
  if (filter.family !== undefined && filter.family !== 4 && filter.family !== 6) throw new ValidationError('family', filter.family, 'must be 4 or 6');
  const p = filter.port;
  if (p !== undefined && (!Number.isInteger(p) || p < 0 || p > 65535)) throw new ValidationError('port', p, 'must be a port 0-65535');
}

function request(family: number, protocol: number, states: number): Buffer {
  const w = new NetlinkWriter().begin(SOCK_DIAG_BY_FAMILY, NLM_F_DUMP);
  const off = w.struct(REQ_SIZE);
  w.view.writeUInt8(family, off);
  w.view.writeUInt8(protocol, off + 1);
  w.view.writeUInt32LE(states, off + 4); // idiag_states; the socket id stays zero: no kernel-side match
  return w.end().finish();
}

function endpoint(p: Buffer, portAt: number, addrAt: number, family: IpFamily): SocketEndpoint {
  return { address: formatIp(p.subarray(addrAt, addrAt + (family === 4 ? 4 : 16))), port: p.readUInt16BE(portAt) };
}

function decode(m: NetlinkMessage, protocol: 'tcp' | 'udp'): InetSocket {
  const p = m.payload;
  const family: IpFamily = p.readUInt8(0) === AF_INET ? 4 : 6;
  const link = p.readUInt32LE(4 + 36);
  const state = p.readUInt8(1);
  return {
    family,
    protocol,
    state: state >= 1 && state <= STATES.length ? STATES[state - 1] : 'close',
    // inet_diag_sockid at offset 4: sport, dport (big endian), src[4], dst[4], if, cookie
    local: endpoint(p, 4, 8, family),
    peer: endpoint(p, 6, 24, family),
    link: link === 0 ? undefined : link,
    uid: p.readUInt32LE(64),
    inode: p.readUInt32LE(68),
  };
}

/** The socket diagnostics operations; bound to a handle as `handle.sockets`. */
export const socketDiagOps = {
  /**
   * Lists the TCP or UDP sockets of the namespace (`ss -tan` / `ss -uan`),
   * optionally by family, state and local port. The state is filtered by
   * the kernel, the port here.
   * @example
   * const listeners = await h.sockets.list({ protocol: 'tcp', state: 'listen', port: 8080 });
   * if (listeners.length) console.log('8080 is taken by', listeners[0].local.address);
   */
  *list(filter: SocketFilter): Operation<InetSocket[]> {
    checkFilter(filter);
    const states = stateMask(filter.state);
    const out: InetSocket[] = [];
    for (const family of filter.family === 4 ? [AF_INET] : filter.family === 6 ? [AF_INET6] : [AF_INET, AF_INET6]) {
      const replies = yield* dump(request(family, IPPROTO[filter.protocol], states), `list ${filter.protocol} sockets`);
      for (const m of replies) {
        if (m.type !== SOCK_DIAG_BY_FAMILY || m.payload.length < MSG_SIZE) continue;
        const s = decode(m, filter.protocol);
        if (filter.port === undefined || s.local.port === filter.port) out.push(s);
      }
    }
    return out;
  },
};
