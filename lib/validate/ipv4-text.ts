/**
 * Dotted IPv4 text from bytes, for decoders that format thousands of
 * addresses per dump: the decimal strings of the 256 byte values are made
 * once, and the first three bytes' text ("10.64.3.") is kept from the
 * previous call (a dump lists neighbouring prefixes one after another).
 * @module
 */

/** "0" .. "255". */
export const DECIMAL = Array.from({ length: 256 }, (_, i) => String(i));
/** "0." .. "255.". */
export const DOTTED = DECIMAL.map((d) => `${d}.`);

let lastHead = -1;
let lastHeadText = '';

/** The 4 bytes at `offset` of `b` as dotted decimal ("10.64.3.7"). */
export function formatIpv4At(b: Uint8Array, offset: number): string {
  const head = (b[offset] << 16) | (b[offset + 1] << 8) | b[offset + 2];
  if (head !== lastHead) {
    lastHead = head;
    lastHeadText = DOTTED[b[offset]] + DOTTED[b[offset + 1]] + DOTTED[b[offset + 2]];
  }
  return lastHeadText + DECIMAL[b[offset + 3]];
}
