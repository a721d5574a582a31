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
 * UDP (when asked for) takes the same ways as TCP, to its own ports: each
 * UDP rule comes after the TCP ones of its direction, so an interception
 * without UDP has exactly the rules it had before UDP existed.
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
  name: 'output' | 'prerouting' | 'proxy-zone';
  type: 'nat' | 'route' | 'filter';
  hook: 'output' | 'prerouting';
  priority: 'dstnat' | 'mangle' | 'raw';
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
  if (spec.ports.length && spec.udp?.outboundPort !== undefined) add(rule().udp({ dport: spec.ports }), 'excluded UDP ports');
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

type Rules = Array<{ rule: RuleBuilder; what: string }>;

/**
 * REDIRECT mode with outbound UDP: the proxy's own UDP (told apart by uid,
 * gid or mark) is tracked with its original tuple in a conntrack zone of its
 * own. UDP has no connection state, so a proxy socket that gets the source
 * port of an app query still tracked (30 s) sends that flow's 5-tuple and
 * would follow its NAT back to the proxy: the NAT chain, which excludes the
 * proxy, sees a flow's first packet only. The reply tuple stays in the
 * default zone, where the answers arrive. TPROXY mode marks packet by
 * packet, and TCP starts a new flow with each SYN: neither needs it.
 */
function proxyZone(spec: InterceptSpec, guard: Rules): SidecarChain | undefined {
  const udp = spec.udp;
  if (spec.mode !== 'redirect' || udp?.outboundPort === undefined) return undefined;
  const rules: Rules = [];
  const add = (r: RuleBuilder, what: string) => rules.push({ rule: r.setCtZone(udp.zone, 'original'), what });
  if (spec.uids.length) add(rule().udp().match('meta skuid', spec.uids), "the proxy's UDP by uid");
  if (spec.gids.length) add(rule().udp().match('meta skgid', spec.gids), "the proxy's UDP by gid");
  if (spec.marks.length) add(rule().udp().mark(spec.marks), "the proxy's UDP by mark");
  if (rules.length === 0) return undefined;
  return { name: 'proxy-zone', type: 'filter', hook: 'output', priority: 'raw', rules: [...guard, ...rules] };
}

/**
 * The inbound rules after the loopback (and, TPROXY, replies) exclusion:
 * per protocol intercepted, its excluded local ports then its diversion.
 * `divert` makes the REDIRECT or TPROXY rule for a protocol's match.
 */
function inbound(spec: InterceptSpec, divert: (match: RuleBuilder, port: number) => RuleBuilder): Rules {
  const rules: Rules = [];
  if (spec.inboundPort !== undefined) {
    if (spec.inboundPorts.length) rules.push({ rule: rule().tcp({ dport: spec.inboundPorts }).return(), what: 'excluded inbound ports' });
    rules.push({ rule: divert(rule().tcp(), spec.inboundPort), what: `inbound ${spec.mode}` });
  }
  const udpPort = spec.udp?.inboundPort;
  if (udpPort !== undefined) {
    if (spec.inboundPorts.length) rules.push({ rule: rule().udp({ dport: spec.inboundPorts }).return(), what: 'excluded inbound UDP ports' });
    rules.push({ rule: divert(rule().udp(), udpPort), what: `inbound UDP ${spec.mode}` });
  }
  return rules;
}

const interceptsInbound = (spec: InterceptSpec): boolean => spec.inboundPort !== undefined || spec.udp?.inboundPort !== undefined;

/** The table's chains as `spec` wants them. */
export function sidecarLayout(spec: InterceptSpec): SidecarChain[] {
  const tcp = () => rule().tcp();
  const guard = familyGuard(spec);
  const udpOut = spec.udp?.outboundPort;
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
    if (spec.udp && udpOut !== undefined) chains[0].rules.push({ rule: outboundUdp(spec.udp).redirect({ port: udpOut }), what: 'outbound UDP redirect' });
    if (interceptsInbound(spec)) {
      // NAT chains see the first packet of a flow only: replies never reach them.
      const rules = [...guard, { rule: rule().iifname('lo').return(), what: 'loopback' }, ...inbound(spec, (m, port) => m.redirect({ port }))];
      chains.push({ name: 'prerouting', type: 'nat', hook: 'prerouting', priority: 'dstnat', rules });
    }
    const zone = proxyZone(spec, guard);
    if (zone) chains.push(zone);
    return chains;
  }
  const output = [...guard, ...outboundExclusions(spec), { rule: tcp().setMark(spec.mark), what: 'outbound mark' }];
  const prerouting = [
    ...guard,
    // Outbound TCP marked in output comes back through lo: divert it to the proxy.
    { rule: tproxyRule(tcp().iifname('lo').mark(spec.mark), spec.outboundPort, spec.mark), what: 'outbound tproxy' },
  ];
  if (spec.udp && udpOut !== undefined) {
    output.push({ rule: outboundUdp(spec.udp).setMark(spec.mark), what: 'outbound UDP mark' });
    prerouting.push({ rule: tproxyRule(rule().udp().iifname('lo').mark(spec.mark), udpOut, spec.mark), what: 'outbound UDP tproxy' });
  }
  prerouting.push({ rule: rule().iifname('lo').return(), what: 'loopback' });
  if (interceptsInbound(spec)) {
    // A filter chain sees every packet: answers to the pod's own flows (and the proxy's upstream) are not inbound.
    prerouting.push({ rule: rule().ct({ direction: 'reply' }).return(), what: 'replies' });
    prerouting.push(...inbound(spec, (m, port) => tproxyRule(m.iifname(not('lo')), port, spec.mark)));
  }
  return [
    { name: 'output', type: 'route', hook: 'output', priority: 'mangle', rules: output },
    { name: 'prerouting', type: 'filter', hook: 'prerouting', priority: 'mangle', rules: prerouting },
  ];
}
