/**
 * Routes from a native index of a dump's replies (NetlinkCall.collectRows):
 * where each message's attributes lie comes from native code
 * (native/netlink_index.cc), so no JavaScript walks the messages and their
 * attributes; a new process would interpret that walk for most of a
 * 5,000-route dump. Routes of the common shapes (destination, link, table,
 * gateway, source address, metric, preference) are built here; any other
 * attribute sends the message to decodeRouteAt. Both make the same object:
 * same properties, same order (test/unit/route-rows.test.ts).
 * @module
 */
import type { RowCollector } from '../netlink/operation';
import { formatIpAt } from '../validate/ip';
import { DECIMAL, DOTTED } from '../validate/ipv4-text';
import * as C from './constants';
import { nexthopFlagNames, tableName } from './names';
import { PREF_NAMES, PREFIX_LENGTHS, PROTOCOL_NAMES, SCOPE_NAMES, TABLE_NAMES, TYPE_NAMES, decodeRouteAt, isClonedRouteAt } from './route-decode';
import type { Route } from './route-types';

/** The columns of a row (after its 4 header entries): where each attribute's data lies. */
const COLUMNS = new Uint8Array(32);
COLUMNS[C.RTA_DST] = 1;
COLUMNS[C.RTA_OIF] = 2;
COLUMNS[C.RTA_GATEWAY] = 3;
COLUMNS[C.RTA_PRIORITY] = 4;
COLUMNS[C.RTA_PREFSRC] = 5;
COLUMNS[C.RTA_TABLE] = 6;
COLUMNS[C.RTA_PREF] = 7;
// Every IPv6 route has one; one whose rta_expires is not 0 (a route that expires) goes to decodeRouteAt.
COLUMNS[C.RTA_CACHEINFO] = 8;
const STRIDE = 12;

/** What a list asks of the kernel, checked again here (older kernels filter only some): -1 for "any". */
export interface RowFilter {
  table: number;
  link: number;
  protocol: number;
  type: number;
}

/**
 * A row collector for a route dump: the routes `filter` lets through, and
 * what `keep` returns for the ones decodeRouteAt decodes. The routes built
 * here carry a `linkName` slot (undefined) after `index`, so that naming them
 * fills it instead of adding a property to each: every caller must pass them
 * through nameRoutes, which also removes the slot when the link has no name.
 */
export function routeRows(keep: (r: Route) => Route | undefined, filter: RowFilter): RowCollector {
  return {
    headerLength: C.RTMSG_LEN,
    columns: COLUMNS,
    stride: STRIDE,
    collect: (b, rows, count, out) => {
      collectRoutes(b, rows, count, out, keep, filter);
    },
  };
}

/** The IPv4 text of the first three bytes of the last destination ("10.64.3."): a dump lists neighbouring prefixes in a row. */
let lastHead = -1;
let lastHeadText = '';
/** "7/32" for each last byte, per prefix length: the rest of a destination's text, made once. */
const TAILS: string[][] = [];
/** The views below read in host order, and netlink's is the host's: the rows are read so on little-endian hosts only. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * One flat loop with literal offsets and numbers: it runs interpreted for
 * most of a new process's first dump, where each call, property load of an
 * imported constant and helper costs.
 */
