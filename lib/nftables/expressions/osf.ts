/**
 * osf: passive OS fingerprinting of a TCP SYN (`osf name "Linux"`,
 * `osf ttl skip version "Linux:3.0"`). The kernel dumps flags 0 but its
 * input refuses any flags other than `version`: 0 is not written back.
 * @module
 */
import { unknownAttributes, writeRawAttributes } from '../data';
import { NameTable } from '../names';
import { be32Or0, setIf, type ExpressionCodec, type HasUnknownAttributes } from './codec';

const NFTA_OSF_DREG = 1;
const NFTA_OSF_TTL = 2;
const NFTA_OSF_FLAGS = 3;
const KNOWN = [1, 2, 3];
const NFT_OSF_F_VERSION = 1;

/** How the packet's TTL is checked against the fingerprint: exactly, loosely, or not at all. */
export type OsfTtl = 'exact' | 'loose' | 'skip';
export const OSF_TTLS = new NameTable<OsfTtl>('osf ttl', [
  ['exact', 0],
  ['loose', 1],
  ['skip', 2],
]);

/** `osf`: the OS genre (or genre:version) of the SYN's sender into a register (16 bytes). */
export interface OsfExpression extends HasUnknownAttributes {
  /** Expression name. */
  type: 'osf';
  /** Destination register. */
  dreg: number;
  /** TTL check. */
  ttl: OsfTtl | number;
  /** Load "genre:version" instead of the genre. */
  version?: boolean;
}

export const osfCodec: ExpressionCodec<OsfExpression> = {
  name: 'osf',
  type: 'osf',
  encode(w, e) {
    w.be32(NFTA_OSF_DREG, e.dreg);
    w.u8(NFTA_OSF_TTL, OSF_TTLS.number(e.ttl));
    if (e.version) w.be32(NFTA_OSF_FLAGS, NFT_OSF_F_VERSION);
    writeRawAttributes(w, e.unknownAttributes);
  },
  decode(a) {
    const e: OsfExpression = { type: 'osf', dreg: be32Or0(a, NFTA_OSF_DREG), ttl: OSF_TTLS.name(a.u8(NFTA_OSF_TTL) ?? 0) };
    if (be32Or0(a, NFTA_OSF_FLAGS) & NFT_OSF_F_VERSION) e.version = true;
    setIf(e, 'unknownAttributes', unknownAttributes(a, KNOWN));
    return e;
  },
};
