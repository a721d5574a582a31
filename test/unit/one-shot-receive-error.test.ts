// What a one-shot round (lib/netlink/one-shot.ts) reports when its pool job's
// recvmsg fails with an errno other than ENOBUFS: the round's sendmsg went,
// so the kernel had the request and may have applied it. A NetlinkError would
// read as the kernel's refusal (nothing applied); it is a SystemError saying
// `sent: true`, as on the I/O thread (bulk-stop.ts failReceive). recvmsg of a
// request socket cannot be made to fail on demand, hence the mocked job.
import { constants as osConstants } from 'node:os';
import { describe, expect, it, vi } from 'vitest';

vi.mock('../../lib/native/binding', () => ({
  native: () => ({
    netlinkTransactIn: () =>
      Promise.reject(Object.assign(new Error('recvmsg(netlink): bad message'), { errno: osConstants.errno.EMSGSIZE, syscall: 'recvmsg(netlink)' })),
    closeFd: () => undefined,
  }),
}));

import { NetlinkError, SystemError } from '../../lib/netlink/errors';
import { OneShotConnection } from '../../lib/netlink/one-shot';
import { NetlinkWriter } from '../../lib/netlink/writer';

describe('a one-shot round whose recvmsg fails (not ENOBUFS)', () => {
  it('fails the request with a SystemError saying it was sent, not with a kernel refusal', async () => {
    const c = new OneShotConnection(0, -1);
    try {
      const message = new NetlinkWriter().begin(24 /* RTM_NEWROUTE */, 0).end().finish();
      const e = await c.execute({ kind: 'ack', message, operation: 'add route 10.0.0.1/32' }).then(
        () => undefined,
        (err: unknown) => err as Error,
      );
      expect(e).toBeInstanceOf(SystemError);
      expect(e).not.toBeInstanceOf(NetlinkError);
      expect(e).toMatchObject({ code: 'EMSGSIZE', syscall: 'recvmsg(netlink)', operation: 'add route 10.0.0.1/32', sent: true });
    } finally {
      c.close();
    }
  });
});
