// The rule builder's statements written twice: as nft rule text and as
// builder calls. The parity test compares the expression bytes nft sends for
// the text with those nlkit writes for the builder.
import { rule, type RuleBuilder } from '../../lib';

/** Objects, sets and chains the cases refer to. */
export const BUILDER_PARITY_RULESET = `
table inet t {
  counter c { }
  limit l { rate 10/second }
  quota q { 100 mbytes }
  ct helper h { type "ftp" protocol tcp; }
  set s { type ipv4_addr; flags dynamic,timeout; timeout 1m; }
  map m { type ipv4_addr : mark; flags dynamic,timeout; timeout 1m; }
  map vm { typeof numgen inc mod 2 : verdict; }
  chain a { }
  chain b { }
  chain f { }
  chain tp { type filter hook prerouting priority mangle; }
}
table ip d {
  map s4 { type ipv4_addr . inet_service : mark; flags dynamic; }
  chain c { }
  chain tp { type filter hook prerouting priority mangle; }
}
table ip6 d6 {
  chain c { }
}
table netdev nd {
  chain i { type filter hook ingress device lo priority 0; }
}
`;

const goto2 = [
  { key: 0, verdict: { goto: 'a' } },
  { key: 1, verdict: { goto: 'b' } },
];

/** [family, table, chain, nft rule text, builder]. */
export const BUILDER_PARITY_CASES: Array<['inet' | 'ip' | 'ip6' | 'netdev', string, string, string, RuleBuilder]> = [
  ['inet', 't', 'f', 'tcp flags & (syn|ack) == syn', rule().tcp({ flags: { mask: ['syn', 'ack'], equals: ['syn'] } })],
  ['inet', 't', 'f', 'tcp flags syn', rule().tcp({ flags: 'syn' })],
  [
    'inet',
    't',
    'f',
    'tcp dport 22 tcp flags & (fin|syn|rst|ack) == syn',
    rule().tcp({ dport: 22, flags: { mask: ['fin', 'syn', 'rst', 'ack'], equals: ['syn'] } }),
  ],
  ['inet', 't', 'f', 'icmp type echo-request', rule().icmp({ type: 'echo-request' })],
  ['inet', 't', 'f', 'icmp type 8', rule().icmp({ type: 8 })],
  [
    'inet',
    't',
    'f',
    'icmp type { echo-request, echo-reply } accept',
    rule()
      .icmp({ type: ['echo-request', 'echo-reply'] })
      .accept(),
  ],
  ['inet', 't', 'f', 'icmpv6 type nd-neighbor-solicit', rule().icmpv6({ type: 'nd-neighbor-solicit' })],
  ['inet', 't', 'f', 'icmpv6 type 128 accept', rule().icmpv6({ type: 128 }).accept()],
  ['inet', 't', 'f', 'ip dscp cs1', rule().ip({ dscp: 'cs1' })],
  ['inet', 't', 'f', 'ip dscp ef', rule().ip({ dscp: 'ef' })],
  ['inet', 't', 'f', 'ip dscp 10', rule().ip({ dscp: 10 })],
  ['inet', 't', 'f', 'ip6 dscp af41', rule().ip6({ dscp: 'af41' })],
  ['inet', 't', 'f', 'ip ttl 64', rule().ip({ ttl: 64 })],
  ['inet', 't', 'f', 'ip ttl 1-5 drop', rule().ip({ ttl: '1-5' }).drop()],
  ['inet', 't', 'f', 'ip6 hoplimit 255', rule().ip6({ hoplimit: 255 })],
  ['inet', 't', 'f', 'tcp option maxseg size 1460', rule().tcpOption('maxseg', { size: 1460 })],
  ['inet', 't', 'f', 'tcp option sack-perm exists', rule().tcpOption('sack-perm', { exists: true })],
  ['inet', 't', 'f', 'tcp option sack-perm missing', rule().tcpOption('sack-perm', { exists: false })],
  ['inet', 't', 'f', 'tcp option window count 7', rule().tcpOption('window', { count: 7 })],
  ['inet', 't', 'f', 'counter name "c"', rule().counter({ name: 'c' })],
  ['inet', 't', 'f', 'limit name "l" accept', rule().limit({ name: 'l' }).accept()],
  ['inet', 't', 'f', 'quota name "q"', rule().quota({ name: 'q' })],
  ['inet', 't', 'f', 'quota over 100000 bytes drop', rule().quota({ bytes: 100000, over: true }).drop()],
  ['inet', 't', 'f', 'update @s { ip saddr timeout 10s }', rule().updateSet('@s', { key: 'ip saddr', timeout: 10_000 })],
  ['inet', 't', 'f', 'add @s { ip saddr }', rule().addToSet('@s', { key: 'ip saddr' })],
  ['inet', 't', 'f', 'update @m { ip saddr : 0x1 }', rule().updateSet('@m', { key: 'ip saddr', value: 1 })],
  ['inet', 't', 'f', 'numgen random mod 2 vmap { 0 : goto a, 1 : goto b }', rule().dispatch({ by: 'random', mod: 2, map: goto2 })],
  ['inet', 't', 'f', 'numgen inc mod 2 vmap { 0 : goto a, 1 : goto b }', rule().dispatch({ by: 'incremental', mod: 2, map: goto2 })],
  ['inet', 't', 'f', 'jhash ip saddr mod 2 vmap { 0 : goto a, 1 : goto b }', rule().dispatch({ by: { jhash: 'ip saddr' }, mod: 2, map: goto2 })],
  ['inet', 't', 'f', 'symhash mod 2 vmap { 0 : goto a, 1 : goto b }', rule().dispatch({ by: 'symhash', mod: 2, map: goto2 })],
  ['inet', 't', 'f', 'numgen inc mod 2 vmap @vm', rule().dispatch({ by: 'incremental', mod: 2, map: '@vm' })],
  ['inet', 't', 'f', 'meta mark set meta mark | 0x4000', rule().setMark({ or: 0x4000 })],
  ['inet', 't', 'f', 'meta mark set meta mark & 0xffff00ff', rule().setMark({ and: 0xffff00ff })],
  ['inet', 't', 'f', 'meta mark set meta mark ^ 0x1', rule().setMark({ xor: 1 })],
  ['inet', 't', 'f', 'meta mark & 0xff00 == 0x100', rule().mark({ mask: 0xff00, value: 0x100 })],
  ['inet', 't', 'f', 'ct mark set ct mark | 0x4000', rule().setCtMark({ or: 0x4000 })],
  ['inet', 't', 'f', 'ct mark & 0xff00 == 0x100', rule().ct({ mark: { mask: 0xff00, value: 0x100 } })],
  ['inet', 't', 'f', 'ct mark set meta mark', rule().setCtMark({ from: 'meta mark' })],
  ['inet', 't', 'f', 'meta mark set ct mark', rule().setMark({ from: 'ct mark' })],
  ['inet', 't', 'f', 'ct zone 5', rule().ct({ zone: 5 })],
  ['inet', 't', 'f', 'ct zone set 5', rule().setCtZone(5)],
  ['inet', 't', 'f', 'ct original zone set 7', rule().setCtZone(7, 'original')],
  ['inet', 't', 'f', 'ct reply zone set 8', rule().setCtZone(8, 'reply')],
  ['inet', 't', 'f', 'ct helper set "h"', rule().setCtHelper('h')],
  ['inet', 't', 'f', 'ct label 3', rule().ct({ label: 3 })],
  ['inet', 't', 'f', 'ct label set 3', rule().setCtLabel(3)],
  ['inet', 't', 'f', 'ct label set 100', rule().setCtLabel(100)],
  ['inet', 't', 'f', 'ct count over 10 accept', rule().ctCount({ over: 10 }).accept()],
  ['inet', 't', 'f', 'ct count 5 accept', rule().ctCount({ atMost: 5 }).accept()],
  ['inet', 't', 'f', 'queue', rule().queue()],
  ['inet', 't', 'f', 'queue num 3 bypass', rule().queue({ num: 3, bypass: true })],
  ['inet', 't', 'f', 'queue num 1-3 fanout', rule().queue({ num: '1-3', fanout: true })],
  ['inet', 't', 'tp', 'meta l4proto tcp tproxy to :8080', rule().protocol('tcp').tproxy({ port: 8080 })],
  ['inet', 't', 'tp', 'meta l4proto tcp tproxy ip to 1.2.3.4:80', rule().protocol('tcp').tproxy({ to: '1.2.3.4', port: 80 })],
  ['inet', 't', 'tp', 'meta l4proto udp tproxy ip6 to [fd00::1]:80', rule().protocol('udp').tproxy({ to: 'fd00::1', port: 80 })],
  ['inet', 't', 'tp', 'tcp dport 80 tproxy ip to 127.0.0.1', rule().tcp({ dport: 80 }).tproxy({ to: '127.0.0.1' })],
  ['ip', 'd', 'c', 'dup to 10.0.0.1', rule().dup({ to: '10.0.0.1' })],
  ['ip', 'd', 'c', 'dup to 10.0.0.1 device "lo"', rule().dup({ to: '10.0.0.1', device: 1 })],
  ['ip', 'd', 'c', 'tcp flags syn / syn,ack', rule().tcp({ flags: { mask: ['syn', 'ack'], equals: ['syn'] } })],
  ['ip', 'd', 'c', 'icmp type echo-request accept', rule().icmp({ type: 'echo-request' }).accept()],
  ['ip', 'd', 'c', 'ip ttl 1 ip dscp af11 drop', rule().ip({ dscp: 'af11', ttl: 1 }).drop()],
  ['ip', 'd', 'c', 'update @s4 { ip saddr . tcp dport : 0x2 }', rule().updateSet('@s4', { key: ['ip saddr', 'tcp dport'], value: 2 })],
  ['ip', 'd', 'tp', 'meta l4proto tcp tproxy to 1.2.3.4:80', rule().protocol('tcp').tproxy({ to: '1.2.3.4', port: 80 })],
  ['ip6', 'd6', 'c', 'icmpv6 type echo-request ip6 hoplimit 64 accept', rule().icmpv6({ type: 'echo-request' }).ip6({ hoplimit: 64 }).accept()],
  ['ip6', 'd6', 'c', 'ip6 dscp cs6', rule().ip6({ dscp: 'cs6' })],
  ['ip6', 'd6', 'c', 'dup to fd00::1', rule().dup({ to: 'fd00::1' })],
  ['netdev', 'nd', 'i', 'fwd to "lo"', rule().fwd(1)],
  ['netdev', 'nd', 'i', 'dup to "lo"', rule().dup({ device: 1 })],
];
