/**
 * The shape of what the state directory holds, checked when it is read: the
 * directory is input (state-dir.ts), and a file of the wrong shape read as
 * if it were right (a missing `networks` read as none, a `subnet` that is a
 * number) would have reconcile() forget or delete what it records. Each
 * check returns what is wrong (a path into the value and why), or undefined
 * when the value has the shape; the readers turn that into a
 * CorruptStateError naming the file. Fields later versions added are
 * optional, and checked when present; unknown fields are left alone (a
 * newer version may write more).
 * @module
 */
import { CorruptStateError } from './errors';

/** What is wrong with a value, as "<where> <why>", or undefined. */
export type ShapeProblem = string | undefined;

type Check = (v: unknown, at: string) => ShapeProblem;

/** A plain object (not an array, not null). */
function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const str: Check = (v, at) => (typeof v === 'string' ? undefined : `${at} is not a string`);
const bool: Check = (v, at) => (typeof v === 'boolean' ? undefined : `${at} is not a boolean`);
const int: Check = (v, at) => (Number.isSafeInteger(v) && (v as number) >= 0 ? undefined : `${at} is not a non-negative integer`);
const num: Check = (v, at) => (typeof v === 'number' && Number.isFinite(v) ? undefined : `${at} is not a finite number`);
const port: Check = (v, at) => (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535 ? undefined : `${at} is not a port number`);
const strings: Check = (v, at) => (Array.isArray(v) ? v.reduce<ShapeProblem>((p, x, i) => p ?? str(x, `${at}[${i}]`), undefined) : `${at} is not an array`);
const oneOf =
  (...values: string[]): Check =>
  (v, at) =>
    values.includes(v as string) ? undefined : `${at} is not one of ${values.map((x) => JSON.stringify(x)).join(', ')}`;

/** An object whose `required` fields pass their checks, and whose `optional` ones do when present. */
function object(required: Record<string, Check>, optional: Record<string, Check> = {}): Check {
  return (v, at) => {
    if (!isRecord(v)) return `${at} is not an object`;
    for (const [k, check] of Object.entries(required)) {
      if (!(k in v)) return `${at}.${k} is missing`;
      const p = check(v[k], `${at}.${k}`);
      if (p) return p;
    }
    for (const [k, check] of Object.entries(optional)) {
      // A field written as undefined is dropped by JSON; null is not a value any of them takes.
      if (k in v) {
        const p = check(v[k], `${at}.${k}`);
        if (p) return p;
      }
    }
    return undefined;
  };
}

/** An array of values passing `check`. */
const arrayOf =
  (check: Check): Check =>
  (v, at) =>
    Array.isArray(v) ? v.reduce<ShapeProblem>((p, x, i) => p ?? check(x, `${at}[${i}]`), undefined) : `${at} is not an array`;

/** An object of values passing `check`, each filed under the name `keyOf` gives it (when given). */
function mapOf(check: Check, keyOf?: (v: Record<string, unknown>) => unknown, keyName = 'name'): Check {
  return (v, at) => {
    if (!isRecord(v)) return `${at} is not an object`;
    for (const [k, x] of Object.entries(v)) {
      const where = `${at}[${JSON.stringify(k)}]`;
      const p = check(x, where);
      if (p) return p;
      if (keyOf && keyOf(x as Record<string, unknown>) !== k)
        return `${where} is filed under another ${keyName} than its own (${JSON.stringify(keyOf(x as Record<string, unknown>))})`;
    }
    return undefined;
  };
}

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
const attachmentsOf: Check = (v, at) => mapOf(attachment, (a) => a.id, 'id')(v, at);

/** The state file's content (`state.json`), as this and earlier versions wrote it. */
export const checkStateFile: (v: unknown) => ShapeProblem = (v) => {
  // Every version wrote all four: a state without its networks is not an empty one.
  const p = object(
    {
      version: (x, at) => (x === 1 ? undefined : `${at} is ${JSON.stringify(x)}, not 1`),
      networks: mapOf(network, (n) => n.name),
      attachments: mapOf(attachmentsOf),
      publications: mapOf(publication, (x) => x.key, 'key'),
    },
    { host: hostIdentity, journal: str },
  )(v, 'state');
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
const journalLine: Check = (v, at) => {
  if (!isRecord(v)) return `${at} is not an object`;
  if (v.kind === 'publication') {
    const p = object({ journal: str, key: str }, { publication })(v, at);
    if (p || v.publication === undefined) return p;
    return (v.publication as Record<string, unknown>).key === v.key ? undefined : `${at}.publication is not the publication of key ${JSON.stringify(v.key)}`;
  }
  if (v.kind === 'attachment') {
    const p = object({ journal: str, network: str, id: str }, { attachment })(v, at);
    if (p || v.attachment === undefined) return p;
    const a = v.attachment as Record<string, unknown>;
    return a.network === v.network && a.id === v.id ? undefined : `${at}.attachment is not the attachment ${JSON.stringify(v.network)}/${JSON.stringify(v.id)}`;
  }
  return `${at}.kind is not "publication" or "attachment"`;
};

/** One line as nlkit 0.1 wrote it (`publications.journal`): `j`; a publication `k` (and `p`), or an attachment `n`, `a` (and `v`). */
const legacyJournalLine = object({ j: str }, { k: str, p: publication, n: str, a: str, v: attachment });

/** One line of the state's journal (`state.journal`, or an earlier version's `publications.journal`). */
export function checkJournalLine(v: unknown, legacy: boolean): ShapeProblem {
  if (!legacy) return journalLine(v, 'line');
  const p = legacyJournalLine(v, 'line');
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

/** One line of an intent journal (`intents/<pid>-<start>.log`): an operation's begin (with its record) or end. */
export function checkIntentLine(v: unknown): ShapeProblem {
  if (!isRecord(v)) return 'line is not an object';
  if (v.t === 'begin') return object({ id: str, record: intentRecord })(v, 'line');
  if (v.t === 'end') return object({ id: str })(v, 'line');
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

/** A network's lease file (`ipam/<network>.json`): who holds which address, and where round-robin continues. */
export function parseLeaseFile(file: string, text: string): { allocations: Record<string, string>; last?: Record<string, string> } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CorruptStateError(file, `is not JSON (${(e as Error).message})`);
  }
  const owners: Check = (x, at) =>
    isRecord(x) ? Object.entries(x).reduce<ShapeProblem>((p, [k, o]) => p ?? str(o, `${at}[${JSON.stringify(k)}]`), undefined) : `${at} is not an object`;
  // Read as no leases, a lease file of the wrong shape would hand the addresses it records to other sandboxes.
  const problem = object({ allocations: owners }, { version: (x, at) => (x === 1 ? undefined : `${at} is ${JSON.stringify(x)}, not 1`), last: owners })(
    v,
    'leases',
  );
  if (problem) throw new CorruptStateError(file, problem);
  return v as { allocations: Record<string, string>; last?: Record<string, string> };
}
