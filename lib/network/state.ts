/**
 * What nlkit has built on one host, persisted so several processes (and a
 * restarted daemon) share it: networks, attachments and publications. Stored
 * as one JSON file per host under a flock; default location under /run so it
 * disappears with the kernel state at reboot.
 *
 * Publishing a port must cost the same with 10 or 10,000 ports published, so
 * publication (and attachment) changes are appended to a journal (one JSON line each) instead
 * of rewriting the whole file, and the parsed state is kept in memory between
 * calls: under the lock, two stat() calls tell whether another process wrote
 * since (then the new journal lines, or everything, are read again). Any other
 * change rewrites the file with the journal folded in.
 * @module
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withFileLock, writeFileAtomic } from './file-lock';

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
  /** Interface group of every host veth of this network, for bulk deletes. */
  group: number;
  created: string;
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
  ifname: string;
  hostIfname: string;
  mac: string;
  ipv4?: string;
  ipv6?: string;
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
  constructor(private readonly index: PortIndex) {}
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

/**
 * One journal line, valid for the state file whose `journal` id is `j`: a
 * publication put (`k`, `p`) or removed (`k` alone), or an attachment put
 * (`n`, `a`, `v`) or removed (`n`, `a`).
 */
interface JournalRecord {
  j: string;
  k?: string;
  p?: PublicationRecord;
  n?: string;
  a?: string;
  v?: AttachmentRecord;
}

/** Publications by protocol and host port (ranges kept apart: they are few). */
class PortIndex {
  private readonly single = new Map<string, Set<PublicationRecord>>();
  private readonly ranges = new Set<PublicationRecord>();
  size = 0;

  constructor(readonly publications: Record<string, PublicationRecord>) {
    for (const p of Object.values(publications)) this.add(p);
  }

  /** Sets or removes a publication, keeping the index. */
  apply(key: string, p: PublicationRecord | undefined): void {
    const old = this.publications[key];
    if (old) this.remove(old);
    if (p) {
      this.publications[key] = p;
      this.add(p);
    } else delete this.publications[key];
  }

  overlapping(protocol: string, lo: number, hi: number): PublicationRecord[] {
    const out: PublicationRecord[] = [];
    for (const r of this.ranges) if (r.protocol === protocol && r.hostPort <= hi && lo <= (r.hostPortEnd ?? r.hostPort)) out.push(r);
    for (let port = lo; port <= hi; port++) {
      const set = this.single.get(`${protocol}:${port}`);
      if (set) out.push(...set);
    }
    return out;
  }

  private add(p: PublicationRecord): void {
    this.size++;
    if (p.hostPortEnd !== undefined) {
      this.ranges.add(p);
      return;
    }
    const k = `${p.protocol}:${p.hostPort}`;
    let set = this.single.get(k);
    if (!set) this.single.set(k, (set = new Set()));
    set.add(p);
  }

  private remove(p: PublicationRecord): void {
    this.size--;
    if (p.hostPortEnd !== undefined) {
      this.ranges.delete(p);
      return;
    }
    const k = `${p.protocol}:${p.hostPort}`;
    const set = this.single.get(k);
    set?.delete(p);
    if (set?.size === 0) this.single.delete(k);
  }
}

interface Cache {
  state: HostState;
  /** Built on first use. */
  index?: PortIndex;
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
  private cache?: Cache;

  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = path.join(dir, 'state.json');
    this.lock = path.join(dir, 'state.lock');
    this.journal = path.join(dir, 'publications.journal');
  }

  /** The state as persisted (state file and journal), read afresh; does not lock. */
  read(): HostState {
    return this.load(statOf(this.file)).state;
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
    const st = statOf(this.file);
    const c = this.cache;
    if (c && c.stamp === stampOf(st)) {
      const jt = statOf(this.journal);
      if (!jt && c.journalIno === undefined) return c;
      if (jt && jt.ino === c.journalIno && Number(jt.size) >= c.journalSize) {
        if (Number(jt.size) > c.journalSize) this.readJournal(c, c.journalSize);
        return c;
      }
    }
    this.cache = this.load(st);
    return this.cache;
  }

  private load(st: fs.BigIntStats | undefined): Cache {
    let state = emptyState();
    let journalId = '';
    if (st) {
      try {
        const s = JSON.parse(fs.readFileSync(this.file, 'utf8')) as HostState & { journal?: string };
        state = { version: 1, networks: s.networks ?? {}, attachments: s.attachments ?? {}, publications: s.publications ?? {} };
        journalId = s.journal ?? '';
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        st = undefined;
      }
    }
    const c: Cache = { state, stamp: stampOf(st), journalId, journalIno: undefined, journalSize: 0, journalRecords: 0 };
    this.readJournal(c, 0);
    return c;
  }

  /** Applies the journal's complete lines from `from` on; stale lines (another journal id) are skipped. */
  private readJournal(c: Cache, from: number): void {
    let fd: number;
    try {
      fd = fs.openSync(this.journal, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        c.journalIno = undefined;
        c.journalSize = 0;
        return;
      }
      throw e;
    }
    try {
      const st = fs.fstatSync(fd, { bigint: true });
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
      for (const line of buf.toString('utf8', 0, end).split('\n')) {
        if (!line) continue;
        let r: JournalRecord;
        try {
          r = JSON.parse(line) as JournalRecord;
        } catch {
          continue;
        }
        if (r.j !== c.journalId || !c.journalId) continue;
        c.journalRecords++;
        if (r.n !== undefined && r.a !== undefined) applyAttachment(c.state, r.n, r.a, r.v);
        else if (r.k === undefined) continue;
        else if (c.index) c.index.apply(r.k, r.p);
        else if (r.p) c.state.publications[r.k] = r.p;
        else delete c.state.publications[r.k];
      }
      c.journalIno = st.ino;
      c.journalSize = from + end;
    } finally {
      fs.closeSync(fd);
    }
  }

  private append(c: Cache, edits: StateEdits): void {
    let data = '';
    for (const [k, p] of edits.changes) data += JSON.stringify(p ? { j: c.journalId, k, p } : { j: c.journalId, k }) + '\n';
    for (const e of edits.attachments.values()) data += JSON.stringify(e.att ? { j: c.journalId, n: e.network, a: e.id, v: e.att } : { j: c.journalId, n: e.network, a: e.id }) + '\n';
    const fd = fs.openSync(this.journal, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_APPEND, 0o600);
    try {
      const st = fs.fstatSync(fd, { bigint: true });
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
  private writeAll(s: HostState): void {
    const journalId = randomBytes(8).toString('hex');
    writeFileAtomic(this.file, JSON.stringify({ version: s.version, networks: s.networks, attachments: s.attachments, publications: s.publications, journal: journalId }, null, 1));
    fs.rmSync(this.journal, { force: true });
    this.cache = { state: s, stamp: stampOf(statOf(this.file)), journalId, journalIno: undefined, journalSize: 0, journalRecords: 0 };
  }
}

function applyAttachment(s: HostState, network: string, id: string, att: AttachmentRecord | undefined): void {
  if (att) (s.attachments[network] ??= {})[id] = att;
  else if (s.attachments[network]) delete s.attachments[network][id];
}

/** What identifies one version of the state file: it is always replaced by a rename, never written in place. */
function stampOf(st: fs.BigIntStats | undefined): string {
  return st ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` : 'none';
}
