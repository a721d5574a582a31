/**
 * For `describeNftRule`: the text of nft's statements that need no register
 * tracking — verdicts, log, limit, quota, reject, NAT flags — in nft's own
 * wording and order (the defaults nft leaves out are left out).
 * @module
 */
import type { Verdict } from './data';
import { byteUnits, duration, timeUnit } from './describe-values';
import type { CounterExpression } from './expressions/counter';
import type { FlowOffloadExpression } from './expressions/flow-offload';
import type { LastExpression } from './expressions/last';
import type { NotrackExpression } from './expressions/notrack';
import type { LimitExpression } from './expressions/limit';
import type { LogExpression } from './expressions/log';
import type { QuotaExpression } from './expressions/quota';
import type { RejectExpression } from './expressions/reject';
import type { ConnlimitExpression } from './expressions/connlimit';
import type { SynproxyExpression } from './expressions/synproxy';

/** ICMP codes of `reject with icmp` / `icmpv6` / `icmpx`, and the code each prints nothing for (the default). */
const REJECT_CODES: Record<string, { names: Record<number, string>; implicit: number }> = {
  icmp: {
    names: {
      0: 'net-unreachable',
      1: 'host-unreachable',
      2: 'prot-unreachable',
      3: 'port-unreachable',
      4: 'frag-needed',
      9: 'net-prohibited',
      10: 'host-prohibited',
      13: 'admin-prohibited',
    },
    implicit: 3,
  },
  icmpv6: { names: { 0: 'no-route', 1: 'admin-prohibited', 3: 'addr-unreachable', 4: 'port-unreachable', 5: 'policy-fail', 6: 'reject-route' }, implicit: 4 },
  icmpx: { names: { 0: 'no-route', 1: 'port-unreachable', 2: 'host-unreachable', 3: 'admin-prohibited' }, implicit: 1 },
};

/** `reject`, `reject with tcp reset`, `reject with icmpx admin-prohibited`; `l3` picks icmp or icmpv6. */
export function rejectText(e: RejectExpression, l3: 'ip' | 'ip6' | undefined): string {
  const type = String(e.rejectType);
  if (type === 'tcp reset') return 'reject with tcp reset';
  const kind = type === 'icmpx' ? 'icmpx' : l3 === 'ip6' ? 'icmpv6' : 'icmp';
  const codes = REJECT_CODES[kind];
  if (e.code === undefined || e.code === codes.implicit) return 'reject';
  return `reject with ${kind} ${codes.names[e.code] ?? e.code}`;
}

/** `quota over 100000 bytes`, `quota 25 mbytes used 1 kbytes`. */
export function quotaText(e: QuotaExpression): string {
  return `quota ${e.invert ? 'over ' : ''}${byteUnits(e.bytes)}${e.consumed ? ` used ${byteUnits(e.consumed)}` : ''}`;
}

/** `accept`, `jump x`. */
export function verdictText(v: Verdict): string {
  return v.chain !== undefined ? `${v.code} ${v.chain}` : String(v.code);
}

/** ` random,fully-random,persistent` in nft's order. */
export function natFlags(flags: readonly string[] | undefined): string {
  const shown = ['random', 'fully-random', 'persistent'].filter((f) => flags?.includes(f));
  return shown.length ? ` ${shown.join(',')}` : '';
}

/** `log prefix "x" group 2`, `log level info flags tcp sequence,options`. */
export function logText(e: LogExpression): string {
  let s = 'log';
  if (e.prefix !== undefined) s += ` prefix ${JSON.stringify(e.prefix)}`;
  if (e.group !== undefined) s += ` group ${e.group}`;
  if (e.snaplen !== undefined) s += ` snaplen ${e.snaplen}`;
  if (e.queueThreshold !== undefined) s += ` queue-threshold ${e.queueThreshold}`;
  if (e.level !== undefined && e.level !== 'warn' && e.level !== 4) s += ` level ${e.level}`;
  const flags = new Set((e.flags ?? []).map(String));
  if (['tcp sequence', 'tcp options', 'ip options', 'skuid', 'ether'].every((f) => flags.has(f))) return `${s} flags all`;
  const words: string[] = [];
  const tcp = ['sequence', 'options'].filter((f) => flags.has(`tcp ${f}`));
  if (tcp.length) words.push(`tcp ${tcp.join(',')}`);
  for (const f of ['ip options', 'skuid', 'ether']) if (flags.has(f)) words.push(f);
  return words.length ? `${s} flags ${words.join(',')}` : s;
}

/** `limit rate 10/minute burst 3 packets`, `limit rate over 1 mbytes/second`. */
export function limitText(e: LimitExpression): string {
  const over = e.invert ? 'over ' : '';
  if (e.limitType === 'bytes' || e.limitType === 1) {
    const burst = e.burst ? ` burst ${byteUnits(BigInt(e.burst))}` : '';
    return `limit rate ${over}${byteUnits(BigInt(e.rate))}/${timeUnit(e.unit)}${burst}`;
  }
  // nft's default burst (5 packets) is not printed.
  const burst = e.burst && e.burst !== 5 ? ` burst ${e.burst} packets` : '';
  return `limit rate ${over}${e.rate}/${timeUnit(e.unit)}${burst}`;
}

/** `ct count over 10`. */
export function connlimitText(e: ConnlimitExpression): string {
  return `ct count ${e.invert ? 'over ' : ''}${e.count}`;
}

/** `synproxy mss 1460 wscale 7 timestamp sack-perm`: the options in nft's order. */
export function synproxyText(e: SynproxyExpression): string {
  const flags = new Set(e.flags.map(String));
  let s = 'synproxy';
  if (flags.has('mss')) s += ` mss ${e.mss}`;
  if (flags.has('wscale')) s += ` wscale ${e.wscale}`;
  if (flags.has('timestamp')) s += ' timestamp';
  if (flags.has('sack-perm')) s += ' sack-perm';
  return s;
}

/** How nft names a statement that applies a named object: `counter name`, but `ct helper set`, `synproxy name`, `meta secmark set`. */
const OBJREF_STATEMENTS: Record<string, string> = {
  'ct helper': 'ct helper set',
  'ct timeout': 'ct timeout set',
  'ct expectation': 'ct expectation set',
  secmark: 'meta secmark set',
};

/** The start of an objref statement for this object type (`counter name`, `ct helper set`, ...). */
export function objrefStatement(objectType: string | number | undefined): string {
  if (objectType === undefined) return 'objref name';
  return OBJREF_STATEMENTS[objectType] ?? `${objectType} name`;
}

/** Statements whose text is their own fields: `counter packets 0 bytes 0`, `notrack`, `last used never` / `last used 1m2s`, `flow add @ft`. */
export function plainStatementText(e: CounterExpression | NotrackExpression | LastExpression | FlowOffloadExpression): string {
  if (e.type === 'counter') return `counter packets ${e.packets ?? 0n} bytes ${e.bytes ?? 0n}`;
  if (e.type === 'last') return `last used ${e.used === undefined ? 'never' : duration(e.used)}`;
  if (e.type === 'flow_offload') return `flow add @${e.flowtable}`;
  return 'notrack';
}
