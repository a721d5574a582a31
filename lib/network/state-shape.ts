/**
 * The shape of what the state directory holds, checked when it is read: the
 * directory is input (state-dir.ts), and a file of the wrong shape read as
 * if it were right (a missing `networks` read as none, a `subnet` that is a
 * number) would have reconcile() forget or delete what it records. Each
 * check (built of validate/shape.ts's, which the services' records use too)
 * returns what is wrong (a path into the value and why), or undefined
 * when the value has the shape; the readers turn that into a
 * CorruptStateError naming the file. Fields later versions added are
 * optional, and checked when present; unknown fields are left alone (a
 * newer version may write more).
 * @module
 */
import { CorruptStateError } from './errors';
import {
  arrayOf,
  between,
  bool,
  exactly,
  finite as num,
  isRecord,
  mapOf,
  nonNegativeInt as int,
  object,
  oneOf,
  problemAt,
  str,
  type ShapeCheck as Check,
  type ShapeProblem,
} from '../validate/shape';

const port = between(0, 65535, 'a port number');
const strings = arrayOf(str);

const hostIdentity = object({ netnsDev: str, netnsIno: str, bootId: str }, { netnsSince: str });

const network = object(
  { name: str, bridge: str, subnet: str, gateway: str, internal: bool, isolate: bool, masquerade: bool, group: int },
  { subnet6: str, gateway6: str, mtu: int, routed: bool, masqueradeExclude: strings, icc: bool, mac: str, created: str },
);

const attachment = object(
  { network: str, id: str, sandboxPath: str, ownsSandbox: bool, ifname: str, hostIfname: str, mac: str },
  { sandboxName: str, sandboxNs: object({ dev: num, ino: num }), ipv4: str, ipv6: str, defaultRoute: bool, names: strings },
);

const backend = object({ port, weight: num }, { id: str, ipv4: str, ipv6: str });

const publication = object(
  { key: str, network: str, protocol: oneOf('tcp', 'udp'), hostPort: port, backends: arrayOf(backend) },
  { hostPortEnd: port, hostIp: str },
);

/** A network's attachments, each filed under its id and naming the network it is filed under. */
const attachmentsOf = mapOf(attachment, (a) => a.id, 'id');

const stateFile = object(
  {
    // Every version wrote all four: a state without its networks is not an empty one.
    version: exactly(1),
    networks: mapOf(network, (n) => n.name),
    attachments: mapOf(attachmentsOf),
    publications: mapOf(publication, (x) => x.key, 'key'),
  },
  { host: hostIdentity, journal: str },
);

/** The state file's content (`state.json`), as this and earlier versions wrote it. */
export const checkStateFile: (v: unknown) => ShapeProblem = (v) => {
  const p = problemAt('state', stateFile, v);
  if (p || !isRecord(v) || !isRecord(v.attachments)) return p;
  for (const [net, atts] of Object.entries(v.attachments as Record<string, Record<string, Record<string, unknown>>>)) {
    for (const [id, a] of Object.entries(atts)) {
      if (a.network !== net)
        return `state.attachments[${JSON.stringify(net)}][${JSON.stringify(id)}] is filed under another network than its own (${JSON.stringify(a.network)})`;
    }
  }
  return undefined;
};

/** One line of `state.journal` in the current form. */
const publicationLine = object({ journal: str, key: str }, { publication });
const attachmentLine = object({ journal: str, network: str, id: str }, { attachment });
const journalLine: Check = (v) => {
  if (!isRecord(v)) return ' is not an object';
  if (v.kind === 'publication') {
    const p = publicationLine(v);
    if (p || v.publication === undefined) return p;
    return (v.publication as Record<string, unknown>).key === v.key ? undefined : `.publication is not the publication of key ${JSON.stringify(v.key)}`;
  }
  if (v.kind === 'attachment') {
    const p = attachmentLine(v);
    if (p || v.attachment === undefined) return p;
    const a = v.attachment as Record<string, unknown>;
    return a.network === v.network && a.id === v.id ? undefined : `.attachment is not the attachment ${JSON.stringify(v.network)}/${JSON.stringify(v.id)}`;
  }
  return '.kind is not "publication" or "attachment"';
};

/** One line as nlkit 0.1 wrote it (`publications.journal`): `j`; a publication `k` (and `p`), or an attachment `n`, `a` (and `v`). */
const legacyJournalLine = object({ j: str }, { k: str, p: publication, n: str, a: str, v: attachment });

/** One line of the state's journal (`state.journal`, or an earlier version's `publications.journal`). */
export function checkJournalLine(v: unknown, legacy: boolean): ShapeProblem {
  if (!legacy) return problemAt('line', journalLine, v);
  const p = problemAt('line', legacyJournalLine, v);
  if (p) return p;
  const l = v as Record<string, unknown>;
  if (l.n !== undefined && l.a !== undefined) return undefined;
  if (l.k !== undefined) return undefined;
  return 'line names neither a publication (k) nor an attachment (n, a)';
}

const intentRecord = object(
  {
    op: oneOf('attach', 'detach', 'publish', 'unpublish', 'create', 'delete'),
    network: str,
    pid: int,
    pidStart: str,
    started: str,
  },
  {
    ids: strings,
    hostIfnames: strings,
    macs: strings,
    namespaces: arrayOf(object({ name: str }, { dev: num, ino: num })),
    publication: str,
    bridge: str,
    group: int,
  },
);

const intentBegin = object({ id: str, record: intentRecord });
const intentEnd = object({ id: str });

/** One line of an intent journal (`intents/<pid>-<start>.log`): an operation's begin (with its record) or end. */
export function checkIntentLine(v: unknown): ShapeProblem {
  if (!isRecord(v)) return 'line is not an object';
  if (v.t === 'begin') return problemAt('line', intentBegin, v);
  if (v.t === 'end') return problemAt('line', intentEnd, v);
  // The marker a recovery writes after the remnant of a writer killed mid-line (see intents.ts).
  if (v.t === 'cut') return undefined;
  return 'line.t is not "begin" or "end"';
}

/**
 * The state file's content, checked: anything that is not a state of this or an earlier version
 * is a CorruptStateError, never read as an empty state (reconcile() would delete what it records as leftovers).
 */
export function parseStateFile(file: string, text: string): unknown {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CorruptStateError(file, `is not JSON (${(e as Error).message})`);
  }
  const problem = checkStateFile(v);
  if (problem) throw new CorruptStateError(file, problem);
  return v;
}

/** One complete line of the state's journal, parsed and checked: a CorruptStateError naming the file and `where` otherwise. */
export function parseJournalLine(file: string, where: string, text: string, legacy: boolean): unknown {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CorruptStateError(file, `${where} is not JSON (${(e as Error).message})`);
  }
  const problem = checkJournalLine(raw, legacy);
  if (problem) throw new CorruptStateError(file, `${where}: ${problem}`);
  return raw;
}

const owners = mapOf(str);
const leaseFile = object({ allocations: owners }, { version: exactly(1), last: owners });

/** A network's lease file (`ipam/<network>.json`): who holds which address, and where round-robin continues. */
export function parseLeaseFile(file: string, text: string): { allocations: Record<string, string>; last?: Record<string, string> } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CorruptStateError(file, `is not JSON (${(e as Error).message})`);
  }
  // Read as no leases, a lease file of the wrong shape would hand the addresses it records to other sandboxes.
  const problem = problemAt('leases', leaseFile, v);
  if (problem) throw new CorruptStateError(file, problem);
  return v as { allocations: Record<string, string>; last?: Record<string, string> };
}
