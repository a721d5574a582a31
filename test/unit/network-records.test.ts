// The records a listing reads without a socket (lib/network/records.ts): it
// must refuse what a NetworkManager refuses, and never set a host's state aside
// for a namespace the manager could not have entered. No namespace is made:
// the host is this process's own network namespace, read only.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../lib/cli/main';
import { ValidationError } from '../../lib/netlink/errors';
import { hostIdentity } from '../../lib/network/host-identity';
import { networkRecords } from '../../lib/network/records';
import { StateStore } from '../../lib/network/state';

describe('network records (listing without a socket)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'review3-records-'));
    // A state recorded for this process's own network namespace (its identity is written with it).
    await new StateStore(dir, hostIdentity()).update((s) => void (s.networks.web = { name: 'web', subnet: '10.77.0.0/24' } as never));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads the networks recorded for the host', async () => {
    expect((await networkRecords({ stateDir: dir }).list()).map((n) => n.name)).toEqual(['web']);
  });

  it('refuses a host that is another kind of namespace, and leaves the recorded state where it is', () => {
    const entries = fs.readdirSync(dir).sort();
    // A mount namespace's nsfs file opens like a network namespace's; the manager's socket cannot enter it.
    expect(() => networkRecords({ host: { path: '/proc/self/ns/mnt' }, stateDir: dir })).toThrow(ValidationError);
    expect(() => networkRecords({ host: { path: '/proc/self/ns/mnt' }, stateDir: dir })).toThrow(/is not a network namespace \(mnt:\[/);
    expect(fs.readdirSync(dir).sort()).toEqual(entries); // nothing renamed *.stale-<time>
  });

  it('`nlkit net ls --host <mount namespace>` fails (exit 1) and the networks stay recorded', async () => {
    const out: string[] = [];
    const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => out.push(s) }, env: {} };
    expect(await main(['net', 'ls', '--host', '/proc/self/ns/mnt', '--state-dir', dir], io)).toBe(1);
    expect(out.join('')).toMatch(/net ls failed: ValidationError: .*is not a network namespace/);
    expect((await networkRecords({ stateDir: dir }).list()).map((n) => n.name)).toEqual(['web']);
  });
});
