/**
 * The nftables table an interception owns in the pod's namespace
 * (`inet nlkit-sidecar`), computed from the spec: its chains and rules in
 * order. Writing it and comparing it with the kernel both start here.
 *
 * Both modes first let alone what must not be intercepted: replies (ct
 * direction reply: the pod's answers to inbound connections, the proxy's
 * answers to the app), loopback and local destinations, and the exclusions
 * (the proxy's own upstream traffic by uid, gid or mark, CIDRs, ports).
 * - redirect: NAT output → the outbound port; NAT prerouting → the inbound port.
 * - tproxy: a route-type output chain marks outbound TCP, which the
 *   `fwmark → table` policy rule sends through `lo` back into prerouting,
 *   where `tproxy` hands it (and inbound TCP) to the transparent listener.
 * Outbound UDP (when asked for) takes the same way as TCP, to its own port.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import { not, rule, type RuleBuilder } from '../nftables';
import { routingNumbers, type InterceptSpec } from './options';

export const SIDECAR_TABLE = 'nlkit-sidecar';
export const TABLE = { family: 'inet' as const, table: SIDECAR_TABLE };

/** What the routing of an interception depends on: recorded in the table's comment, so a replacement can undo the old one's. */
export type RoutingSpec = Pick<InterceptSpec, 'mode' | 'mark' | 'table' | 'rulePriority' | 'ipv6'>;

const COMMENT_PREFIX = 'nlkit sidecar ';

/** The table's comment: the routing it comes with ("nlkit sidecar mode=tproxy mark=1 table=133 priority=32000 ipv6=1"; nft comments cannot hold quotes). */
export function tableComment(spec: RoutingSpec): string {
  return `${COMMENT_PREFIX}mode=${spec.mode} mark=${spec.mark} table=${spec.table} priority=${spec.rulePriority} ipv6=${spec.ipv6 ? 1 : 0}`;
}

/**
 * The routing a listed table's comment records (undefined: none, or not
 * written by nlkit). Checked like intercept()'s options: a forged
 * `table=254` must not make a replacement delete from the main table.
 */
export function routingOfComment(comment: string | undefined): RoutingSpec | undefined {
  const m = /^nlkit sidecar mode=(redirect|tproxy) mark=(\d+) table=(\d+) priority=(\d+) ipv6=([01])$/.exec(comment ?? '');
  if (!m) return undefined;
  try {
    return {
      mode: m[1] as RoutingSpec['mode'],
      ...routingNumbers({ mark: Number(m[2]), table: Number(m[3]), rulePriority: Number(m[4]) }),
      ipv6: m[5] === '1',
    };
  } catch (e) {
    if (e instanceof ValidationError) return undefined;
    throw e;
  }
}

/** One chain: its base-chain definition and its rules in order. */
export interface SidecarChain {
  name: 'output' | 'prerouting';
  type: 'nat' | 'route' | 'filter';
  hook: 'output' | 'prerouting';
  priority: 'dstnat' | 'mangle';
  rules: Array<{ rule: RuleBuilder; what: string }>;
}

/** The port in a register, for tproxy (network byte order, as redirect writes it). */
function portData(port: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(port);
  return b;
}

/** `meta l4proto tcp|udp ... tproxy to :port meta mark set mark accept` (the rule given matches the protocol). */
function tproxyRule(r: RuleBuilder, port: number, mark: number): RuleBuilder {
  return r
    .expressions({ type: 'immediate', dreg: 1, data: portData(port) }, { type: 'tproxy', family: 'unspec', regPort: 1 })
    .setMark(mark)
    .accept();
}

