/**
 * For `describeNftRule`: the statements added with the typed tproxy, dup,
 * fwd, queue, connlimit and synproxy expressions (`dup to 10.0.0.1 device
 * "eth1"`, `fwd to "eth1"`, `queue flags bypass to 3`), the first four
 * from what their registers hold.
 * @module
 */
import { tproxyText, type Register } from './describe-nat';
import { connlimitText, synproxyText } from './describe-statements';
import type { InterfaceNames } from './describe-values';
import { formatBytes } from './describe-values';
import type { ConnlimitExpression } from './expressions/connlimit';
import type { DupExpression } from './expressions/dup';
import type { FwdExpression } from './expressions/fwd';
import type { QueueExpression } from './expressions/queue';
import type { SynproxyExpression } from './expressions/synproxy';
import type { TproxyExpression } from './expressions/tproxy';
import type { NftFamily } from './message';

/** A register's value: an address (by its length), an interface, or what was loaded into it. */
function registerText(reg: Register, r: number | undefined, type: 'address' | 'iface_index', names?: InterfaceNames): string {
  const v = r !== undefined ? reg(r) : undefined;
  if (v?.kind === 'data') return formatBytes(type === 'address' ? (v.data.length === 16 ? 'ipv6_addr' : 'ipv4_addr') : type, v.data, names);
  return v?.kind === 'field' || v?.kind === 'map' ? v.text : '?';
}

/** `dup to 10.0.0.1 device "eth1"`; with a device only (netdev): `dup to "eth1"`. */
function dupText(reg: Register, e: DupExpression, names?: InterfaceNames): string {
  const dev = e.regDev !== undefined ? registerText(reg, e.regDev, 'iface_index', names) : undefined;
  if (e.regAddr === undefined) return dev !== undefined ? `dup to ${dev}` : 'dup';
  return `dup to ${registerText(reg, e.regAddr, 'address')}${dev !== undefined ? ` device ${dev}` : ''}`;
}

/** `fwd to "eth1"`, `fwd ip to 10.0.0.1 device "eth1"`. */
function fwdText(reg: Register, e: FwdExpression, names?: InterfaceNames): string {
  const dev = registerText(reg, e.regDev, 'iface_index', names);
  if (e.regAddr === undefined) return `fwd to ${dev}`;
  const family = e.family === 'ip' || e.family === 'ip6' ? `${e.family} ` : '';
  return `fwd ${family}to ${registerText(reg, e.regAddr, 'address')} device ${dev}`;
}

/** `queue to 3`, `queue flags bypass,fanout to 4-5`, `queue to symhash mod 2` (nft names the flags first). */
function queueText(reg: Register, e: QueueExpression): string {
  const flags = ['bypass', 'fanout'].filter((f) => e.flags.includes(f));
  let to: string;
  if (e.sregQnum !== undefined) {
    const v = reg(e.sregQnum);
    to = v?.kind === 'field' || v?.kind === 'map' ? v.text : v?.kind === 'data' ? formatBytes('host_integer', v.data) : '?';
  } else {
    const num = e.num ?? 0;
    to = e.total !== undefined && e.total > 1 ? `${num}-${num + e.total - 1}` : String(num);
  }
  return `queue${flags.length ? ` flags ${flags.join(',')}` : ''} to ${to}`;
}

/** The text of one of these statements. */
export function diversionText(
  e: TproxyExpression | DupExpression | FwdExpression | QueueExpression | ConnlimitExpression | SynproxyExpression,
  reg: Register,
  tableFamily: NftFamily,
  names?: InterfaceNames,
): string {
  switch (e.type) {
    case 'tproxy':
      return tproxyText(reg, tableFamily, e);
    case 'dup':
      return dupText(reg, e, names);
    case 'fwd':
      return fwdText(reg, e, names);
    case 'queue':
      return queueText(reg, e);
    case 'connlimit':
      return connlimitText(e);
    case 'synproxy':
      return synproxyText(e);
  }
}