function collectRoutes(b: Buffer, rows: Int32Array, count: number, out: unknown[], keep: (r: Route) => Route | undefined, filter: RowFilter): void {
  const tables = TABLE_NAMES;
  const protocols = PROTOCOL_NAMES;
  const scopes = SCOPE_NAMES;
  const types = TYPE_NAMES;
  const prefixes = PREFIX_LENGTHS;
  const decimal = DECIMAL;
  const dotted = DOTTED;
  const tableWanted = filter.table;
  const linkWanted = filter.link;
  const protocolWanted = filter.protocol;
  const typeWanted = filter.type;
  let tailsLength = -1;
  let tails: string[] = [];
  // Attribute data lies 4-aligned in a message that starts 4-aligned: nla_len and 32-bit values are one
  // load each from these views, not two or four bytes and their shifts (interpreted, per route).
  if (b.byteOffset & 3) b = Buffer.from(b);
  const u16 = new Uint16Array(b.buffer, b.byteOffset, b.length >> 1);
  const u32 = new Uint32Array(b.buffer, b.byteOffset, b.length >> 2);
  const viewed = LITTLE_ENDIAN;
  for (let i = 0, w = 0; i < count; i++, w += 12) {
    const start = rows[w];
    const end = rows[w + 1];
    // 24: RTM_NEWROUTE
    if (rows[w + 2] !== 24) continue;
    const cacheinfo = rows[w + 11];
    if (rows[w + 3] & 0x10000 || start & 3 || !viewed || (cacheinfo >= 0 && u16[(cacheinfo - 4) >> 1] >= 16 && u32[(cacheinfo + 8) >> 2] !== 0)) {
      // ROW_UNKNOWN_ATTRIBUTE: a shape decodeRouteAt decodes (and a message the views cannot read); and a route
      // that expires (rta_cacheinfo's rta_expires, at offset 8, not 0).
      if (isClonedRouteAt(b, start, end)) continue;
      const kept = keep(decodeRouteAt(b, start, end));
      if (kept !== undefined) out.push(kept);
      continue;
    }
    // RTM_F_CLONED (0x200): cached clones are left out, as `ip route show` does.
    if (b[start + 9] & 2) continue;
    const dst = rows[w + 4];
    const oif = rows[w + 5];
    const gateway = rows[w + 6];
    const priority = rows[w + 7];
    const prefsrc = rows[w + 8];
    const table = rows[w + 9];
    const pref = rows[w + 10];
    // An attribute's data length is its nla_len (the 2 bytes 4 before the data) less 4.
    const tableId = table >= 0 && u16[(table - 4) >> 1] >= 8 ? u32[table >> 2] : b[start + 4];
    const link = oif >= 0 && u16[(oif - 4) >> 1] >= 8 ? u32[oif >> 2] : -1;
    if (
      (tableWanted >= 0 && tableId !== tableWanted) ||
      (linkWanted >= 0 && link !== linkWanted) ||
      (protocolWanted >= 0 && b[start + 5] !== protocolWanted) ||
      (typeWanted >= 0 && b[start + 7] !== typeWanted)
    ) {
      continue;
    }
    const dstLength = b[start + 1];
    let dstText: string;
    if (dst < 0) dstText = dstLength === 0 ? 'default' : `?/${dstLength}`;
    else if (u16[(dst - 4) >> 1] === 8) {
      // IPv4, as formatIpv4At, with the last byte and the prefix length in one string.
      const head = (b[dst] << 16) | (b[dst + 1] << 8) | b[dst + 2];
      if (head !== lastHead) {
        lastHead = head;
        lastHeadText = dotted[b[dst]] + dotted[b[dst + 1]] + dotted[b[dst + 2]];
      }
      if (dstLength !== tailsLength) tails = TAILS[(tailsLength = dstLength)] ??= [];
      dstText = lastHeadText + (tails[b[dst + 3]] ??= decimal[b[dst + 3]] + prefixes[dstLength]);
    } else dstText = formatIpAt(b, dst, u16[(dst - 4) >> 1] - 4) + prefixes[dstLength];
    // The RTNH_F_* bits (NEXTHOP_FLAGS, 0x17) all lie in rtm_flags' first byte.
    const flags = b[start + 8] & 0x17 ? nexthopFlagNames(u32[(start + 8) >> 2]) : [];
    let r: Route;
    if (link >= 0 && gateway < 0 && priority < 0 && prefsrc < 0 && pref < 0) {
      // The shape of most routes of a dump, in one literal.
      r = {
        family: b[start] === 10 ? 6 : 4,
        dst: dstText,
        dstLength,
        table: tableId < 256 ? tables[tableId] : tableName(tableId),
        tableId,
        protocol: protocols[b[start + 5]],
        scope: scopes[b[start + 6]],
        type: types[b[start + 7]],
        flags,
        unknownAttributes: [],
        link,
        // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated alias of `link`, still filled
        index: link,
        linkName: undefined,
      };
    } else {
      r = {
        family: b[start] === 10 ? 6 : 4,
        dst: dstText,
        dstLength,
        table: tableId < 256 ? tables[tableId] : tableName(tableId),
        tableId,
        protocol: protocols[b[start + 5]],
        scope: scopes[b[start + 6]],
        type: types[b[start + 7]],
        flags,
        unknownAttributes: [],
      };
      // In decodeRouteAt's order.
      if (gateway >= 0) r.gateway = formatIpAt(b, gateway, u16[(gateway - 4) >> 1] - 4);
      if (link >= 0) {
        r.link = link;
        // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated alias of `link`, still filled
        r.index = link;
      }
      if (prefsrc >= 0) r.prefsrc = formatIpAt(b, prefsrc, u16[(prefsrc - 4) >> 1] - 4);
      if (priority >= 0 && u16[(priority - 4) >> 1] >= 8) r.metric = u32[priority >> 2];
      const prefName = pref >= 0 && u16[(pref - 4) >> 1] >= 5 ? PREF_NAMES.get(b[pref]) : undefined;
      if (prefName !== undefined) r.pref = prefName;
    }
    out.push(r);
  }
}
