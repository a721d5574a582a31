/**
 * The text of NAT statements (`masquerade to :1024-65535`, `dnat ip to
 * 10.0.0.2:80`) from what the registers they read hold.
 * @module
 */
import { formatBytes } from './describe-values';
import { natFlags } from './describe-statements';
import type { RegValue } from './describe-types';
import type { NatExpression } from './expressions/nat';
import type { TproxyExpression } from './expressions/tproxy';
import type { NftFamily } from './message';

/** What a register holds (undefined: nothing known). */
export type Register = (reg: number) => RegValue | undefined;

/** ` to :80`, ` to :1024-65535`, or nothing. */
export function portsText(reg: Register, min?: number, max?: number): string {
  const ports = portRange(reg, min, max);
  return ports ? ` to :${ports}` : '';
}

function portRange(reg: Register, min?: number, max?: number): string | undefined {
  if (min === undefined) return undefined;
  const lo = reg(min);
  const hi = max !== undefined && max !== min ? reg(max) : undefined;
  const port = (v: RegValue | undefined) =>
    v?.kind === 'data' ? formatBytes('inet_service', v.data) : v?.kind === 'field' || v?.kind === 'map' ? v.text : '?';
  return hi ? `${port(lo)}-${port(hi)}` : port(lo);
}

/** `dnat ip to 10.0.0.2:80`, `snat to 1.1.1.1-1.1.1.5`, `dnat ip to numgen ... map { ... }`. */
export function natText(reg: Register, tableFamily: NftFamily, e: NatExpression): string {
  const family = tableFamily === 'inet' && (e.family === 'ip' || e.family === 'ip6') ? ` ${e.family}` : '';
  const addr = e.regAddrMin !== undefined ? reg(e.regAddrMin) : undefined;
  const proto = e.regProtoMin !== undefined ? reg(e.regProtoMin) : undefined;
  let to: string;
  if (addr?.kind === 'map') {
    // `dnat ip to numgen random mod 100 map { 0-89 : 10.0.0.2 . 80 }`: the map yields address and port.
    to = addr.text;
    if (proto && !(proto.kind === 'map-part' && proto.id === addr.id)) to += `:${portRange(reg, e.regProtoMin, e.regProtoMax)}`;
  } else {
    const addrText = (v: RegValue | undefined) =>
      v?.kind === 'data' ? formatBytes(e.family === 'ip6' ? 'ipv6_addr' : 'ipv4_addr', v.data) : v?.kind === 'field' ? v.text : '?';
    let a = addr ? addrText(addr) : '';
    if (addr && e.regAddrMax !== undefined && e.regAddrMax !== e.regAddrMin) a += `-${addrText(reg(e.regAddrMax))}`;
    const ports = portRange(reg, e.regProtoMin, e.regProtoMax);
    if (ports !== undefined) to = e.family === 'ip6' && a ? `[${a}]:${ports}` : `${a}:${ports}`;
    else to = a;
  }
  return `${e.nat}${family}${to ? ` to ${to}` : ''}${natFlags(e.flags)}`;
}

/** `tproxy ip to 127.0.0.1:8080`, `tproxy to :8080` (the family only in inet tables, like nat). */
export function tproxyText(reg: Register, tableFamily: NftFamily, e: TproxyExpression): string {
  const family = tableFamily === 'inet' && (e.family === 'ip' || e.family === 'ip6') ? ` ${e.family}` : '';
  const value = (r: number | undefined, type: string) => {
    const v = r !== undefined ? reg(r) : undefined;
    return v?.kind === 'data' ? formatBytes(type, v.data) : v?.kind === 'field' || v?.kind === 'map' ? v.text : undefined;
  };
  const addr = value(e.regAddr, e.family === 'ip6' ? 'ipv6_addr' : 'ipv4_addr');
  const port = value(e.regPort, 'inet_service');
  const addrText = addr === undefined ? '' : e.family === 'ip6' ? ` [${addr}]` : ` ${addr}`;
  const portText = port === undefined ? '' : `${addr === undefined ? ' ' : ''}:${port}`;
  return `tproxy${family} to${addrText}${portText}`;
}
