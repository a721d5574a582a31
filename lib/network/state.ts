/**
 * What nlkit has built on one host, persisted so several processes (and a
 * restarted daemon) share it: networks, attachments and publications. Stored
 * as one JSON file per host under a flock, in a directory only the caller can
 * change (state-dir.ts), with the identity of the host namespace and boot it
 * describes: a state of another one is set aside (host-identity.ts).
 *
 * Publishing a port must cost the same with 10 or 10,000 ports published, so
 * publication and attachment changes are appended to a journal
 * (`state.journal`, one JSON line each) instead of rewriting the whole file, and the parsed state is kept in memory between
 * calls: under the lock, two stat() calls tell whether another process wrote
 * since (then the new journal lines, or everything, are read again). Any other
 * change rewrites the file with the journal folded in.
 *
 * State directories written by earlier versions keep working: their journal
 * (`publications.journal`, lines with one-letter fields) is read and folded
 * into the state file at the first locked access.
 * @module
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openStateFileStat, readStateFile, withFileLock, writeFileAtomic } from './file-lock';
import { identityMismatch, setAsideStaleState, type HostIdentity } from './host-identity';
import { ownerTag } from './names';
import { parseJournalLine, parseStateFile } from './state-shape';
import { ensureTrustedDir } from './state-dir';
import { isObject } from '../validate/options';
import { PortIndex } from './port-index';

export interface NetworkRecord {
  name: string;
  bridge: string;
  subnet: string;
  gateway: string;
  subnet6?: string;
  gateway6?: string;
  mtu?: number;
  internal: boolean;
  isolate: boolean;
  masquerade: boolean;
  /** Reachable from other interfaces without a published port (no inbound protection): routed setups. */
  routed?: boolean;
  /** Destinations never masqueraded (cluster CIDRs), IPv4 and IPv6. */
  masqueradeExclude?: string[];
  /** Containers on the network may talk to each other directly (default true). */
  icc?: boolean;
  /** Interface group of every host veth of this network, for bulk deletes. */
  group: number;
  /** The bridge's own MAC, fixed at creation (else it follows its lowest port's); absent in records of earlier versions. */
  mac?: string;
  created: string;
}

/** A namespace as the kernel identifies it: the device and inode of its nsfs file. */
export interface NamespaceIdentity {
  dev: number;
  ino: number;
}

export interface AttachmentRecord {
  network: string;
  id: string;
  /** nsfs path of the sandbox (/run/netns/NAME or /proc/PID/ns/net). */
  sandboxPath: string;
  /** The namespace name, when the sandbox is a named namespace. */
  sandboxName?: string;
  /** nlkit created the namespace on attach and deletes it on detach. */
  ownsSandbox: boolean;
  /** The namespace attached (its nsfs device and inode): what sits at `sandboxPath` later is verified against it. */
  sandboxNs?: NamespaceIdentity;
  ifname: string;
  hostIfname: string;
  mac: string;
  ipv4?: string;
  ipv6?: string;
  /** Carries the sandbox's default route(s); absent in records of older versions (they all did). */
  defaultRoute?: boolean;
  /** DNS names given on attach; absent: the id (if it is a valid host name). */
  names?: string[];
}

export interface BackendRecord {
  /** Attachment id, or undefined for a raw address. */
  id?: string;
  ipv4?: string;
  ipv6?: string;
  port: number;
  weight: number;
}

export interface PublicationRecord {
  /** "tcp:8080" or "udp:127.0.0.1:5353"; unique per host. */
  key: string;
  network: string;
  protocol: 'tcp' | 'udp';
  hostPort: number;
  /** Last port of a range publication (hostPort..hostPortEnd). */
  hostPortEnd?: number;
  hostIp?: string;
  backends: BackendRecord[];
}

export interface HostState {
  version: 1;
  /** The host namespace and boot the state describes (absent in states of earlier versions). */
  host?: HostIdentity;
  networks: Record<string, NetworkRecord>;
  attachments: Record<string, Record<string, AttachmentRecord>>;
  publications: Record<string, PublicationRecord>;
}

