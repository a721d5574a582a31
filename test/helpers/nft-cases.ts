// One ruleset written twice: as nft source and as nlkit calls. Interop tests
// load the first with `nft -f` and commit the second with nlkit, then check
// that both read back the same — in nlkit and in `nft -j`.
import { not, rule, type RuleBuilder } from '../../lib';
import type { Expression } from '../../lib/nftables/expressions/registry';
import type { NftObject } from '../../lib/nftables/object';
import type { NftSet } from '../../lib/nftables/set';
import type { SetElement } from '../../lib/nftables/elements';
import type { Chain } from '../../lib/nftables/chain';

/** [chain, nft statement, nlkit rule] — covers every expression kind. */
export const RULE_CASES: Array<[string, string, RuleBuilder | Expression[]]> = [
  ['post', 'ip saddr 10.0.0.0/24 oifname != "c1" masquerade', rule().ip({ saddr: '10.0.0.0/24' }).oifname(not('c1')).masquerade()],
  [
    'post',
    'meta l4proto tcp masquerade to :1024-65535 random,persistent',
    rule().protocol('tcp').masquerade({ port: '1024-65535', random: true, persistent: true }),
  ],
  [
    'post',
    'meta l4proto tcp snat ip to 1.1.1.1-1.1.1.5:2000-3000 fully-random',
    rule().protocol('tcp').snat({ to: '1.1.1.1-1.1.1.5', port: '2000-3000', fullyRandom: true }),
  ],
  ['post', 'meta l4proto tcp snat ip6 to [fd00::1]:80', rule().protocol('tcp').snat({ to: 'fd00::1', port: 80 })],
  ['pre', 'tcp dport 8080 dnat ip to 10.0.0.2:80', rule().tcp({ dport: 8080 }).dnat({ to: '10.0.0.2', port: 80 })],
  [
    'pre',
    'meta l4proto tcp dnat ip to numgen random mod 100 map { 0-89 : 10.0.0.2 . 80, 90-99 : 10.0.0.3 . 80 }',
    rule()
      .protocol('tcp')
      .dnatWeighted([
        { to: '10.0.0.2', port: 80, weight: 90 },
        { to: '10.0.0.3', port: 80, weight: 10 },
      ]),
  ],
  [
    'pre',
    'meta l4proto tcp dnat ip to numgen inc mod 2 map { 0 : 10.0.0.2 . 80, 1 : 10.0.0.3 . 80 }',
    rule()
      .protocol('tcp')
      .dnatWeighted(
        [
          { to: '10.0.0.2', port: 80, weight: 1 },
          { to: '10.0.0.3', port: 80, weight: 1 },
        ],
        { mode: 'incremental' },
      ),
  ],
  [
    'pre',
    'ip daddr 1.2.3.4 tcp dport 80 dnat ip to 10.0.0.5-10.0.0.8:8000-8010 persistent,random',
    rule().ip({ daddr: '1.2.3.4' }).tcp({ dport: 80 }).dnat({ to: '10.0.0.5-10.0.0.8', port: '8000-8010', persistent: true, random: true }),
  ],
  ['pre', 'tcp dport 80 redirect to :8080', rule().tcp({ dport: 80 }).redirect({ port: 8080 })],
  ['pre', 'meta l4proto udp redirect', rule().protocol('udp').redirect()],
  ['pre', 'dnat ip to 10.0.0.7', rule().dnat({ to: '10.0.0.7' })],
  [
    'pre',
    'meta l4proto tcp dnat ip to ip daddr map { 10.0.0.1 : 192.168.0.1 }',
    rule()
      .protocol('tcp')
      .dnatMap({ fields: 'ip daddr', entries: [{ key: '10.0.0.1', to: '192.168.0.1' }] }),
  ],
  [
    'f',
    'iifname "veth*" ct state established,related accept',
    rule()
      .iifname('veth*')
      .ct({ state: ['established', 'related'] })
      .accept(),
  ],
  ['f', 'ct state new accept', rule().ct({ state: 'new' }).accept()],
  [
    'f',
    'ct state != established drop',
    rule()
      .ct({ state: not('established') })
      .drop(),
  ],
  ['f', 'ct status dnat accept', rule().ct({ status: 'dnat' }).accept()],
  ['f', 'ct direction original accept', rule().ct({ direction: 'original' }).accept()],
  ['f', 'ct mark 0x00000007 accept', rule().ct({ mark: 7 }).accept()],
  ['f', 'meta mark 0x10-0x20 accept', rule().mark('0x10-0x20').accept()],
  [
    'f',
    'ip saddr != 10.0.0.0/20 accept',
    rule()
      .ip({ saddr: not('10.0.0.0/20') })
      .accept(),
  ],
  [
    'f',
    'tcp dport != 1000-2000 accept',
    rule()
      .tcp({ dport: not('1000-2000') })
      .accept(),
  ],
  [
    'f',
    'tcp dport != { 22, 80 } accept',
    rule()
      .tcp({ dport: not([22, 80]) })
      .accept(),
  ],
  ['f', 'iifname { "a", "b" } accept', rule().iifname(['a', 'b']).accept()],
  ['f', 'meta mark set 0x5', rule().setMark(5)],
  ['f', 'ct mark set 0x7', rule().setCtMark(7)],
  [
    'f',
    'ip daddr . tcp dport { 10.0.0.1 . 80 } accept',
    rule()
      .match(['ip daddr', 'tcp dport'], [['10.0.0.1', 80]])
      .accept(),
  ],
  [
    'f',
    'tcp dport vmap { 22 : accept, 80 : drop }',
    rule().vmap('tcp dport', [
      { key: 22, verdict: 'accept' },
      { key: 80, verdict: 'drop' },
    ]),
  ],
  ['f', 'ip saddr 10.0.0.0/8 ip daddr 10.1.0.0-10.1.0.20 accept', rule().ip({ saddr: '10.0.0.0/8', daddr: '10.1.0.0-10.1.0.20' }).accept()],
  ['f', 'limit rate over 1048576 bytes/second drop', rule().limit({ rate: 1048576, bytes: true, over: true }).drop()],
  ['f', 'limit rate 10/minute burst 3 packets accept', rule().limit({ rate: 10, per: 'minute', burst: 3 }).accept()],
  ['f', 'log prefix "x" group 2', rule().log({ prefix: 'x', group: 2 })],
  ['f', 'log prefix "hey " level warn', rule().log({ prefix: 'hey ' })],
  ['f', 'log level info flags tcp sequence,options', rule().log({ level: 'info', flags: ['tcp sequence', 'tcp options'] })],
  ['f', 'reject', rule().reject()],
  ['f', 'reject with tcp reset', rule().reject({ with: 'tcp reset' })],
  // The implied `meta l4proto tcp` goes first, before the matches (as nft puts it).
  ['f', 'ip saddr 10.0.0.0/8 iifname "lo" reject with tcp reset', rule().ip({ saddr: '10.0.0.0/8' }).iifname('lo').reject({ with: 'tcp reset' })],
  ['f', 'reject with icmpx type admin-prohibited', rule().reject({ code: 'admin-prohibited' })],
  ['f', 'ip protocol udp accept', rule().ip({ protocol: 'udp' }).accept()],
  ['f', 'meta nfproto ipv6 accept', rule().nfproto('ipv6').accept()],
  [
    'f',
    'ip saddr { 10.0.0.0/8, 192.168.0.1 } accept',
    rule()
      .ip({ saddr: ['10.0.0.0/8', '192.168.0.1'] })
      .accept(),
  ],
  [
    'f',
    'fib daddr type local tcp dport 1000-2000 drop',
    rule()
      .fib({ lookup: ['daddr'], type: 'local' })
      .tcp({ dport: '1000-2000' })
      .drop(),
  ],
  [
    'f',
    'fib daddr type { local, broadcast } drop',
    rule()
      .fib({ lookup: ['daddr'], type: ['local', 'broadcast'] })
      .drop(),
  ],
  [
    'f',
    'tcp dport { 22, 80 } counter accept',
    rule()
      .tcp({ dport: [22, 80] })
      .counter()
      .accept(),
  ],
  ['f', 'ip6 daddr ::1 udp sport 53 jump x', rule().ip6({ daddr: '::1' }).udp({ sport: 53 }).jump('x')],
  ['f', 'ip6 saddr fd00::/64 accept', rule().ip6({ saddr: 'fd00::/64' }).accept()],
  ['f', 'iif "lo" oif "lo" accept', rule().iif(1).oif(1).accept()],
  ['f', 'ip daddr 10.1.0.0/16 notrack goto x', rule().ip({ daddr: '10.1.0.0/16' }).notrack().goto('x')],
  ['f', 'ip saddr . tcp dport vmap @vm', rule().vmap(['ip saddr', 'tcp dport'], '@vm')],
  [
    'f',
    'ip saddr != @v4 return',
    rule()
      .ip({ saddr: not('@v4') })
      .return(),
  ],
  ['f', 'ether saddr 00:11:22:33:44:55 accept', rule().match('ether saddr', '00:11:22:33:44:55').accept()],
  ['f', 'tcp sport 1024-65535 tcp dport 22 continue', rule().tcp({ sport: '1024-65535', dport: 22 }).continue()],
  [
    'f',
    'tcp dport @ports counter name "cnt" accept',
    rule().tcp({ dport: '@ports' }).expressions({ type: 'objref', objectType: 'counter', name: 'cnt' }).accept(),
  ],
  ['f', 'quota name "q" drop', rule().expressions({ type: 'objref', objectType: 'quota', name: 'q' }).drop()],
  ['f', 'quota over 100000 bytes drop', rule().expressions({ type: 'quota', bytes: 100000n, consumed: 0n, invert: true }).drop()],
  [
    'f',
    'meta mark and 0x0000ff00 == 0x00000100 accept',
    rule()
      .expressions(
        { type: 'meta', key: 'mark', dreg: 1 },
        { type: 'bitwise', sreg: 1, dreg: 1, len: 4, op: 'mask-xor', mask: Buffer.from([0, 0xff, 0, 0]), xor: Buffer.alloc(4) },
        { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from([0, 1, 0, 0]) },
      )
      .accept(),
  ],
  [
    'f',
    'update @seen { ip saddr }',
    [
      { type: 'meta', key: 'nfproto', dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from([2]) },
      { type: 'payload', base: 'network', offset: 12, len: 4, dreg: 1 },
      { type: 'dynset', set: 'seen', op: 'update', sregKey: 1 },
    ],
  ],
  [
    'f',
    'counter name tcp dport map @om accept',
    rule().tcp({}).expressions({ type: 'payload', base: 'transport', offset: 2, len: 2, dreg: 1 }, { type: 'objref', sreg: 1, set: 'om' }).accept(),
  ],
  ['routeout', 'meta mark set 0x1 accept', rule().setMark(1).accept()],
  [
    'f',
    'tcp option maxseg size 1400 accept',
    rule()
      .expressions(
        { type: 'exthdr', op: 'tcp', headerType: 2, offset: 2, len: 2, dreg: 1 },
        { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from([0x05, 0x78]) },
      )
      .accept(),
  ],
  [
    'f',
    'exthdr hbh exists drop',
    rule()
      .nfproto('ipv6')
      .expressions(
        { type: 'exthdr', op: 'ipv6', headerType: 0, offset: 0, len: 1, dreg: 1, flags: ['present'] },
        { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from([1]) },
      )
      .drop(),
  ],
  [
    'f',
    'tcp option maxseg size set 1360',
    [
      { type: 'immediate', dreg: 1, data: Buffer.from([0x05, 0x50]) },
      { type: 'exthdr', op: 'tcp', headerType: 2, offset: 2, len: 2, sreg: 1 },
    ],
  ],
  // tproxy, socket: prerouting only (chain tp); rt, osf, synproxy need a route or a TCP SYN (chain fw).
  [
    'tp',
    'meta l4proto tcp tproxy ip to 127.0.0.1:8080',
    rule()
      .protocol('tcp')
      .expressions(
        { type: 'immediate', dreg: 1, data: Buffer.from([127, 0, 0, 1]) },
        { type: 'immediate', dreg: 2, data: Buffer.from([0x1f, 0x90]) },
        { type: 'tproxy', family: 'ip', regAddr: 1, regPort: 2 },
      ),
  ],
  [
    'tp',
    'meta l4proto tcp tproxy ip6 to [::1]',
    rule()
      .protocol('tcp')
      .expressions({ type: 'immediate', dreg: 1, data: Buffer.from('00000000000000000000000000000001', 'hex') }, { type: 'tproxy', family: 'ip6', regAddr: 1 }),
  ],
  [
    'tp',
    'meta l4proto udp tproxy to :53',
    rule()
      .protocol('udp')
      .expressions({ type: 'immediate', dreg: 1, data: Buffer.from([0, 53]) }, { type: 'tproxy', family: 'unspec', regPort: 1 }),
  ],
  [
    'tp',
    'socket transparent 1 socket wildcard 0 accept',
    rule()
      .expressions(
        { type: 'socket', key: 'transparent', dreg: 1 },
        { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from([1]) },
        { type: 'socket', key: 'wildcard', dreg: 1 },
        { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from([0]) },
      )
      .accept(),
  ],
  [
    'tp',
    'socket mark 0x00000005 accept',
    rule()
      .expressions({ type: 'socket', key: 'mark', dreg: 1 }, { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from([5, 0, 0, 0]) })
      .accept(),
  ],
  [
    'fw',
    'rt mtu 1400 accept',
    rule()
      .expressions({ type: 'rt', key: 'tcpmss', dreg: 1 }, { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from([0x78, 0x05]) })
      .accept(),
  ],
  [
    'fw',
    'rt ip nexthop 10.0.0.1 accept',
    rule()
      .expressions({ type: 'rt', key: 'nexthop4', dreg: 1 }, { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from([10, 0, 0, 1]) })
      .accept(),
  ],
  [
    'fw',
    'rt classid 5 accept',
    rule()
      .expressions({ type: 'rt', key: 'classid', dreg: 1 }, { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from([5, 0, 0, 0]) })
      .accept(),
  ],
  [
    'fw',
    'rt ipsec missing drop',
    rule()
      .expressions({ type: 'rt', key: 'xfrm', dreg: 1 }, { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from([0]) })
      .drop(),
  ],
  [
    'fw',
    'osf ttl skip name "Linux" accept',
    rule()
      .expressions({ type: 'osf', dreg: 1, ttl: 'skip' }, { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from('Linux'.padEnd(16, '\0')) })
      .accept(),
  ],
  [
    'fw',
    'osf version "Linux:3.0" drop',
    rule()
      .expressions({ type: 'osf', dreg: 1, ttl: 'exact', version: true }, { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from('Linux:3.0'.padEnd(16, '\0')) })
      .drop(),
  ],
  [
    'fw',
    'meta l4proto tcp synproxy mss 1460 wscale 7 timestamp sack-perm',
    rule()
      .protocol('tcp')
      .expressions({ type: 'synproxy', mss: 1460, wscale: 7, flags: ['mss', 'wscale', 'timestamp', 'sack-perm'] }),
  ],
  [
    'f',
    'jhash ip saddr . tcp dport mod 4 seed 0xdeadbeef offset 10 13 accept',
    rule()
      .nfproto('ipv4')
      .protocol('tcp')
      .expressions(
        { type: 'payload', base: 'network', offset: 12, len: 4, dreg: 2 },
        { type: 'payload', base: 'transport', offset: 2, len: 2, dreg: 13 },
        { type: 'hash', hashType: 'jhash', sreg: 2, len: 8, dreg: 1, modulus: 4, seed: 0xdeadbeef, offset: 10 },
        { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from([13, 0, 0, 0]) },
      )
      .accept(),
  ],
  [
    'f',
    'symhash mod 2 1 accept',
    rule()
      .expressions({ type: 'hash', hashType: 'symhash', dreg: 1, modulus: 2 }, { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from([1, 0, 0, 0]) })
      .accept(),
  ],
  ['f', 'ct count over 10 accept', rule().expressions({ type: 'connlimit', count: 10, invert: true }).accept()],
  ['f', 'ct count 5 accept', rule().expressions({ type: 'connlimit', count: 5 }).accept()],
];

