/**
 * The small languages of the network CLI, parsed without touching the
 * system: sandbox references (`c1`, `1234`, `/proc/1234/ns/net`), published
 * ports (`127.0.0.1:8080:80/udp`), backends (`c1=90`, `c2:8081=10`) and
 * publication references for unpublish (`8080`, `udp:*:5353`).
 * @module
 */
import type { NetnsRef } from '../netns/namespace';
import { UsageError } from './args';

/**
 * A namespace as written on the command line:
 * - `NAME` or `name:NAME` — a named namespace (/run/netns/NAME),
 * - `PID` (digits) or `pid:PID` — the namespace of a process,
 * - `/PATH` or `path:PATH` — an nsfs file (a bind mount, /proc/PID/ns/net).
 */
export function parseNetnsRef(s: string, what = 'namespace'): NetnsRef {
  if (s === '') throw new UsageError(`empty ${what}`);
  const m = /^(name|pid|path):(.*)$/.exec(s);
  if (m) {
    const [, kind, rest] = m;
    if (rest === '') throw new UsageError(`${what} ${JSON.stringify(s)}: nothing after "${kind}:"`);
    if (kind === 'name') return rest;
    if (kind === 'path') return { path: rest };
    return { pid: pidOf(rest, s, what) };
  }
  if (/^\d+$/.test(s)) return { pid: pidOf(s, s, what) };
  if (s.startsWith('/')) return { path: s };
  return s;
}

function pidOf(digits: string, whole: string, what: string): number {
  if (!/^\d+$/.test(digits) || Number(digits) < 1 || Number(digits) > 0x3fffffff) throw new UsageError(`${what} ${JSON.stringify(whole)}: not a process id`);
  return Number(digits);
}

/** What an attachment looks like to {@link findAttachment}. */
export interface AttachmentLike {
  id: string;
  sandboxPath: string;
}

/**
 * The attachment a command-line sandbox reference means: its id as shown by
 * `nlkit ls` (which is how the API names it), or the same namespace written
 * another way (a pid, a path, a name attached under a custom id).
 */
export function findAttachment<T extends AttachmentLike>(arg: string, attachments: readonly T[]): T | undefined {
  const exact = attachments.find((a) => a.id === arg);
  if (exact) return exact;
  let ref: NetnsRef;
  try {
    ref = parseNetnsRef(arg, 'sandbox');
  } catch {
    return undefined;
  }
  if (typeof ref === 'string') return attachments.find((a) => a.sandboxPath === `/run/netns/${ref}`);
  if ('pid' in ref) return attachments.find((a) => a.id === `pid-${ref.pid}` || a.sandboxPath === `/proc/${ref.pid}/ns/net`);
  if ('path' in ref) return attachments.find((a) => a.sandboxPath === ref.path);
  return undefined;
}

const PORT = /^\d{1,5}$/;
const PORT_OR_RANGE = /^\d{1,5}(-\d{1,5})?$/;

function checkPort(p: string, what: string, whole: string): number {
  const n = Number(p);
  if (!PORT.test(p) || n < 1 || n > 65535) throw new UsageError(`${what} in ${JSON.stringify(whole)} must be a port 1-65535`);
  return n;
}

/** A published port as written: `[HOSTIP:]HOSTPORT[-END][:CONTAINERPORT][/tcp|udp]`. */
export interface PortSpec {
  hostIp?: string;
  /** A number, or a range "8000-8010". */
  hostPort: number | string;
  containerPort?: number;
  protocol?: 'tcp' | 'udp';
}

/**
 * Parses `8080`, `8080:80`, `8080:80/udp`, `127.0.0.1:8080:80`,
 * `[::1]:8080:80/tcp`, `8000-8010` (the Docker `-p` notation).
 */
