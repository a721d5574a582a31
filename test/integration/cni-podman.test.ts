// A real container engine: Podman with its CNI network backend and a
// conflist whose plugin is nlkit-cni runs a container from a local root
// filesystem (no registry is reachable: the rootfs holds a static Go server
// built here). Podman runs inside a private network + mount namespace made
// for the test (unshare -n -m), with fresh /run and /var/lib and its storage,
// configuration and nlkit's state in a scratch directory, so nothing of the
// machine changes (test/cni/podman-run.sh). Traffic to the container and to
// its published port; `podman rm` leaves no veth and no map element.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cniScratch, root, type CniScratch } from '../helpers/cni';
import { requireRoot } from '../helpers/netns';

describe('nlkit-cni under Podman (CNI backend)', () => {
  let scratch: CniScratch;
  beforeAll(() => {
    requireRoot();
    scratch = cniScratch();
    const rootfs = path.join(scratch.dir, 'rootfs');
    for (const d of ['etc', 'proc', 'sys', 'dev', 'tmp', 'run']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
    execFileSync('go', ['build', '-o', path.join(rootfs, 'server'), '.'], {
      cwd: path.join(root, 'test', 'cni', 'server'),
      env: { ...process.env, CGO_ENABLED: '0', GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOCACHE: path.join(scratch.dir, 'gocache'), GOFLAGS: '' },
      stdio: 'pipe',
    });
  }, 120_000);
  afterAll(() => scratch.remove());

  it('runs a container on an nlkit network: traffic in, a published port, clean teardown', () => {
    const r = spawnSync('unshare', ['-n', '-m', '--propagation', 'private', path.join(root, 'test', 'cni', 'podman-run.sh'), scratch.dir], {
      encoding: 'utf8',
      timeout: 240_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const out = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(/=(.*)/s).slice(0, 2)),
    ) as Record<string, string>;
    expect(out.ip).toMatch(/^10\.89\.0\.\d+$/);
    expect(out.direct).toMatch(/^hello from the container, you are 10\.89\.0\.1:\d+$/);
    expect(out.published).toMatch(/^hello from the container, you are /);
    expect(out['ports-before']).toBe('1');
    expect(out['ports-after']).toBe('0');
    const elements = (file: string) => fs.readFileSync(path.join(scratch.dir, file), 'utf8');
    expect(elements('nft-before.json')).toContain(out.ip);
    expect(elements('nft-before.json')).toMatch(/8080/);
    expect(elements('nft-after.json')).not.toContain(out.ip);
    const leases = JSON.parse(fs.readFileSync(path.join(scratch.dir, 'state', 'ipam', 'nlkit.json'), 'utf8')) as { allocations: object };
    expect(leases.allocations).toEqual({});
  }, 300_000); // podman and crun on a loaded machine
});