export function nftSource(table: string): string {
  const rules = (chain: string) =>
    RULE_CASES.filter(([c]) => c === chain)
      .map(([, text]) => `    ${text}`)
      .join('\n');
  return `
table inet ${table} {
  comment "interop"
  counter cnt { }
  quota q { 25 mbytes }
  set v4 { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 172.16.0.1-172.16.0.9, 192.168.1.1 } }
  set v6 { type ipv6_addr; elements = { fd00::1, fd00::2 } }
  set ports { type inet_service; elements = { 22, 80, 443 } }
  set macs { type ether_addr; elements = { 00:11:22:33:44:55 } }
  set marks { type mark; elements = { 0x00000001, 0x00000100 } }
  set ifs { type ifname; elements = { "eth0", "veth1" } }
  set protos { type inet_proto; elements = { tcp, udp } }
  set pairs { type ipv4_addr . inet_service; elements = { 10.0.0.1 . 80 } }
  set ranges { type ipv4_addr . inet_service; flags interval; elements = { 10.0.0.0/24 . 1000-2000 } }
  set seen { type ipv4_addr; size 65535; flags dynamic,timeout; timeout 1m; }
  set counted { type ipv4_addr; counter; elements = { 10.1.1.1 } }
  set tmo { type ipv4_addr; flags timeout; elements = { 10.2.2.2 timeout 1h comment "temp" } }
  map vm { type ipv4_addr . inet_service : verdict; elements = { 10.0.0.1 . 22 : accept, 10.0.0.2 . 22 : jump x } }
  map dm { type ipv4_addr . inet_service : ipv4_addr . inet_service; elements = { 192.168.0.1 . 80 : 10.0.0.2 . 8080 } }
  map om { type inet_service : counter; elements = { 80 : "cnt" } }
  chain x {
  }
  chain f {
${rules('f')}
  }
  chain in {
    type filter hook input priority filter + 10; policy drop;
    comment "in"
  }
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
${rules('pre')}
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
${rules('post')}
  }
  chain routeout {
    type route hook output priority mangle; policy accept;
${rules('routeout')}
  }
  chain tp {
    type filter hook prerouting priority mangle; policy accept;
${rules('tp')}
  }
  chain fw {
    type filter hook forward priority filter; policy accept;
${rules('fw')}
  }
}
`;
}

