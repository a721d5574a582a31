/**
 * DNS messages as bytes, for what the responder does to a message without
 * decoding and re-encoding it (dns-packet writes names out in full, so a
 * re-encoded upstream reply loses its name compression and can grow to
 * several times its size): its records found by offset, the OPT record
 * replaced, and the message cut to the whole RRsets that fit a size; and
 * the names of a message dns-packet wrote compressed.
 * Compression pointers point back (RFC 1035 4.1.4), so a message cut after a
 * record still reads.
 * @module
 */

const HEADER = 12;
const TC = 0x0200;
const TYPE_OPT = 41;

/** One resource record of a message: where it is, its section, and the RRset it belongs to. */
interface WireRecord {
  start: number;
  end: number;
  /** 0 answer, 1 authority, 2 additional. */
  section: 0 | 1 | 2;
  /** Where its type field is (after the owner name). */
  typeAt: number;
}

/** A message's layout: its question, the end of its question section, its records (those after an OPT left out), and its OPT. */
export interface Layout {
  /** The question section as a key (see questionOf). */
  question: string;
  questionEnd: number;
  records: WireRecord[];
  /** The TTL field of the OPT record (extended code, version, flags), when there is one. */
  optTtl?: number;
}

/**
 * The name at `offset` as a key: its labels with their lengths, ASCII
 * lower-case (RFC 4343: resolvers may randomise case), pointers followed;
 * undefined when it does not read.
 */
function nameKey(msg: Buffer, offset: number): string | undefined {
  let key = '';
  let at = offset;
  for (let jumps = 0; jumps < 128;) {
    if (at >= msg.length) return undefined;
    const len = msg[at];
    if (len === 0) return key;
    if ((len & 0xc0) === 0xc0) {
      if (at + 1 >= msg.length) return undefined;
      at = msg.readUInt16BE(at) & 0x3fff;
      jumps++;
      continue;
    }
    if ((len & 0xc0) !== 0 || at + 1 + len > msg.length) return undefined;
    key += msg.toString('latin1', at, at + 1 + len).replace(/[A-Z]+/g, (c) => c.toLowerCase());
    at += 1 + len;
  }
  return undefined;
}

/** The offset after the name at `offset` (its labels up to the root or a pointer), or undefined when it does not read. */
function skipName(msg: Buffer, offset: number): number | undefined {
  for (let at = offset; at < msg.length;) {
    const len = msg[at];
    if (len === 0) return at + 1;
    if ((len & 0xc0) === 0xc0) return at + 2 <= msg.length ? at + 2 : undefined;
    if ((len & 0xc0) !== 0) return undefined;
    at += 1 + len;
  }
  return undefined;
}

/** The RRset of a record (RFC 2181 5): its owner (case-insensitive, pointers followed), type and class. */
function rrsetOf(msg: Buffer, r: WireRecord): string {
  return `${nameKey(msg, r.start) ?? ''} ${String(r.section)} ${msg.toString('hex', r.typeAt, r.typeAt + 4)}`;
}

/** The question section of a message as a key (its names case-insensitive, types and classes) and its end; undefined when it does not read. */
function questionAt(msg: Buffer): { key: string; end: number } | undefined {
  if (msg.length < HEADER) return undefined;
  let key = '';
  let at = HEADER;
  for (let i = msg.readUInt16BE(4); i > 0; i--) {
    const next = skipName(msg, at);
    const name = next === undefined || next + 4 > msg.length ? undefined : nameKey(msg, at);
    if (next === undefined || name === undefined) return undefined;
    key += `${name}/${msg.toString('hex', next, next + 4)},`;
    at = next + 4;
  }
  return { key, end: at };
}

/**
 * The question of a message (names case-insensitive, pointers followed,
 * types and classes), to match a reply to its query; undefined when it does not read.
 */
export function questionOf(msg: Buffer): string | undefined {
  return questionAt(msg)?.key;
}

