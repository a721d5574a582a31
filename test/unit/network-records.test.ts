// The records a listing reads without a socket (lib/network/records.ts): it
// must refuse what a NetworkManager refuses, and never set a host's state aside
// for a namespace the manager could not have entered. No namespace is made:
// the host is this process's own network namespace, read only.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../lib/cli/main';
import { ValidationError } from '../../lib/netlink/errors';
import { hostIdentity } from '../../lib/network/host-identity';
import { networkRecords } from '../../lib/network/records';
import { StateStore } from '../../lib/network/state';

const root = path.resolve(__dirname, '..', '..');

/**
 * In a new mount and network namespace (unshare -m -n: nothing of this host
 * changes), bind-mounts that process's namespace of `kind` on a file, as
 * /run/netns/NAME is mounted, and lists the records of `stateDir` with that
 * file as the host (the build in dist/). Prints the names or the error.
 */
function listWithMountedHost(kind: string, stateDir: string): string {
  const program = `Promise.resolve().then(() => require('./dist/network/records.js').networkRecords({ host: { path: process.argv[1] }, stateDir: process.argv[2] }).list())
    .then((ns) => console.log(JSON.stringify(ns.map((n) => n.name))), (e) => console.log(e.name + ': ' + e.message));`;
  const file = path.join(stateDir, `mounted-${kind}`);
  // mount -n: util-linux would record the mount in /run/mount/utab, the host's /run in this namespace too.
  const script = `touch "$1" && mount -n --bind /proc/self/ns/${kind} "$1" && exec "$2" -e "$3" "$1" "$4"`;
  return execFileSync('unshare', ['-m', '-n', 'sh', '-c', script, 'sh', file, process.execPath, program, stateDir], { cwd: root, encoding: 'utf8' }).trim();
}

describe('network records (listing without a socket)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'review3-records-'));
    // A state recorded for this process's own network namespace (its identity is written with it).
    await new StateStore(dir, hostIdentity()).update(
      (s) =>
        void (s.networks.web = {
          name: 'web',
          bridge: 'nlk-web',
          subnet: '10.77.0.0/24',
          gateway: '10.77.0.1',
          internal: false,
          isolate: false,
          masquerade: true,
          group: 1,
          created: '2026-01-01T00:00:00.000Z',
        }),
    );
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads the networks recorded for the host', async () => {
    expect((await networkRecords({ stateDir: dir }).list()).map((n) => n.name)).toEqual(['web']);
  });

  it('refuses a host that is another kind of namespace, and leaves the recorded state where it is', () => {
    const entries = fs.readdirSync(dir).sort();
    // A mount namespace's nsfs file opens like a network namespace's; the manager's socket cannot enter it.
    expect(() => networkRecords({ host: { path: '/proc/self/ns/mnt' }, stateDir: dir })).toThrow(ValidationError);
    expect(() => networkRecords({ host: { path: '/proc/self/ns/mnt' }, stateDir: dir })).toThrow(/is not a network namespace \(a mnt namespace\)/);
    expect(fs.readdirSync(dir).sort()).toEqual(entries); // nothing renamed *.stale-<time>
  });

  it('`nlkit net ls --host <mount namespace>` fails (exit 1) and the networks stay recorded', async () => {
    const out: string[] = [];
    const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => out.push(s) }, env: {} };
    expect(await main(['net', 'ls', '--host', '/proc/self/ns/mnt', '--state-dir', dir], io)).toBe(1);
    expect(out.join('')).toMatch(/net ls failed: ValidationError: .*is not a network namespace/);
    expect((await networkRecords({ stateDir: dir }).list()).map((n) => n.name)).toEqual(['web']);
  });

  it('a host mounted on a file (as /run/netns/NAME) is refused when it is not a network namespace, taken when it is', () => {
    const entries = fs.readdirSync(dir).sort();
    expect(listWithMountedHost('uts', dir)).toMatch(/^ValidationError: .*is not a network namespace \(a uts namespace\)$/);
    expect(fs.readdirSync(dir).sort()).toEqual([...entries, 'mounted-uts'].sort()); // nothing set aside
    // Another network namespace than the one recorded: its state is set aside, as the manager does.
    expect(listWithMountedHost('net', dir)).toBe('[]');
    expect(fs.readdirSync(dir).some((f) => f.startsWith('state.json.stale-'))).toBe(true);
  });
});
