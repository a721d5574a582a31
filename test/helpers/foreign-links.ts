// The setting of the tests that put foreign links beside nlkit's (network-group-foreign, network-foreign-left):
// a network manager over a test namespace of its own with a private state directory, the sandboxes the test
// makes (deleted afterwards), `ip` in the host namespace, the process warnings nlkit emits about links it
// leaves, and attach intents of a dead process written by hand. Every network named in `networkNames` is
// deleted afterwards, then the manager, the sandboxes and the state directory go.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { deleteNetns } from '../../lib';
import { FOREIGN_LINK_WARNING } from '../../lib/network/host-veth';
import { intentDir } from '../../lib/network/intents';
import { networks, type NetworkManager } from '../../lib/network/manager';
import { hostVethName } from '../../lib/network/names';
import { uniqueNetnsName, useNetns } from './netns';

export interface ForeignLinkHost {
  /** The manager (set in beforeAll). */
  readonly nets: NetworkManager;
  /** Its state directory (set in beforeAll). */
  readonly stateDir: string;
  /** The host namespace's name. */
  host(): string;
  /** A new sandbox namespace name, deleted after the file's tests. */
  sandbox(label: string): string;
  /** A namespace made otherwise (by a child process), deleted after the file's tests too. */
  deleteAfterwards(name: string): void;
  /** `ip ARGS` in the host namespace. */
  ipHost(...args: string[]): Buffer;
  /** The messages of the NLKIT_FOREIGN_LINK_LEFT warnings emitted since the test began (or the last clearWarnings()). */
  foreignWarnings(): string[];
  clearWarnings(): void;
  /** Journals the begin of an attach of `id` by a process that no longer runs (pid `pid`), as an attach that died. */
  deadAttachIntent(network: string, id: string, opts: { pid: number; mac: string; group?: number }): void;
}

export function useForeignLinkHost(label: string, networkNames: readonly string[]): ForeignLinkHost {
  const box = useNetns(label);
  const made: string[] = [];
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  let nets: NetworkManager | undefined;
  let stateDir = '';
  const host = () => box.ns(label);

  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-net-'));
    nets = await networks({ host: host(), stateDir });
    process.on('warning', onWarning);
  });
  afterEach(() => {
    warnings.length = 0;
  });
  afterAll(async () => {
    process.off('warning', onWarning);
    for (const n of networkNames) await nets?.delete(n, { missingOk: true }).catch(() => undefined);
    nets?.close();
    for (const s of made) await deleteNetns(s, { missingOk: true });
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  return {
    get nets() {
      if (!nets) throw new Error('the network manager is opened in beforeAll');
      return nets;
    },
    get stateDir() {
      return stateDir;
    },
    host,
    sandbox(l) {
      const n = uniqueNetnsName(l);
      made.push(n);
      return n;
    },
    deleteAfterwards: (name) => void made.push(name),
    ipHost: (...args) => execFileSync('ip', ['-n', host(), ...args]),
    clearWarnings: () => void (warnings.length = 0),
    foreignWarnings: () => warnings.filter((w) => (w as Error & { code?: string }).code === FOREIGN_LINK_WARNING).map((w) => w.message),
    deadAttachIntent(network, id, { pid, mac, group }) {
      const record = { op: 'attach', network, ids: [id], hostIfnames: [hostVethName(network, id)], macs: [mac], namespaces: [], group };
      const line = JSON.stringify({ t: 'begin', id: '1', record: { ...record, pid, pidStart: '1', started: new Date().toISOString() } });
      fs.mkdirSync(intentDir(stateDir), { recursive: true, mode: 0o700 });
      fs.writeFileSync(path.join(intentDir(stateDir), `${pid}-1.log`), line + '\n', { mode: 0o600 });
    },
  };
}