/** Where the question section and each record of a message are, or undefined when it does not read that far. */
function layout(msg: Buffer): Layout | undefined {
  if (msg.length < HEADER) return undefined;
  const question = questionAt(msg);
  if (!question) return undefined;
  const out: Layout = { question: question.key, questionEnd: question.end, records: [] };
  let at = question.end;
  const counts = [msg.readUInt16BE(6), msg.readUInt16BE(8), msg.readUInt16BE(10)];
  for (const section of [0, 1, 2] as const) {
    for (let i = 0; i < counts[section]; i++) {
      const typeAt = skipName(msg, at);
      if (typeAt === undefined || typeAt + 10 > msg.length) return undefined;
      const end = typeAt + 10 + msg.readUInt16BE(typeAt + 8);
      if (end > msg.length) return undefined;
      if (msg.readUInt16BE(typeAt) === TYPE_OPT && section === 2) {
        // The OPT is per hop; what follows it (a TSIG or SIG(0) of that hop) is left out with it.
        out.optTtl = msg.readUInt32BE(typeAt + 4);
        return out;
      }
      out.records.push({ start: at, end, section, typeAt });
      at = end;
    }
  }
  return out;
}

/**
 * Where the names are in the record data of the types whose data names may
 * be compressed: those of RFC 1035 (RFC 3597 4 forbids it for any other
 * type, and RFC 2782 for SRV's target): `skip` bytes, then `names` names.
 */
const RDATA_NAMES: ReadonlyMap<number, { skip: number; names: number }> = new Map([
  [2, { skip: 0, names: 1 }], // NS
  [5, { skip: 0, names: 1 }], // CNAME
  [6, { skip: 0, names: 2 }], // SOA: MNAME, RNAME, then five numbers
  [12, { skip: 0, names: 1 }], // PTR
  [15, { skip: 2, names: 1 }], // MX: preference, exchange
]);

/**
 * A message written with every name in full (as dns-packet writes it) with
 * its names compressed (RFC 1035 4.1.4): the owner names of its records, and
 * the names in the data of NS, CNAME, SOA, PTR and MX records; the longest
 * ending that appeared before (the question's, an earlier owner's or data
 * name) becomes a pointer to it, and the record's data length follows. The
 * data of other types is copied as it is: RFC 3597 4 forbids compressing
 * names in it, RFC 2782 SRV's target. The message as it is when it does
 * not read or has pointers already; and when anything is out of place:
 * bytes after its last record, a name in record data running past the
 * record's data (every read stays inside the message's bytes and each
 * name inside its record: a malformed message is never "compressed" into
 * another one; see the fuzz test in test/unit/dns-wire.test.ts).
 */
export function compressNames(msg: Buffer): Buffer {
  const l = layout(msg);
  if (!l || l.optTtl !== undefined) return msg;
  // Bytes after the last record are no record of it: a decoder that reads a record's data past its length would read them.
  if ((l.records.length > 0 ? l.records[l.records.length - 1].end : l.questionEnd) !== msg.length) return msg;
  const out = Buffer.alloc(msg.length);
  msg.copy(out, 0, 0, HEADER);
  let length = HEADER;
  /** Where each name ending ("nlkit.internal", "web.nlkit.internal") was first written in full. */
  const seen = new Map<string, number>();
  /**
   * Writes the name at `from` of `msg`, compressed against what came before it when `compress`; the offset after it in
   * `msg`, or undefined when it is not a name in full that ends before `limit`.
   */
  const writeName = (from: number, compress: boolean, limit: number): number | undefined => {
    const starts: number[] = [];
    let end = from;
    for (; end < limit && msg[end] !== 0; end += 1 + msg[end]) {
      if ((msg[end] & 0xc0) !== 0 || end + 1 + msg[end] >= limit) return undefined;
      starts.push(end);
    }
    if (end >= limit) return undefined;
    for (const start of starts) {
      const ending = msg.toString('latin1', start, end);
      const earlier = compress ? seen.get(ending) : undefined;
      if (earlier !== undefined) {
        length = out.writeUInt16BE(0xc000 | earlier, length);
        return end + 1;
      }
      if (length < 0x4000 && !seen.has(ending)) seen.set(ending, length);
      length += msg.copy(out, length, start, start + 1 + msg[start]);
    }
    out[length++] = 0;
    return end + 1;
  };
  for (let at = HEADER, i = msg.readUInt16BE(4); i > 0; i--) {
    const next = writeName(at, false, l.questionEnd);
    if (next === undefined) return msg;
    length += msg.copy(out, length, next, next + 4);
    at = next + 4;
  }
  for (const r of l.records) {
    if (writeName(r.start, true, r.typeAt) === undefined) return msg;
    const names = RDATA_NAMES.get(msg.readUInt16BE(r.typeAt));
    let at = r.typeAt + 10; // after type, class, TTL and data length
    length += msg.copy(out, length, r.typeAt, at);
    const dataAt = length;
    if (names) {
      if (at + names.skip > r.end) return msg;
      length += msg.copy(out, length, at, at + names.skip);
      at += names.skip;
      for (let i = 0; i < names.names; i++) {
        const next = writeName(at, true, r.end);
        if (next === undefined) return msg;
        at = next;
      }
    }
    length += msg.copy(out, length, at, r.end);
    out.writeUInt16BE(length - dataAt, dataAt - 2);
  }
  return out.subarray(0, length);
}

