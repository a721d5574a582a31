/**
 * The builder's checks for raw expressions (`rule().expressions(...)`): a
 * transport protocol match written raw (`meta l4proto tcp`, `ip protocol
 * udp`, `ip6 nexthdr tcp`) satisfies a later port mapping, and a raw NAT
 * expression with a port needs one before it, as the builder's own do.
 * @module
 */
import type { Expression } from '../expressions/registry';
import { isObject } from '../../validate/options';
import type { BuildContext } from './context';

/** IPv4 protocol (offset 9) and IPv6 next header (offset 6): one byte of the network header. */
const PROTOCOL_OFFSETS = new Set([6, 9]);

/** Whether `e` loads the transport protocol number into its destination register. */
function loadsTransportProtocol(e: Expression): e is Expression & { dreg: number } {
  if (e.type === 'meta') return e.key === 'l4proto' && e.dreg !== undefined;
  if (e.type === 'payload') return e.base === 'network' && e.len === 1 && PROTOCOL_OFFSETS.has(e.offset) && e.dreg !== undefined;
  return false;
}

/** Walks raw expressions in order: notes the protocol matches they make and the port mappings that need one. */
export function checkRawExpressions(ctx: BuildContext, exprs: readonly Expression[]): void {
  const protocolRegs = new Set<number>();
  exprs.forEach((e, i) => {
    const input: unknown = e; // from plain JavaScript: the encoder refuses non-objects later, with the field named
    if (!isObject(input)) return;
    if (loadsTransportProtocol(e)) protocolRegs.add(e.dreg);
    else if (e.type === 'cmp' && e.op === 'eq' && protocolRegs.has(e.sreg) && Buffer.isBuffer(e.data) && e.data.length === 1)
      ctx.satisfied(`l4proto:${e.data[0]}`);
    else if ((e.type === 'nat' || e.type === 'masq' || e.type === 'redir') && e.regProtoMin !== undefined)
      ctx.requireTransport(`expressions[${i}].regProtoMin`);
  });
}
