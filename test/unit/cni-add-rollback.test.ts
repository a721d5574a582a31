// ADD's rollback when it fails itself: the detach that should undo the
// attach is refused too, so the veth, lease and ports stay; the error the
// runtime gets must say so (the failure that matters stays its message).
// The network manager is a stand-in: no kernel, nothing is sent.
import { describe, expect, it, vi } from 'vitest';
import { add } from '../../lib/cni/add';
import { parseConfig } from '../../lib/cni/config';
import { parseEnvironment } from '../../lib/cni/env';
import { CniError } from '../../lib/cni/errors';

const detached: unknown[] = [];
const fakeNets = {
  attach: () => Promise.resolve({ network: 'rb', id: 'ctr/eth0', ifname: 'eth0', hostIfname: 'nv0', gateway: '10.9.0.1', defaultRoute: true }),
  publish: () => Promise.reject(new Error('publish refused')),
  detach: (...args: unknown[]) => {
    detached.push(args);
    return Promise.reject(new Error('detach refused'));
  },
  publications: { list: () => Promise.resolve([]) },
  close: () => undefined,
};

vi.mock('../../lib/cni/network', async (importActual) => ({
  ...(await importActual<typeof import('../../lib/cni/network')>()),
  openManager: () => Promise.resolve(fakeNets),
  ensureNetwork: () => Promise.resolve({ name: 'rb' }),
}));

describe('nlkit-cni ADD rollback', () => {
  it('names a detach that failed while undoing a failed ADD in the error details', async () => {
    const stdin = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'rb',
      type: 'nlkit-cni',
      ipam: { subnet: '10.9.0.0/24' },
      runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
    });
    // the namespace path only has to exist: with no routes, hairpin or bandwidth nothing opens it
    const env = parseEnvironment({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'ctr', CNI_IFNAME: 'eth0', CNI_NETNS: '/proc/self/ns/net', CNI_PATH: '/nonexistent' });
    const err = await add({ env, conf: parseConfig(stdin), stdin }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).message).toBe('publish refused');
    expect((err as CniError).details).toBe('detach failed: detach refused');
    expect(detached).toEqual([['rb', { id: 'ctr/eth0' }, { missingOk: true }]]);
  });
});