export function parsePortSpec(s: string): PortSpec {
  let rest = s;
  let protocol: 'tcp' | 'udp' | undefined;
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const p = rest.slice(slash + 1);
    if (p !== 'tcp' && p !== 'udp') throw new UsageError(`protocol in ${JSON.stringify(s)} must be tcp or udp`);
    protocol = p;
    rest = rest.slice(0, slash);
  }
  let hostIp: string | undefined;
  let parts: string[];
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0 || rest[close + 1] !== ':') throw new UsageError(`${JSON.stringify(s)}: write an IPv6 host address as [ADDR]:PORT`);
    hostIp = rest.slice(1, close);
    parts = rest.slice(close + 2).split(':');
  } else {
    parts = rest.split(':');
    if (parts.length === 3 || (parts.length === 2 && !PORT_OR_RANGE.test(parts[0]))) hostIp = parts.shift();
  }
  if (hostIp === '') throw new UsageError(`${JSON.stringify(s)}: empty host address`);
  if (parts.length < 1 || parts.length > 2) throw new UsageError(`${JSON.stringify(s)}: expected [HOSTIP:]HOSTPORT[:CONTAINERPORT][/PROTO]`);
  const [host, container] = parts as [string, string | undefined];
  if (!PORT_OR_RANGE.test(host)) throw new UsageError(`host port in ${JSON.stringify(s)} must be a port or a range like 8000-8010`);
  let hostPort: number | string;
  if (host.includes('-')) {
    const [lo, hi] = host.split('-');
    if (checkPort(hi, 'range end', s) <= checkPort(lo, 'range start', s)) throw new UsageError(`range in ${JSON.stringify(s)} must go upwards`);
    hostPort = host;
  } else {
    hostPort = checkPort(host, 'host port', s);
  }
  const spec: PortSpec = { hostPort };
  if (hostIp !== undefined) spec.hostIp = hostIp;
  if (container !== undefined) spec.containerPort = checkPort(container, 'container port', s);
  if (protocol) spec.protocol = protocol;
  return spec;
}

/** Identifies a publication for unpublish: a port spec without a container port, or a key as listed ("udp:*:5353"). */
export function parsePublicationRef(s: string): Omit<PortSpec, 'containerPort'> {
  const key = /^(tcp|udp):(.+):(\d{1,5}(?:-\d{1,5})?)$/.exec(s);
  if (key) {
    const [, protocol, ip, port] = key;
    const ref = parsePortSpec(`${ip === '*' ? '' : ip.includes(':') ? `[${ip}]:` : `${ip}:`}${port}/${protocol}`);
    return ref;
  }
  const spec = parsePortSpec(s);
  if (spec.containerPort !== undefined) throw new UsageError(`${JSON.stringify(s)}: give the host side only ([HOSTIP:]HOSTPORT[/PROTO])`);
  return spec;
}

/** One `--to` value: `SANDBOX[:PORT][=WEIGHT]`. */
export interface BackendArg {
  sandbox: string;
  port?: number;
  weight?: number;
}

/**
 * Parses `c1`, `c1=90`, `c2:8081=10`, `pid:1234=5`. A trailing `:DIGITS` is
 * the container port, except right after a `pid:`/`name:`/`path:` prefix.
 */
export function parseBackend(s: string): BackendArg {
  let rest = s;
  let weight: number | undefined;
  const eq = rest.lastIndexOf('=');
  if (eq >= 0) {
    const w = rest.slice(eq + 1);
    if (!/^\d+$/.test(w) || Number(w) > 10000) throw new UsageError(`weight in --to ${JSON.stringify(s)} must be an integer 0-10000 (0 drains)`);
    weight = Number(w);
    rest = rest.slice(0, eq);
  }
  let port: number | undefined;
  const m = /^(.+):(\d+)$/.exec(rest);
  if (m && !/^(name|pid|path)$/.test(m[1])) {
    port = checkPort(m[2], 'container port', `--to ${s}`);
    rest = m[1];
  }
  if (rest === '') throw new UsageError(`--to ${JSON.stringify(s)}: no sandbox`);
  const out: BackendArg = { sandbox: rest };
  if (port !== undefined) out.port = port;
  if (weight !== undefined) out.weight = weight;
  return out;
}
