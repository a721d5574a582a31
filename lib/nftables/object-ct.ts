/**
 * Connection-tracking objects: `ct helper`, `ct timeout` and `ct expectation`,
 * the NFTA_OBJ_DATA of NFT_OBJECT_CT_HELPER, _CT_TIMEOUT and _CT_EXPECT.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import type { Attributes } from '../netlink/parser';
import type { NetlinkWriter } from '../netlink/writer';
import { IP_PROTOCOLS } from '../validate/ip-protocols';
import { validateInteger, validateU32 } from '../validate/integers';
import { isObject } from '../validate/options';
import { ctTimeoutAttribute, ctTimeoutStateName, ctTimeoutStates } from './ct-timeout-states';
import { familyName, familyNumber, type NftFamily } from './message';

const NFTA_CT_HELPER_NAME = 1;
const NFTA_CT_HELPER_L3PROTO = 2;
const NFTA_CT_HELPER_L4PROTO = 3;
const NFTA_CT_TIMEOUT_L3PROTO = 1;
const NFTA_CT_TIMEOUT_L4PROTO = 2;
const NFTA_CT_TIMEOUT_DATA = 3;
const NFTA_CT_EXPECT_L3PROTO = 1;
const NFTA_CT_EXPECT_L4PROTO = 2;
const NFTA_CT_EXPECT_DPORT = 3;
const NFTA_CT_EXPECT_TIMEOUT = 4;
const NFTA_CT_EXPECT_SIZE = 5;
/** NF_CT_HELPER_NAME_LEN, with the terminating NUL. */
const HELPER_NAME_MAX_BYTES = 15;

/** An IP protocol: nft's name (`'tcp'`) or its number. */
export type IpProtocol = string | number;

/** The fields of a `ct helper` object (`ct helper ftp-std { type "ftp" protocol tcp; l3proto ip; }`). */
export interface CtHelperFields {
  /** The kernel helper's name (nft's `type "ftp"`). */
  helper: string;
  /** Layer 4 protocol the helper is for (`'tcp'`, `'udp'`). */
  protocol: IpProtocol;
  /** Layer 3 family (`'ip'`, `'ip6'`, `'inet'` for both); default: the table's family. */
  l3proto?: NftFamily;
}

/** The fields of a `ct timeout` object (`ct timeout agressive { protocol tcp; policy = { established: 100 } }`). */
export interface CtTimeoutFields {
  /** Layer 4 protocol whose timeouts are set. */
  protocol: IpProtocol;
  /** Layer 3 family; default: the table's family. */
  l3proto?: NftFamily;
  /**
   * Timeout in seconds by connection state, named as nft prints them
   * (tcp: `established`, `close`, `syn_sent`, ...; udp: `unreplied`, `replied`;
   * icmp: `timeout`). States left out keep the kernel's defaults; a listed
   * object has every state the kernel reports.
   */
  policy?: Record<string, number>;
}

/** The fields of a `ct expectation` object (`ct expectation e { protocol tcp; dport 5000; timeout 1s; size 12 }`). */
export interface CtExpectationFields {
  /** Layer 4 protocol of the expected connection. */
  protocol: IpProtocol;
  /** Destination port of the expected connection. */
  dport: number;
  /** How long the expectation lives, in milliseconds. */
  timeout: number;
  /** Most expectations of the master connection at once. */
  size: number;
  /** Layer 3 family; default: the table's family. */
  l3proto?: NftFamily;
}

function protocolNumber(p: unknown, field: string): number {
  if (typeof p === 'string' && IP_PROTOCOLS.has(p)) return IP_PROTOCOLS.number(p);
  if (typeof p === 'number') return validateInteger(p, field, 0, 255);
  throw new ValidationError(field, p, 'must be a protocol name (tcp, udp, sctp, ...) or a number from 0 to 255');
}

function protocolName(n: number | undefined): IpProtocol {
  return IP_PROTOCOLS.name(n ?? 0);
}

function writeL3(w: NetlinkWriter, type: number, l3proto: NftFamily | undefined, field: string): void {
  if (l3proto !== undefined) w.be16(type, familyNumber(l3proto, field));
}

function readL3<T extends object>(out: T, a: Attributes, type: number): T & { l3proto?: NftFamily } {
  const l3 = a.be16(type);
  return l3 === undefined ? out : Object.assign(out, { l3proto: familyName(l3) });
}

