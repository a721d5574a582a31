/**
 * For `describeNftRule`: what the loads of rt, socket, osf, hash and xfrm put in
 * their destination register, named as nft prints them (`rt mtu`,
 * `socket transparent`, `osf name`, `jhash ip saddr mod 2 seed 0xd`, `ipsec in reqid`).
 * @module
 */
import type { FieldValue } from './describe-types';
import type { HashExpression } from './expressions/hash';
import type { OsfExpression } from './expressions/osf';
import type { RtExpression } from './expressions/rt';
import type { SocketExpression } from './expressions/socket';
import type { XfrmExpression } from './expressions/xfrm';

/** rt keys: nft's text, data type and length. */
const RT_FIELDS: Record<string, [string, string, number]> = {
  classid: ['rt classid', 'host_integer', 4],
  nexthop4: ['rt ip nexthop', 'ipv4_addr', 4],
  nexthop6: ['rt ip6 nexthop', 'ipv6_addr', 16],
  tcpmss: ['rt mtu', 'host_integer', 2],
  xfrm: ['rt ipsec', 'integer', 1],
};

const SOCKET_TYPES: Record<string, [string, number]> = {
  transparent: ['integer', 1],
  mark: ['mark', 4],
  wildcard: ['integer', 1],
  cgroupv2: ['host_integer', 8],
};

/** `rt mtu`; `rt ipsec` is compared as exists/missing. */
function rtField(e: RtExpression): FieldValue {
  const [text, type, fieldLen] = RT_FIELDS[String(e.key)] ?? [`rt ${e.key}`, 'integer', 4];
  return { kind: 'field', text, type, fieldLen, ...(e.key === 'xfrm' ? { presence: true } : {}) };
}

/** `socket transparent`, `socket cgroupv2 level 1`. */
function socketField(e: SocketExpression): FieldValue {
  const [type, fieldLen] = SOCKET_TYPES[String(e.key)] ?? ['integer', 4];
  return { kind: 'field', text: `socket ${e.key}${e.level !== undefined ? ` level ${e.level}` : ''}`, type, fieldLen };
}

const OSF_TTL_WORDS: Record<string, string> = { loose: 'ttl loose ', skip: 'ttl skip ' };

/** `osf name`, `osf ttl skip version`: the OS genre as a string. */
function osfField(e: OsfExpression): FieldValue {
  return { kind: 'field', text: `osf ${OSF_TTL_WORDS[String(e.ttl)] ?? ''}${e.version ? 'version' : 'name'}`, type: 'ifname', fieldLen: 16 };
}

/** `jhash ip saddr mod 2 seed 0xd offset 100`, `symhash mod 2`; `input` is the text of what jhash hashes. */
function hashField(e: HashExpression, input: (reg: number) => string): FieldValue {
  const what = e.hashType === 'symhash' ? 'symhash' : `jhash ${e.sreg !== undefined ? input(e.sreg) : '?'}`;
  const seed = e.seed !== undefined ? ` seed 0x${e.seed.toString(16)}` : '';
  const offset = e.offset ? ` offset ${e.offset}` : '';
  return { kind: 'field', text: `${what} mod ${e.modulus}${seed}${offset}`, type: 'host_integer', fieldLen: 4 };
}

/** xfrm keys: nft's text, data type and length (reqid is compared in host order, spi in network order). */
const XFRM_FIELDS: Record<string, [string, string, number]> = {
  daddr4: ['ip daddr', 'ipv4_addr', 4],
  daddr6: ['ip6 daddr', 'ipv6_addr', 16],
  saddr4: ['ip saddr', 'ipv4_addr', 4],
  saddr6: ['ip6 saddr', 'ipv6_addr', 16],
  reqid: ['reqid', 'host_integer', 4],
  spi: ['spi', 'integer', 4],
};

/** `ipsec in reqid`, `ipsec out spnum 1 ip daddr`. */
function xfrmField(e: XfrmExpression): FieldValue {
  const [text, type, fieldLen] = XFRM_FIELDS[String(e.key)] ?? [`key ${e.key}`, 'integer', 4];
  return { kind: 'field', text: `ipsec ${e.direction}${e.spnum ? ` spnum ${e.spnum}` : ''} ${text}`, type, fieldLen };
}

/** The register value of any of these loads. */
export function loadedField(e: RtExpression | SocketExpression | OsfExpression | HashExpression | XfrmExpression, input: (reg: number) => string): FieldValue {
  switch (e.type) {
    case 'rt':
      return rtField(e);
    case 'socket':
      return socketField(e);
    case 'osf':
      return osfField(e);
    case 'hash':
      return hashField(e, input);
    case 'xfrm':
      return xfrmField(e);
  }
}
