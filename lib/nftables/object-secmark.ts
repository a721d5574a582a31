/**
 * `secmark` objects: an SELinux security context that rules put on packets
 * (NFTA_OBJ_DATA of NFT_OBJECT_SECMARK). The kernel only accepts one when an
 * LSM with secmark support (SELinux) is active.
 * @module
 */
import { ValidationError } from '../netlink/errors';
import type { Attributes } from '../netlink/parser';
import type { NetlinkWriter } from '../netlink/writer';

const NFTA_SECMARK_CTX = 1;
/** NFT_SECMARK_CTX_MAXLEN, with the terminating NUL. */
const CONTEXT_MAX_BYTES = 4095;

/** The fields of a `secmark` object (`secmark ssh { "system_u:object_r:ssh_server_packet_t:s0" }`). */
export interface SecmarkFields {
  /** The security context. */
  context: string;
}

export const secmarkObjectCodec = {
  encode(w: NetlinkWriter, o: SecmarkFields): void {
    if (typeof o.context !== 'string' || o.context === '' || o.context.includes('\0') || Buffer.byteLength(o.context) > CONTEXT_MAX_BYTES)
      throw new ValidationError('secmark context', o.context, `must be a security context of 1 to ${CONTEXT_MAX_BYTES} bytes without NUL`);
    // As nft sends it: without the terminating NUL (the kernel copies the string either way).
    w.attr(NFTA_SECMARK_CTX, Buffer.from(o.context, 'utf8'));
  },
  decode(a: Attributes): SecmarkFields {
    return { context: a.string(NFTA_SECMARK_CTX) ?? '' };
  },
};