/** Changes made inside {@link StateStore.edit}, and a port index to check new publications against. */
export class StateEdits {
  /** @internal publications by key (undefined: removed) */
  readonly changes = new Map<string, PublicationRecord | undefined>();
  /** @internal attachments by "network\0id" */
  readonly attachments = new Map<string, { network: string; id: string; att?: AttachmentRecord }>();
  /** @internal */
  constructor(private readonly index: PortIndex<PublicationRecord>) {}
  /** Adds or replaces an attachment. */
  putAttachment(att: AttachmentRecord): void {
    this.attachments.set(`${att.network}\0${att.id}`, { network: att.network, id: att.id, att });
  }
  /** Removes an attachment. */
  removeAttachment(network: string, id: string): void {
    this.attachments.set(`${network}\0${id}`, { network, id });
  }
  /** @internal */
  get size(): number {
    return this.changes.size + this.attachments.size;
  }
  /** The publications of `protocol` whose host ports overlap lo..hi (any host address), without scanning them all. */
  overlapping(protocol: string, lo: number, hi = lo): PublicationRecord[] {
    return this.index.overlapping(protocol, lo, hi);
  }
  /** Adds or replaces a publication. */
  put(p: PublicationRecord): void {
    this.changes.set(p.key, p);
  }
  /** Removes a publication. */
  remove(key: string): void {
    this.changes.set(key, undefined);
  }
}

/** A publication put (with `publication`) or removed (without). */
interface PublicationLine {
  /** The journal id of the state file this line belongs to; lines of another id are stale. */
  journal: string;
  kind: 'publication';
  /** The publication's key. */
  key: string;
  publication?: PublicationRecord;
}

/** An attachment put (with `attachment`) or removed (without). */
interface AttachmentLine {
  /** The journal id of the state file this line belongs to; lines of another id are stale. */
  journal: string;
  kind: 'attachment';
  network: string;
  /** The attachment id. */
  id: string;
  attachment?: AttachmentRecord;
}

/** One journal line. */
type JournalLine = PublicationLine | AttachmentLine;

/**
 * A line as nlkit 0.1 wrote it (in `publications.journal`): `j`
 * the journal id; a publication put (`k`, `p`) or removed (`k` alone), or an
 * attachment put (`n`, `a`, `v`) or removed (`n`, `a`).
 */
interface LegacyJournalLine {
  j: string;
  k?: string;
  p?: PublicationRecord;
  n?: string;
  a?: string;
  v?: AttachmentRecord;
}

/** A parsed line in the current form (legacy lines converted); undefined for anything else. */
function journalLine(raw: unknown): JournalLine | undefined {
  if (!isObject(raw)) return undefined;
  const r = raw as Partial<JournalLine> & Partial<LegacyJournalLine>;
  if (r.kind === 'publication' && typeof r.journal === 'string' && typeof r.key === 'string') return r as PublicationLine;
  if (r.kind === 'attachment' && typeof r.journal === 'string' && typeof r.network === 'string' && typeof r.id === 'string') return r as AttachmentLine;
  if (typeof r.j !== 'string') return undefined;
  if (r.n !== undefined && r.a !== undefined) return { journal: r.j, kind: 'attachment', network: r.n, id: r.a, attachment: r.v };
  if (r.k !== undefined) return { journal: r.j, kind: 'publication', key: r.k, publication: r.p };
  return undefined;
}

/** The journal file name; {@link LEGACY_JOURNAL} is read too. */
export const JOURNAL = 'state.journal';
/** Where versions before this one kept the journal (it holds attachments too, despite the name). */
export const LEGACY_JOURNAL = 'publications.journal';

interface Cache {
  state: HostState;
  /** Built on first use. */
  index?: PortIndex<PublicationRecord>;
  /** Identity of the state file the state was read from. */
  stamp: string;
  /** Journal id written in that state file; journal lines with another id are stale. */
  journalId: string;
  /** Inode of the journal and how far it was read (up to the last complete line). */
  journalIno: bigint | undefined;
  journalSize: number;
  /** Lines in the journal, to know when to fold it into the state file. */
  journalRecords: number;
}

/** Journal lines tolerated before the next change rewrites the state file (at least this many, or one per publication). */
const MIN_JOURNAL_RECORDS = 1024;

const emptyState = (): HostState => ({ version: 1, networks: {}, attachments: {}, publications: {} });

function statOf(file: string): fs.BigIntStats | undefined {
  return fs.statSync(file, { bigint: true, throwIfNoEntry: false });
}

export class StateStore {
  readonly file: string;
  private readonly lock: string;
  private readonly journal: string;
  private readonly legacyJournal: string;
  private cache?: Cache;

  /** The directory's real path (checked trustworthy when the store opened). */
  private readonly realDir: string;
  private tagOnce?: string;

  /** @param identity the host namespace and boot worked on: a state of another one is set aside (`*.stale-<time>`); none: any is taken. */
  constructor(
    readonly dir: string,
    readonly identity?: HostIdentity,
  ) {
    this.realDir = ensureTrustedDir(dir);
    this.file = path.join(dir, 'state.json');
    this.lock = path.join(dir, 'state.lock');
    this.journal = path.join(dir, JOURNAL);
    this.legacyJournal = path.join(dir, LEGACY_JOURNAL);
  }

