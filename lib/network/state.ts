/**
 * What nlkit has built on one host, persisted so several processes (and a
 * restarted daemon) share it: networks, attachments and publications. Stored
 * as one JSON file per host under a flock; default location under /run so it
 * disappears with the kernel state at reboot.
 * @module
 */
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

export class StateStore {
  readonly file: string;
  private readonly lock: string;

  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = path.join(dir, 'state.json');
    this.lock = path.join(dir, 'state.lock');
  }

  read(): HostState {
    try {
      const s = JSON.parse(fs.readFileSync(this.file, 'utf8')) as HostState;
      return { version: 1, networks: s.networks ?? {}, attachments: s.attachments ?? {}, publications: s.publications ?? {} };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, networks: {}, attachments: {}, publications: {} };
      throw e;
    }
  }

  /** Reads under the lock. */
  async snapshot(): Promise<HostState> {
    return withFileLock(this.lock, () => this.read());
  }

  /** Read-modify-write under the lock; the state is written only if fn returns normally. */
  async update<T>(fn: (s: HostState) => Promise<T> | T): Promise<T> {
    return withFileLock(this.lock, async () => {
      const s = this.read();
      const out = await fn(s);
      writeFileAtomic(this.file, JSON.stringify(s, null, 1));
      return out;
    });
  }
}
