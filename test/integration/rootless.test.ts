// Rootless runtimes: nlkit works unprivileged inside a user namespace that owns
// its network namespace (`unshare --user --map-root-user --net`).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireRoot } from '../helpers/netns';

const root = path.resolve(__dirname, '..', '..');

describe('rootless (user namespace)', () => {
  it('creates links, addresses, routes and carries traffic as an unprivileged user', () => {
    requireRoot(); // to drop to "nobody" with setpriv
    expect(fs.existsSync(path.join(root, 'dist', 'index.js')), 'run `npm run build:ts` first (npm test does)').toBe(true);
    const out = execFileSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', 'unshare', '--user', '--map-root-user', '--net', process.execPath, 'test/fixtures/rootless.cjs'],
      { cwd: root, encoding: 'utf8', timeout: 30_000 },
    );
    const r = JSON.parse(out);
    expect(r.uid).toBe(0); // root inside the user namespace only
    expect(r.links).toEqual(['br0:bridge', 'lo:-', 'v0:veth', 'v1:veth']);
    expect(r.routes).toEqual(['10.33.0.0/24', '10.34.0.0/16']);
    expect(r.reply).toBe('ok');
    expect([r.ipForward, r.ipForwardAfter]).toEqual(['0', '1']);
    // Named namespaces need /run/netns mounts, which the user namespace does not own.
    expect(r.namedNetns).toMatch(/^SystemError:(EPERM|EACCES)$/);
  });
});
