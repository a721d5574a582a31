/**
 * Connection-tracking states whose timeouts a `ct timeout` object sets, per
 * layer 4 protocol, named as nft prints them (`policy = { established : 100 }`).
 * The kernel's CTA_TIMEOUT_<PROTO>_* attribute of a state is its index + 1.
 * @module
 */

const TCP = ['syn_sent', 'syn_recv', 'established', 'fin_wait', 'close_wait', 'last_ack', 'time_wait', 'close', 'syn_sent2', 'retransmit', 'unacknowledged'];
const UDP = ['unreplied', 'replied'];
const SCTP = ['closed', 'cookie_wait', 'cookie_echoed', 'established', 'shutdown_sent', 'shutdown_recd', 'shutdown_ack_sent', 'heartbeat_sent'];
const DCCP = ['request', 'respond', 'partopen', 'open', 'closereq', 'closing', 'timewait'];
const SINGLE = ['timeout'];

/** State names by IP protocol number; protocols not listed have the generic single `timeout`. */
const STATES_BY_PROTOCOL = new Map<number, readonly string[]>([
  [6, TCP],
  [17, UDP],
  [136, UDP],
  [47, UDP],
  [132, SCTP],
  [33, DCCP],
  [1, SINGLE],
  [58, SINGLE],
]);

/** The state names a ct timeout policy of this IP protocol can set. */
export function ctTimeoutStates(protocol: number): readonly string[] {
  return STATES_BY_PROTOCOL.get(protocol) ?? SINGLE;
}

/** The CTA_TIMEOUT_* attribute of a state (a name, or a number in a string as listed for unnamed ones); undefined when unknown. */
export function ctTimeoutAttribute(protocol: number, state: string): number | undefined {
  const i = ctTimeoutStates(protocol).indexOf(state);
  if (i >= 0) return i + 1;
  return /^[1-9][0-9]{0,3}$/.test(state) && Number(state) <= 0x3fff ? Number(state) : undefined;
}

/** The name of a CTA_TIMEOUT_* attribute (unknown ones as their number in a string, so they survive a round trip). */
export function ctTimeoutStateName(protocol: number, attribute: number): string {
  return ctTimeoutStates(protocol)[attribute - 1] ?? String(attribute);
}