  /**
   * Marks the interfaces made with this state directory (see `ownerTag`). Hashed on first use: a listing
   * never needs it, and the hash loads node:crypto (~5 ms of a new process; the build requires it lazily).
   */
  get tag(): string {
    return (this.tagOnce ??= ownerTag(this.realDir));
  }

  /** The state as persisted (state file and journal), read afresh; does not lock. */
  read(): HostState {
    return this.load(statOf(this.file), false).state;
  }

  /**
   * Reads under the lock. The result is shared with later calls (kept in
   * memory while nobody else writes): callers must not modify it.
   */
  async snapshot(): Promise<HostState> {
    return withFileLock(this.lock, () => this.current().state);
  }

  /** Read-modify-write under the lock; the state is written (whole, journal folded in) only if fn returns normally. */
  async update<T>(fn: (s: HostState) => Promise<T> | T): Promise<T> {
    return withFileLock(this.lock, async () => {
      const c = this.current();
      try {
        const out = await fn(c.state);
        this.writeAll(c.state);
        return out;
      } catch (e) {
        this.cache = undefined; // fn may have changed it before failing
        throw e;
      }
    });
  }

  /**
   * Changes publications and attachments, under the lock: fn reads the state
   * (without modifying it) and records its changes in `edits`; they are
   * applied and appended to the journal only if fn returns normally.
   * Constant time whatever the number of publications and attachments.
   */
  async edit<T>(fn: (s: HostState, edits: StateEdits) => Promise<T> | T): Promise<T> {
    return withFileLock(this.lock, async () => {
      const c = this.current();
      const index = (c.index ??= new PortIndex(c.state.publications));
      const edits = new StateEdits(index);
      const out = await fn(c.state, edits);
      if (edits.size === 0) return out;
      try {
        for (const [k, p] of edits.changes) index.apply(k, p);
        for (const e of edits.attachments.values()) applyAttachment(c.state, e.network, e.id, e.att);
        // Fold the journal in once it outgrows the state (amortised: one rewrite per that many changes).
        const limit = Math.max(MIN_JOURNAL_RECORDS, index.size);
        if (!c.journalId || c.journalRecords + edits.size > limit) {
          this.writeAll(c.state);
        } else {
          this.append(c, edits);
        }
      } catch (e) {
        this.cache = undefined;
        throw e;
      }
      return out;
    });
  }

  /** The current state (under the lock): the cache if nobody wrote since, plus any new journal lines. */
  private current(): Cache {
    if (statOf(this.legacyJournal)) {
      // A state directory of an earlier version: fold its journal into the state file, once.
      const old = this.load(statOf(this.file), true);
      return this.writeAll(old.state);
    }
    const st = statOf(this.file);
    const c = this.cache;
    if (c?.stamp === stampOf(st)) {
      const jt = statOf(this.journal);
      if (!jt && c.journalIno === undefined) return c;
      if (jt && jt.ino === c.journalIno && Number(jt.size) >= c.journalSize) {
        if (Number(jt.size) > c.journalSize) {
          try {
            this.readJournal(c, c.journalSize);
          } catch (e) {
            this.cache = undefined; // lines before the bad one were applied
            throw e;
          }
        }
        return c;
      }
    }
    this.cache = this.load(st, true);
    return this.cache;
  }

  /** Reads the state file and journal; a state of another host namespace or boot reads as empty (and is set aside when `locked`). */
  private load(st: fs.BigIntStats | undefined, locked: boolean): Cache {
    let state = emptyState();
    let journalId = '';
    if (st) {
      try {
        const s = parseStateFile(this.file, readStateFile(this.file)) as Partial<HostState> & { journal?: string }; // checked; written by older versions too
        const stale = s.host && this.identity && identityMismatch(s.host, this.identity);
        if (stale) {
          if (!locked) return { state, stamp: 'stale', journalId, journalIno: undefined, journalSize: 0, journalRecords: 0 };
          setAsideStaleState(this.dir, stale);
          return this.load(statOf(this.file), locked);
        }
        state = { version: 1, host: s.host, networks: s.networks ?? {}, attachments: s.attachments ?? {}, publications: s.publications ?? {} };
        journalId = s.journal ?? '';
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        st = undefined;
      }
    }
    const c: Cache = { state, stamp: stampOf(st), journalId, journalIno: undefined, journalSize: 0, journalRecords: 0 };
    this.readLegacyJournal(c);
    this.readJournal(c, 0);
    return c;
  }