/** The outbound exclusions, each a `return`. */
function outboundExclusions(spec: InterceptSpec): Array<{ rule: RuleBuilder; what: string }> {
  const out: Array<{ rule: RuleBuilder; what: string }> = [];
  const add = (r: RuleBuilder, what: string) => out.push({ rule: r.return(), what });
  add(rule().ct({ direction: 'reply' }), 'replies');
  add(rule().oifname('lo'), 'loopback');
  add(rule().fib({ lookup: ['daddr'], type: 'local' }), 'local destinations');
  if (spec.uids.length) add(rule().match('meta skuid', spec.uids), 'excluded uids');
  if (spec.gids.length) add(rule().match('meta skgid', spec.gids), 'excluded gids');
  if (spec.marks.length) add(rule().mark(spec.marks), 'excluded marks');
  // Single addresses without their /32 or /128: the kernel lists them so, and check() compares the text.
  if (spec.cidrs4.length) add(rule().ip({ daddr: spec.cidrs4.map((c) => c.replace(/\/32$/, '')) }), 'excluded IPv4 destinations');
  if (spec.cidrs6.length && spec.ipv6) add(rule().ip6({ daddr: spec.cidrs6.map((c) => c.replace(/\/128$/, '')) }), 'excluded IPv6 destinations');
  if (spec.ports.length) add(rule().tcp({ dport: spec.ports }), 'excluded ports');
  if (spec.ports.length && spec.udp) add(rule().udp({ dport: spec.ports }), 'excluded UDP ports');
  return out;
}

/** The families intercepted: nothing of IPv6 passes the chains when `ipv6` is false. */
function familyGuard(spec: InterceptSpec): Array<{ rule: RuleBuilder; what: string }> {
  return spec.ipv6 ? [] : [{ rule: rule().nfproto('ipv6').return(), what: 'IPv6 not intercepted' }];
}

/** Outbound UDP to intercept: all of it, or to the ports given. */
function outboundUdp(udp: { ports: number[] }): RuleBuilder {
  return udp.ports.length ? rule().udp({ dport: udp.ports }) : rule().udp();
}

/** The table's chains as `spec` wants them. */
export function sidecarLayout(spec: InterceptSpec): SidecarChain[] {
  const tcp = () => rule().tcp();
  const guard = familyGuard(spec);
  if (spec.mode === 'redirect') {
    const chains: SidecarChain[] = [
      {
        name: 'output',
        type: 'nat',
        hook: 'output',
        priority: 'dstnat',
        rules: [...guard, ...outboundExclusions(spec), { rule: tcp().redirect({ port: spec.outboundPort }), what: 'outbound redirect' }],
      },
    ];
    if (spec.udp) chains[0].rules.push({ rule: outboundUdp(spec.udp).redirect({ port: spec.udp.outboundPort }), what: 'outbound UDP redirect' });
    if (spec.inboundPort !== undefined) {
      const rules = [...guard, { rule: rule().iifname('lo').return(), what: 'loopback' }];
      if (spec.inboundPorts.length) rules.push({ rule: rule().tcp({ dport: spec.inboundPorts }).return(), what: 'excluded inbound ports' });
      rules.push({ rule: tcp().redirect({ port: spec.inboundPort }), what: 'inbound redirect' });
      chains.push({ name: 'prerouting', type: 'nat', hook: 'prerouting', priority: 'dstnat', rules });
    }
    return chains;
  }
  const output = [...guard, ...outboundExclusions(spec), { rule: tcp().setMark(spec.mark), what: 'outbound mark' }];
  const prerouting = [
    ...guard,
    // Outbound TCP marked in output comes back through lo: divert it to the proxy.
    { rule: tproxyRule(tcp().iifname('lo').mark(spec.mark), spec.outboundPort, spec.mark), what: 'outbound tproxy' },
  ];
  if (spec.udp) {
    output.push({ rule: outboundUdp(spec.udp).setMark(spec.mark), what: 'outbound UDP mark' });
    prerouting.push({
      rule: tproxyRule(rule().udp().iifname('lo').mark(spec.mark), spec.udp.outboundPort, spec.mark),
      what: 'outbound UDP tproxy',
    });
  }
  prerouting.push({ rule: rule().iifname('lo').return(), what: 'loopback' });
  if (spec.inboundPort !== undefined) {
    prerouting.push({ rule: rule().ct({ direction: 'reply' }).return(), what: 'replies' });
    if (spec.inboundPorts.length) prerouting.push({ rule: rule().tcp({ dport: spec.inboundPorts }).return(), what: 'excluded inbound ports' });
    prerouting.push({ rule: tproxyRule(tcp().iifname(not('lo')), spec.inboundPort, spec.mark), what: 'inbound tproxy' });
  }
  return [
    { name: 'output', type: 'route', hook: 'output', priority: 'mangle', rules: output },
    { name: 'prerouting', type: 'filter', hook: 'prerouting', priority: 'mangle', rules: prerouting },
  ];
}
