// What a one-shot round (lib/netlink/one-shot.ts: the pool job that makes a
// socket, sends the round and reads its answers) reports when the job fails
// with ENOBUFS. Only recvmsg reports an overrun, after the round's sendmsg:
// then the round reached the kernel (NetlinkOverrunError, `sent: true`).
// ENOBUFS from socket(), bind() or sendmsg (no memory) came before anything
// was sent: a caller told `sent: true` would look for a change never made.
import { constants as osConstants } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';

const job = vi.hoisted(() => ({ syscall: '' }));
vi.mock('../../lib/native/binding', () => ({
  native: () => ({
    netlinkTransactIn: () =>
      Promise.reject(Object.assign(new Error(`${job.syscall}: no buffer space`), { errno: osConstants.errno.ENOBUFS, syscall: job.syscall })),
    closeFd: () => undefined,
  }),
}));

import { NetlinkOverrunError } from '../../lib/netlink/errors';
import { OneShotConnection } from '../../lib/netlink/one-shot';
import { NetlinkWriter } from '../../lib/netlink/writer';

const RTM_NEWROUTE = 24;

async function failure(syscall: string): Promise<Error & { sent?: boolean; code?: string }> {
  job.syscall = syscall;
  const c = new OneShotConnection(0, -1);
  try {
    const message = new NetlinkWriter().begin(RTM_NEWROUTE, 0).end().finish();
    const e = await c.execute({ kind: 'ack', message, operation: 'add route 10.0.0.1/32' }).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    if (!e) throw new Error('the round succeeded');
    return e;
  } finally {
    c.close();
  }
}

describe('a one-shot round failing with ENOBUFS', () => {
  afterEach(() => {
    job.syscall = '';
  });

  it('is an overrun (the request reached the kernel) when recvmsg reports it', async () => {
    const e = await failure('recvmsg(netlink)');
    expect(e).toBeInstanceOf(NetlinkOverrunError);
    expect(e.sent).toBe(true);
  });

  it.each(['socket(AF_NETLINK)', 'pthread_create/setns/socket(AF_NETLINK)', 'bind(AF_NETLINK)', 'sendmsg(netlink)'])(
    'says nothing was sent when %s failed',
    async (syscall) => {
      const e = await failure(syscall);
      expect(e).not.toBeInstanceOf(NetlinkOverrunError);
      expect(e.sent).not.toBe(true);
      expect(e.code).toBe('ENOBUFS');
    },
  );
});