  /** Applies the journal's complete lines from `from` on; stale lines (another journal id) are skipped. */
  private readJournal(c: Cache, from: number): void {
    let fd: number, st: fs.BigIntStats;
    try {
      ({ fd, st } = openStateFileStat(this.journal, 'read'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        c.journalIno = undefined;
        c.journalSize = 0;
        return;
      }
      throw e;
    }
    try {
      const size = Number(st.size);
      const buf = Buffer.allocUnsafe(size - from);
      let got = 0;
      while (got < buf.length) {
        const n = fs.readSync(fd, buf, got, buf.length - got, from + got);
        if (n === 0) break;
        got += n;
      }
      // A line without its newline is the remnant of a writer that died: ignored (and cut before the next append).
      const end = buf.lastIndexOf(10, got - 1) + 1;
      applyLines(c, buf.toString('utf8', 0, end), this.journal, from === 0 ? 1 : 0); // from the middle: lines counted from there
      c.journalIno = st.ino;
      c.journalSize = from + end;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Applies the journal an earlier version left (read whole; only complete lines count). */
  private readLegacyJournal(c: Cache): void {
    let text: string;
    try {
      text = readStateFile(this.legacyJournal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    applyLines(c, text.slice(0, text.lastIndexOf('\n') + 1), this.legacyJournal, 1);
  }

  private append(c: Cache, edits: StateEdits): void {
    let data = '';
    const line = (l: JournalLine) => (data += JSON.stringify(l) + '\n');
    for (const [key, publication] of edits.changes) line({ journal: c.journalId, kind: 'publication', key, publication });
    for (const e of edits.attachments.values()) line({ journal: c.journalId, kind: 'attachment', network: e.network, id: e.id, attachment: e.att });
    const { fd, st } = openStateFileStat(this.journal, 'append');
    try {
      // Only a writer that died mid-line leaves more than what was read (everything is written under the lock).
      if (c.journalIno !== undefined && (st.ino !== c.journalIno || Number(st.size) !== c.journalSize)) {
        if (st.ino !== c.journalIno) throw new Error(`${this.journal} changed while locked`);
        fs.ftruncateSync(fd, c.journalSize);
      } else if (c.journalIno === undefined && st.size !== 0n) {
        fs.ftruncateSync(fd, 0);
      }
      fs.writeSync(fd, data);
      c.journalIno = st.ino;
      c.journalSize += Buffer.byteLength(data);
      c.journalRecords += edits.size;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Rewrites the state file with everything (a new journal id makes the old journal's lines stale), then drops the journal. */
  private writeAll(s: HostState): Cache {
    const journalId = randomBytes(8).toString('hex');
    s.host = this.identity ?? s.host;
    const { version, host, networks, attachments, publications } = s;
    writeFileAtomic(this.file, JSON.stringify({ version, host, networks, attachments, publications, journal: journalId }, null, 1));
    fs.rmSync(this.journal, { force: true });
    fs.rmSync(this.legacyJournal, { force: true });
    this.cache = { state: s, stamp: stampOf(statOf(this.file)), journalId, journalIno: undefined, journalSize: 0, journalRecords: 0 };
    return this.cache;
  }
}

/**
 * Applies journal lines (complete ones, newline-separated) that belong to the cached state file. Every line is
 * checked, of this state file or a stale one: a complete line that is not JSON, or not a journal line, is a
 * CorruptStateError (skipping it would drop a change, and reconcile() would undo what it recorded).
 */
function applyLines(c: Cache, text: string, file: string, firstLine: number): void {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const text_ = lines[i];
    if (!text_) continue;
    const where = firstLine > 0 ? `line ${firstLine + i}` : `line ${i + 1} of those appended since it was last read`;
    const l = journalLine(parseJournalLine(file, where, text_, file.endsWith(LEGACY_JOURNAL)));
    if (l?.journal !== c.journalId || !c.journalId) continue;
    c.journalRecords++;
    if (l.kind === 'attachment') applyAttachment(c.state, l.network, l.id, l.attachment);
    else if (c.index) c.index.apply(l.key, l.publication);
    else if (l.publication) c.state.publications[l.key] = l.publication;
    else delete c.state.publications[l.key];
  }
}

function applyAttachment(s: HostState, network: string, id: string, att: AttachmentRecord | undefined): void {
  if (att) (s.attachments[network] ??= {})[id] = att;
  else if (network in s.attachments) delete s.attachments[network][id];
}

/**
 * What identifies one version of the state file, for the parsed and checked state kept in memory: nlkit
 * replaces it by a rename (a new inode), never writes it in place. A writer in place that keeps its size and
 * puts its mtime back still moves its ctime, which nobody can set (test/unit/state-read-once.test.ts). Not
 * covered: on a file system that reuses a freed inode at once (ext4, xfs) with times a clock tick coarse
 * (no multigrain timestamps), two rewrites by others within one tick that give the file back its inode and size.
 */
function stampOf(st: fs.BigIntStats | undefined): string {
  return st ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` : 'none';
}
