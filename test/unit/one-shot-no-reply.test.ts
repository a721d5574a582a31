// What a one-shot round (lib/netlink/one-shot.ts) reports for a request whose
// answer is not among what the round read: the request reached the kernel,
// which may have applied it, so NoReplyError (a SystemError, `sent: true`),
// not a refusal. rtnetlink answers every request of a round before its
// sendmsg returns (a dump given to call() included: its parts end with
// NLMSG_DONE), so a round read empty is made here with a mocked pool job.
import { describe, expect, it, vi } from 'vitest';

vi.mock('../../lib/native/binding', () => ({
  native: () => ({
    netlinkTransactIn: () => Promise.resolve(Buffer.alloc(0)),
    closeFd: () => undefined,
  }),
}));

import { NetlinkError } from '../../lib/netlink/errors';
import { NoReplyError } from '../../lib/netlink/no-reply-error';
import { OneShotConnection } from '../../lib/netlink/one-shot';
import { NetlinkWriter } from '../../lib/netlink/writer';

describe('a one-shot round that read no answer to its request', () => {
  it('fails it with NoReplyError: sent, outcome unknown, not the kernel’s refusal', async () => {
    const c = new OneShotConnection(0, -1);
    try {
      const message = new NetlinkWriter().begin(24 /* RTM_NEWROUTE */, 0).end().finish();
      const e = await c.execute({ kind: 'ack', message, operation: 'add route 10.0.0.1/32' }).then(
        () => undefined,
        (err: unknown) => err as Error,
      );
      expect(e).toBeInstanceOf(NoReplyError);
      expect(e).not.toBeInstanceOf(NetlinkError);
      expect(e).toMatchObject({ code: 'EIO', syscall: 'recvmsg(netlink)', operation: 'add route 10.0.0.1/32', sent: true });
    } finally {
      c.close();
    }
  });
});
