/**
 * `synproxy` objects: the TCP options a SYN proxy announces to clients on
 * behalf of the backend (NFTA_OBJ_DATA of NFT_OBJECT_SYNPROXY).
 * @module
 */
import type { Attributes } from '../netlink/parser';
import type { NetlinkWriter } from '../netlink/writer';
import { validateInteger } from '../validate/integers';

const NFTA_SYNPROXY_MSS = 1;
const NFTA_SYNPROXY_WSCALE = 2;
const NFTA_SYNPROXY_FLAGS = 3;
// NF_SYNPROXY_OPT_*: which options the proxy uses (mss and wscale: the values given).
const OPT_MSS = 0x01;
const OPT_WSCALE = 0x02;
const OPT_SACK_PERM = 0x04;
const OPT_TIMESTAMP = 0x08;
const OPT_ECN = 0x10;

/** The fields of a `synproxy` object (`synproxy sp { mss 1460 wscale 7 timestamp sack-perm }`). */
export interface SynproxyFields {
  /** Maximum segment size announced (nft always gives it). */
  mss?: number;
  /** Window scale announced (nft always gives it). */
  wscale?: number;
  /** Announce TCP timestamps (`timestamp`). */
  timestamp?: boolean;
  /** Announce selective acknowledgements (`sack-perm`). */
  sackPerm?: boolean;
  /** Announce ECN (the kernel supports it; nft has no syntax for it). */
  ecn?: boolean;
}

export const synproxyObjectCodec = {
  encode(w: NetlinkWriter, o: SynproxyFields): void {
    let flags = 0;
    if (o.mss !== undefined) {
      w.be16(NFTA_SYNPROXY_MSS, validateInteger(o.mss, 'synproxy mss', 0, 0xffff));
      flags |= OPT_MSS;
    }
    if (o.wscale !== undefined) {
      // TCP window scale shifts stop at 14 (RFC 7323).
      w.u8(NFTA_SYNPROXY_WSCALE, validateInteger(o.wscale, 'synproxy wscale', 0, 14));
      flags |= OPT_WSCALE;
    }
    if (o.sackPerm) flags |= OPT_SACK_PERM;
    if (o.timestamp) flags |= OPT_TIMESTAMP;
    if (o.ecn) flags |= OPT_ECN;
    w.be32(NFTA_SYNPROXY_FLAGS, flags);
  },
  decode(a: Attributes): SynproxyFields {
    const flags = a.be32(NFTA_SYNPROXY_FLAGS) ?? 0;
    const o: SynproxyFields = {};
    // The kernel reports both values always; only those the object uses are part of it.
    if (flags & OPT_MSS) o.mss = a.be16(NFTA_SYNPROXY_MSS) ?? 0;
    if (flags & OPT_WSCALE) o.wscale = a.u8(NFTA_SYNPROXY_WSCALE) ?? 0;
    if (flags & OPT_TIMESTAMP) o.timestamp = true;
    if (flags & OPT_SACK_PERM) o.sackPerm = true;
    if (flags & OPT_ECN) o.ecn = true;
    return o;
  },
};