export const ctHelperObjectCodec = {
  encode(w: NetlinkWriter, o: CtHelperFields): void {
    if (typeof o.helper !== 'string' || o.helper === '' || Buffer.byteLength(o.helper) > HELPER_NAME_MAX_BYTES || o.helper.includes('\0'))
      throw new ValidationError('ct helper helper', o.helper, `must be a helper name of 1 to ${HELPER_NAME_MAX_BYTES} bytes`);
    const protocol = protocolNumber(o.protocol, 'ct helper protocol');
    w.string(NFTA_CT_HELPER_NAME, o.helper);
    writeL3(w, NFTA_CT_HELPER_L3PROTO, o.l3proto, 'ct helper l3proto');
    w.u8(NFTA_CT_HELPER_L4PROTO, protocol);
  },
  decode(a: Attributes): CtHelperFields {
    return readL3({ helper: a.string(NFTA_CT_HELPER_NAME) ?? '', protocol: protocolName(a.u8(NFTA_CT_HELPER_L4PROTO)) }, a, NFTA_CT_HELPER_L3PROTO);
  },
};

export const ctTimeoutObjectCodec = {
  encode(w: NetlinkWriter, o: CtTimeoutFields): void {
    const protocol = protocolNumber(o.protocol, 'ct timeout protocol');
    if (o.policy !== undefined && (!isObject(o.policy) || Array.isArray(o.policy)))
      throw new ValidationError('ct timeout policy', o.policy, 'must be an object of state → seconds');
    const entries = Object.entries(o.policy ?? {}).map(([state, seconds]): [number, number] => {
      const attr = ctTimeoutAttribute(protocol, state);
      if (attr === undefined)
        throw new ValidationError('ct timeout policy', state, `unknown state for this protocol (known: ${ctTimeoutStates(protocol).join(', ')})`);
      return [attr, validateU32(seconds, `ct timeout policy ${state}`)];
    });
    writeL3(w, NFTA_CT_TIMEOUT_L3PROTO, o.l3proto, 'ct timeout l3proto');
    w.u8(NFTA_CT_TIMEOUT_L4PROTO, protocol);
    const data = w.nest(NFTA_CT_TIMEOUT_DATA);
    for (const [attr, seconds] of entries.sort((x, y) => x[0] - y[0])) w.be32(attr, seconds);
    w.endNest(data);
  },
  decode(a: Attributes): CtTimeoutFields {
    const protocol = a.u8(NFTA_CT_TIMEOUT_L4PROTO) ?? 0;
    const policy: Record<string, number> = {};
    for (const { type, data } of a.nested(NFTA_CT_TIMEOUT_DATA)?.unknown(new Set()) ?? []) {
      if (data.length >= 4) policy[ctTimeoutStateName(protocol, type)] = data.readUInt32BE(0);
    }
    return readL3({ protocol: protocolName(protocol), policy }, a, NFTA_CT_TIMEOUT_L3PROTO);
  },
};

export const ctExpectationObjectCodec = {
  encode(w: NetlinkWriter, o: CtExpectationFields): void {
    const protocol = protocolNumber(o.protocol, 'ct expectation protocol');
    const dport = validateInteger(o.dport, 'ct expectation dport', 0, 0xffff);
    const timeout = validateU32(o.timeout, 'ct expectation timeout');
    const size = validateInteger(o.size, 'ct expectation size', 0, 0xff);
    writeL3(w, NFTA_CT_EXPECT_L3PROTO, o.l3proto, 'ct expectation l3proto');
    w.u8(NFTA_CT_EXPECT_L4PROTO, protocol);
    w.be16(NFTA_CT_EXPECT_DPORT, dport);
    // The kernel reads the timeout in host byte order (nla_get_u32), unlike the port.
    w.u32(NFTA_CT_EXPECT_TIMEOUT, timeout);
    w.u8(NFTA_CT_EXPECT_SIZE, size);
  },
  decode(a: Attributes): CtExpectationFields {
    return readL3(
      {
        protocol: protocolName(a.u8(NFTA_CT_EXPECT_L4PROTO)),
        dport: a.be16(NFTA_CT_EXPECT_DPORT) ?? 0,
        timeout: a.u32(NFTA_CT_EXPECT_TIMEOUT) ?? 0,
        size: a.u8(NFTA_CT_EXPECT_SIZE) ?? 0,
      },
      a,
      NFTA_CT_EXPECT_L3PROTO,
    );
  },
};