/** The same table as nlkit objects. */
export function nlkitDefinition(table: string): { sets: Array<[NftSet, SetElement[]]>; objects: NftObject[]; chains: Chain[]; comment: string } {
  const f = 'inet' as const;
  const s = (set: Omit<NftSet, 'family' | 'table'>, elements: SetElement[] = []): [NftSet, SetElement[]] => [{ family: f, table, ...set }, elements];
  return {
    comment: 'interop',
    objects: [
      { family: f, table, name: 'cnt', type: 'counter' },
      { family: f, table, name: 'q', type: 'quota', bytes: 25n * 1024n * 1024n },
    ],
    sets: [
      s({ name: 'v4', keyType: 'ipv4_addr', flags: ['interval'] }, [{ key: '10.0.0.0/8' }, { key: '172.16.0.1-172.16.0.9' }, { key: '192.168.1.1' }]),
      s({ name: 'v6', keyType: 'ipv6_addr' }, [{ key: 'fd00::1' }, { key: 'fd00::2' }]),
      s({ name: 'ports', keyType: 'inet_service' }, [{ key: 22 }, { key: 80 }, { key: 443 }]),
      s({ name: 'macs', keyType: 'ether_addr' }, [{ key: '00:11:22:33:44:55' }]),
      s({ name: 'marks', keyType: 'mark' }, [{ key: 1 }, { key: 0x100 }]),
      s({ name: 'ifs', keyType: 'ifname' }, [{ key: 'eth0' }, { key: 'veth1' }]),
      s({ name: 'protos', keyType: 'inet_proto' }, [{ key: 'tcp' }, { key: 'udp' }]),
      s({ name: 'pairs', keyType: ['ipv4_addr', 'inet_service'] }, [{ key: ['10.0.0.1', 80] }]),
      s({ name: 'ranges', keyType: ['ipv4_addr', 'inet_service'], flags: ['interval'] }, [{ key: ['10.0.0.0/24', '1000-2000'] }]),
      s({ name: 'seen', keyType: 'ipv4_addr', flags: ['timeout', 'dynamic'], timeout: 60000, size: 65535 }),
      s({ name: 'counted', keyType: 'ipv4_addr', counter: true }, [{ key: '10.1.1.1' }]),
      s({ name: 'tmo', keyType: 'ipv4_addr', flags: ['timeout'] }, [{ key: '10.2.2.2', timeout: 3600000, comment: 'temp' }]),
      s({ name: 'vm', keyType: ['ipv4_addr', 'inet_service'], dataType: 'verdict' }, [
        { key: ['10.0.0.1', 22], verdict: { code: 'accept' } },
        { key: ['10.0.0.2', 22], verdict: { code: 'jump', chain: 'x' } },
      ]),
      s({ name: 'dm', keyType: ['ipv4_addr', 'inet_service'], dataType: ['ipv4_addr', 'inet_service'] }, [
        { key: ['192.168.0.1', 80], value: ['10.0.0.2', 8080] },
      ]),
      s({ name: 'om', keyType: 'inet_service', objectType: 'counter' }, [{ key: 80, object: 'cnt' }]),
    ],
    chains: [
      { family: f, table, name: 'x' },
      { family: f, table, name: 'f' },
      { family: f, table, name: 'in', type: 'filter', hook: 'input', priority: 'filter + 10', policy: 'drop', comment: 'in' },
      { family: f, table, name: 'pre', type: 'nat', hook: 'prerouting', priority: 'dstnat', policy: 'accept' },
      { family: f, table, name: 'post', type: 'nat', hook: 'postrouting', priority: 'srcnat', policy: 'accept' },
      { family: f, table, name: 'routeout', type: 'route', hook: 'output', priority: 'mangle', policy: 'accept' },
      { family: f, table, name: 'tp', type: 'filter', hook: 'prerouting', priority: 'mangle', policy: 'accept' },
      { family: f, table, name: 'fw', type: 'filter', hook: 'forward', priority: 'filter', policy: 'accept' },
    ],
  };
}
