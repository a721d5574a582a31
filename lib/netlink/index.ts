/**
 * `nlkit/netlink`: the low-level layer every nlkit family is built on, for
 * protocols and messages nlkit has no typed API for — a TypeScript libmnl.
 *
 * - Build messages with {@link NetlinkWriter} (headers, structs, attributes,
 *   nests, several messages for a batch).
 * - Send them on a socket of any protocol in any namespace: {@link openNetlink}
 *   (async) or {@link openNetlinkSync}: `request()` (acked), `dump()`,
 *   `stream()`, `batch()`. Sequence numbers, acks, interrupted dumps,
 *   backpressure and the kernel's extended-ack errors are handled for you.
 * - Read replies with {@link Attributes} (typed accessors, nests, unknown
 *   attributes kept) and {@link parseMessages}.
 * - Write multi-step operations once as generators ({@link call}, {@link dump},
 *   {@link batch}) and run them with `sock.run(op)`, `h.run(op)` (a handle's
 *   rtnetlink socket) or blocking with `openNetlinkSync(...).run(op)`.
 * - Listen to multicast groups with {@link subscribeNetlink}.
 * - nfnetlink framing (nfgenmsg, batch begin/end) for netfilter subsystems
 *   nlkit has no API for: {@link beginNfnl}, {@link writeBatchBegin}.
 *
 * Generic netlink (family lookup by name, ethtool) is in `nlkit/genetlink`.
 * See docs/guides/low-level.md.
 * @example
 * import { openNetlink, NETLINK_ROUTE, NetlinkWriter, NLM_F_DUMP, Attributes } from 'nlkit/netlink';
 * const RTM_GETLINK = 18, IFLA_IFNAME = 3, IFINFOMSG_SIZE = 16; // linux/rtnetlink.h, linux/if_link.h
 * const sock = await openNetlink(NETLINK_ROUTE, { netns: 'c1' });
 * try {
 *   const w = new NetlinkWriter().begin(RTM_GETLINK, NLM_F_DUMP);
 *   w.struct(IFINFOMSG_SIZE);
 *   for (const m of await sock.dump(w.end())) {
 *     console.log(new Attributes(m.payload, IFINFOMSG_SIZE).string(IFLA_IFNAME));
 *   }
 * } finally {
 *   sock.close();
 * }
 * @module nlkit/netlink
 */
import { assertLinux } from '../native/binding';

assertLinux();

export * from './constants';
export * from './nfnetlink';
export { NetlinkWriter } from './writer';
export { Attributes, cString, parseMessages, type NetlinkMessage, type RawAttribute } from './parser';
export {
  batch,
  call,
  concurrently,
  dump,
  dumpOnce,
  local,
  type ConcurrentStep,
  type DumpResult,
  type LinkNamesStep,
  type LocalStep,
  type NetlinkCall,
  type Operation,
  type OperationEnv,
} from './operation';
export type { CloseOptions } from './connection';
export { NetlinkSocket, NetlinkSyncSocket, openNetlink, openNetlinkSync, type NetlinkRequest, type OpenNetlinkOptions } from './open';
export { subscribeNetlink, type NetlinkMessageStream, type SubscribeNetlinkOptions } from './subscribe';
export type { EventStream, OverrunEvent } from './event-stream';
export {
  BatchError,
  ClosedError,
  DecodeError,
  DumpInterruptedError,
  NetlinkError,
  NetlinkOverrunError,
  NlkitError,
  SystemError,
  ValidationError,
  errnoName,
  type NetlinkErrorDetails,
} from './errors';
export { NoReplyError } from './no-reply-error';
