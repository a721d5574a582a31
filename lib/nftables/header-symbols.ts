/**
 * The names nft gives header values: TCP flags, ICMP and ICMPv6 types, DSCP
 * code points. describe prints them, the rule builder accepts them.
 * @module
 */
import { ValidationError } from '../netlink/errors';

/** TCP header flag bits by name. */
export const TCP_FLAGS: Record<string, number> = { fin: 0x01, syn: 0x02, rst: 0x04, psh: 0x08, ack: 0x10, urg: 0x20, ecn: 0x40, cwr: 0x80 };
/** ICMP type names by number. */
export const ICMP_TYPES: Record<number, string> = {
  0: 'echo-reply',
  3: 'destination-unreachable',
  4: 'source-quench',
  5: 'redirect',
  8: 'echo-request',
  9: 'router-advertisement',
  10: 'router-solicitation',
  11: 'time-exceeded',
  12: 'parameter-problem',
  13: 'timestamp-request',
  14: 'timestamp-reply',
  15: 'info-request',
  16: 'info-reply',
  17: 'address-mask-request',
  18: 'address-mask-reply',
};
/** ICMPv6 type names by number. */
export const ICMPV6_TYPES: Record<number, string> = {
  1: 'destination-unreachable',
  2: 'packet-too-big',
  3: 'time-exceeded',
  4: 'parameter-problem',
  128: 'echo-request',
  129: 'echo-reply',
  130: 'mld-listener-query',
  131: 'mld-listener-report',
  132: 'mld-listener-done',
  133: 'nd-router-solicit',
  134: 'nd-router-advert',
  135: 'nd-neighbor-solicit',
  136: 'nd-neighbor-advert',
  137: 'nd-redirect',
  138: 'router-renumbering',
  141: 'ind-neighbor-solicit',
  142: 'ind-neighbor-advert',
  143: 'mld2-listener-report',
};
/** DSCP code point names by number (the 6-bit value, unshifted). */
export const DSCP: Record<number, string> = {
  0: 'cs0',
  8: 'cs1',
  16: 'cs2',
  24: 'cs3',
  32: 'cs4',
  40: 'cs5',
  48: 'cs6',
  56: 'cs7',
  1: 'lephb',
  10: 'af11',
  12: 'af12',
  14: 'af13',
  18: 'af21',
  20: 'af22',
  22: 'af23',
  26: 'af31',
  28: 'af32',
  30: 'af33',
  34: 'af41',
  36: 'af42',
  38: 'af43',
  44: 'va',
  46: 'ef',
};

/** TCP options nft names, with the fields it names: [offset, length, field]. */
export const TCP_OPTIONS: Record<number, [string, Array<[number, number, string]>]> = {
  2: ['maxseg', [[2, 2, 'size']]],
  3: ['window', [[2, 1, 'count']]],
  4: ['sack-perm', []],
  5: [
    'sack',
    [
      [2, 4, 'left'],
      [6, 4, 'right'],
    ],
  ],
  8: [
    'timestamp',
    [
      [2, 4, 'tsval'],
      [6, 4, 'tsecr'],
    ],
  ],
};

/**
 * A header value given by name or number: the number of `name` in a
 * number → name table, or an integer 0..max.
 */
export function symbolValue(names: Record<number, string>, v: string | number, field: string, max: number): number {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new ValidationError(field, v, `must be an integer 0-${max} or a name`);
    return v;
  }
  if (/^(0x[0-9a-f]+|\d+)$/i.test(v)) return symbolValue(names, Number(v), field, max);
  const hit = Object.entries(names).find(([, name]) => name === v);
  if (!hit) throw new ValidationError(field, v, `unknown name; known: ${Object.values(names).join(', ')}`);
  return Number(hit[0]);
}
