/**
 * One or more samples of every typed expression, shaped as the kernel lists
 * them (nft-codecs round-trips them; nft-expression-keys writes them back).
 * @module
 */
import { hostU32 } from '../../lib/nftables/data';
import type { Expression } from '../../lib/nftables/expressions/registry';

const b = (hex: string) => Buffer.from(hex, 'hex');

// One or more samples of every typed expression, shaped as the kernel lists them.
export const EXPRESSION_SAMPLES: Record<string, Expression[]> = {
  payload: [
    { type: 'payload', base: 'network', offset: 12, len: 4, dreg: 1 },
    { type: 'payload', base: 'transport', offset: 2, len: 2, sreg: 9, csumType: 'inet', csumOffset: 16, csumFlags: 1 },
  ],
  meta: [
    { type: 'meta', key: 'iifname', dreg: 1 },
    { type: 'meta', key: 'mark', sreg: 1 },
  ],
  cmp: [
    { type: 'cmp', sreg: 1, op: 'eq', data: b('0a000001') },
    { type: 'cmp', sreg: 9, op: 'gte', data: b('03e8') },
  ],
  bitwise: [
    { type: 'bitwise', sreg: 1, dreg: 1, len: 4, op: 'mask-xor', mask: b('ffffff00'), xor: b('00000000') },
    { type: 'bitwise', sreg: 1, dreg: 1, len: 4, op: 'lshift', data: hostU32(8) },
  ],
  range: [{ type: 'range', sreg: 1, op: 'neq', from: b('03e8'), to: b('07d0') }],
  immediate: [
    { type: 'immediate', dreg: 0, verdict: { code: 'accept' } },
    { type: 'immediate', dreg: 0, verdict: { code: 'drop' } },
    { type: 'immediate', dreg: 0, verdict: { code: 'continue' } },
    { type: 'immediate', dreg: 0, verdict: { code: 'return' } },
    { type: 'immediate', dreg: 0, verdict: { code: 'jump', chain: 'services' } },
    { type: 'immediate', dreg: 0, verdict: { code: 'goto', chain: 'services' } },
    { type: 'immediate', dreg: 1, data: b('0a000002') },
  ],
  counter: [{ type: 'counter', packets: 7n, bytes: 1234567890123n }],
  ct: [
    { type: 'ct', key: 'state', dreg: 1 },
    { type: 'ct', key: 'mark', sreg: 1 },
    { type: 'ct', key: 'status', dreg: 1 },
    { type: 'ct', key: 'saddr', dreg: 1, direction: 'reply' },
  ],
  nat: [
    { type: 'nat', nat: 'dnat', family: 'ip', regAddrMin: 1, regAddrMax: 1, regProtoMin: 2, regProtoMax: 2, flags: ['map-ips', 'proto-specified'] },
    { type: 'nat', nat: 'snat', family: 'ip6', regAddrMin: 1, regAddrMax: 2, flags: ['map-ips', 'persistent', 'fully-random'] },
  ],
  masq: [{ type: 'masq' }, { type: 'masq', flags: ['proto-specified', 'random'], regProtoMin: 1, regProtoMax: 2 }],
  redir: [{ type: 'redir', regProtoMin: 1, regProtoMax: 1, flags: ['proto-specified'] }],
  numgen: [
    { type: 'numgen', dreg: 1, mode: 'random', modulus: 100, offset: 0 },
    { type: 'numgen', dreg: 1, mode: 'incremental', modulus: 3, offset: 10 },
  ],
  lookup: [
    { type: 'lookup', set: 'allowed', sreg: 1 },
    { type: 'lookup', set: '__set%d', setId: 3, sreg: 1, invert: true },
    { type: 'lookup', set: 'ports', sreg: 1, dreg: 0 },
  ],
  dynset: [
    { type: 'dynset', set: 'seen', op: 'add', sregKey: 1, timeout: 60000 },
    { type: 'dynset', set: 'meter', op: 'update', sregKey: 1, expressions: [{ type: 'limit', rate: 10, unit: 1, burst: 5, limitType: 'packets' }] },
    {
      type: 'dynset',
      set: 'm',
      op: 'update',
      sregKey: 1,
      sregData: 9,
      expressions: [
        { type: 'counter', packets: 0n, bytes: 0n },
        { type: 'quota', bytes: 100n, consumed: 0n },
      ],
    },
  ],
  fib: [
    { type: 'fib', dreg: 1, result: 'type', flags: ['daddr'] },
    { type: 'fib', dreg: 1, result: 'oif', flags: ['saddr', 'iif'] },
  ],
  limit: [
    { type: 'limit', rate: 10, unit: 1, burst: 5, limitType: 'packets' },
    { type: 'limit', rate: 1048576, unit: 60, burst: 0, limitType: 'bytes', invert: true },
  ],
  log: [
    { type: 'log', prefix: 'dropped: ', level: 'warn' },
    { type: 'log', level: 'info', flags: ['tcp sequence', 'ip options'] },
    { type: 'log', prefix: 'x', group: 2, snaplen: 64, queueThreshold: 4 },
  ],
  reject: [
    { type: 'reject', rejectType: 'icmpx', code: 1 },
    { type: 'reject', rejectType: 'tcp reset' },
    { type: 'reject', rejectType: 'icmp', code: 3 },
  ],
  notrack: [{ type: 'notrack' }],
  objref: [
    { type: 'objref', objectType: 'counter', name: 'http' },
    { type: 'objref', sreg: 1, set: 'omap' },
  ],
  byteorder: [{ type: 'byteorder', sreg: 1, dreg: 1, op: 'hton', len: 4, size: 4 }],
  quota: [{ type: 'quota', bytes: 1000000n, consumed: 10n, invert: true }],
  tproxy: [
    { type: 'tproxy', family: 'ip', regAddr: 1, regPort: 2 },
    { type: 'tproxy', family: 'unspec', regPort: 1 },
  ],
  socket: [
    { type: 'socket', key: 'transparent', dreg: 1 },
    { type: 'socket', key: 'cgroupv2', dreg: 1, level: 2 },
  ],
  rt: [
    { type: 'rt', key: 'tcpmss', dreg: 1 },
    { type: 'rt', key: 'nexthop6', dreg: 2 },
  ],
  hash: [
    { type: 'hash', hashType: 'jhash', sreg: 2, len: 8, dreg: 1, modulus: 4, seed: 0xdeadbeef, offset: 10 },
    { type: 'hash', hashType: 'symhash', dreg: 1, modulus: 2 },
  ],
  connlimit: [
    { type: 'connlimit', count: 10, invert: true },
    { type: 'connlimit', count: 5 },
  ],
  osf: [
    { type: 'osf', dreg: 1, ttl: 'skip' },
    { type: 'osf', dreg: 1, ttl: 'exact', version: true },
  ],
  dup: [
    { type: 'dup', regAddr: 1, regDev: 2 },
    { type: 'dup', regDev: 1 },
  ],
  fwd: [
    { type: 'fwd', regDev: 1 },
    { type: 'fwd', regDev: 1, regAddr: 2, family: 'ip6' },
  ],
  synproxy: [{ type: 'synproxy', mss: 1460, wscale: 7, flags: ['mss', 'wscale', 'sack-perm', 'timestamp'] }],
};