/** An OPT record (RFC 6891 6.1.2): the root as owner, no options. */
export function optRecord(o: { udpPayloadSize: number; extendedRcode: number; dnssecOk: boolean }): Buffer {
  const b = Buffer.alloc(11);
  b.writeUInt16BE(TYPE_OPT, 1);
  b.writeUInt16BE(o.udpPayloadSize, 3);
  b[5] = o.extendedRcode;
  b[6] = 0; // version
  b.writeUInt16BE(o.dnssecOk ? 0x8000 : 0, 7);
  return b;
}

/**
 * A message read once, for what the responder does with a forwarded reply:
 * match its question, see its response code, cut it to the client's size.
 */
export interface ReadMessage {
  bytes: Buffer;
  /** Its question (see {@link questionOf}). */
  question: string;
  /** Its full response code: the upper 8 bits from its OPT (0 without one) and the header's 4. */
  rcode: number;
  /** It has an OPT record. */
  opt: boolean;
  layout: Layout;
}

/** The message read (its question, response code and records found), or undefined when it does not read. */
export function readMessage(msg: Buffer): ReadMessage | undefined {
  const l = layout(msg);
  if (!l) return undefined;
  const rcode = (((l.optTtl ?? 0) >>> 24) << 4) | (msg.readUInt16BE(2) & 0xf);
  return { bytes: msg, question: l.question, rcode, opt: l.optTtl !== undefined, layout: l };
}

/**
 * The records to keep of a message that does not fit `budget` bytes: the
 * longest run of whole RRsets of the answer, then of the authority section
 * that fits, TC when one had to go (RFC 2181 9); additional records as fit
 * without TC, as they are extra (RFC 2181 9, what Unbound does).
 */
function fitting(msg: Buffer, l: Layout, budget: number): { keep: number; truncated: boolean } {
  // The last record of each RRset in its section: a cut may only fall where every RRset begun has ended.
  const rrsets = l.records.map((r) => rrsetOf(msg, r));
  const last = new Map<string, number>();
  rrsets.forEach((key, i) => last.set(key, i));
  let keep = 0;
  let openUntil = -1;
  for (let i = 0; i < l.records.length; i++) {
    const r = l.records[i];
    if (r.end > budget) return { keep, truncated: r.section < 2 };
    openUntil = Math.max(openUntil, last.get(rrsets[i]) ?? i);
    if (openUntil === i) keep = i + 1;
  }
  return { keep, truncated: false };
}

/**
 * The message with its OPT (and whatever followed it) replaced by `opt` (none
 * when undefined), cut to the whole RRsets that fit `limit` bytes with TC set
 * when records of the answer or authority section had to go (`truncated`);
 * `omitted` when only additional records did (no TC). The message's own
 * bytes otherwise, compression and all. Undefined when it does not read.
 * A message already read (see {@link readMessage}) is not read again.
 */
export function fitMessage(
  message: Buffer | ReadMessage,
  opt: Buffer | undefined,
  limit: number,
): { message: Buffer; truncated: boolean; omitted: boolean } | undefined {
  const read = Buffer.isBuffer(message) ? readMessage(message) : message;
  if (!read) return undefined;
  const { bytes: msg, layout: l } = read;
  const optLength = opt?.length ?? 0;
  const end = l.records.length > 0 ? l.records[l.records.length - 1].end : l.questionEnd;
  const { keep, truncated } = end + optLength <= limit ? { keep: l.records.length, truncated: false } : fitting(msg, l, limit - optLength);
  const kept = l.records.slice(0, keep);
  const cut = kept.length > 0 ? kept[kept.length - 1].end : l.questionEnd;
  const out = Buffer.concat([msg.subarray(0, cut), opt ?? Buffer.alloc(0)]);
  const count = (s: number): number => kept.filter((r) => r.section === s).length;
  out.writeUInt16BE(count(0), 6);
  out.writeUInt16BE(count(1), 8);
  out.writeUInt16BE(count(2) + (opt ? 1 : 0), 10);
  if (truncated) out.writeUInt16BE(out.readUInt16BE(2) | TC, 2);
  return { message: out, truncated, omitted: !truncated && keep < l.records.length };
}
