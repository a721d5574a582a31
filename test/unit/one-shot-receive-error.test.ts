// What a one-shot round (lib/netlink/one-shot.ts) reports when it cannot
// tell the request's outcome, with the pool job mocked (neither case can be
// made on demand with a real socket): the round's sendmsg went, so the kernel
// had the request and may have applied it. A NetlinkError would read as the
// kernel's refusal (nothing applied); each is a SystemError saying
// `sent: true`, as on the I/O thread (bulk-stop.ts failReceive).
// - recvmsg fails with an errno other than ENOBUFS: that errno.
// - the round is read to its end without the request's answer: NoReplyError
//   (rtnetlink answers every request before its sendmsg returns, a dump given
//   to call() with its parts and NLMSG_DONE, so this is a guard).
import { constants as osConstants } from 'node:os';
import { describe, expect, it, vi } from 'vitest';

const job = { outcome: 'recv-error' as 'recv-error' | 'no-answer' };
vi.mock('../../lib/native/binding', () => ({
  native: () => ({
    netlinkTransactIn: () =>
      job.outcome === 'no-answer'
        ? Promise.resolve(Buffer.alloc(0))
        : Promise.reject(Object.assign(new Error('recvmsg(netlink): bad message'), { errno: osConstants.errno.EMSGSIZE, syscall: 'recvmsg(netlink)' })),
    closeFd: () => undefined,
  }),
}));

import { NetlinkError, SystemError } from '../../lib/netlink/errors';
import { NoReplyError } from '../../lib/netlink/no-reply-error';
import { OneShotConnection } from '../../lib/netlink/one-shot';
import { NetlinkWriter } from '../../lib/netlink/writer';

/** The error of one route add through a one-shot connection whose pool job ends as `outcome`. */
async function roundError(outcome: typeof job.outcome): Promise<Error | undefined> {
  job.outcome = outcome;
  const c = new OneShotConnection(0, -1);
  try {
    const message = new NetlinkWriter().begin(24 /* RTM_NEWROUTE */, 0).end().finish();
    return await c.execute({ kind: 'ack', message, operation: 'add route 10.0.0.1/32' }).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
  } finally {
    c.close();
  }
}

describe('a one-shot round that cannot tell the outcome', () => {
  it('recvmsg failing (not ENOBUFS): a SystemError with that errno, saying it was sent, not a kernel refusal', async () => {
    const e = await roundError('recv-error');
    expect(e).toBeInstanceOf(SystemError);
    expect(e).not.toBeInstanceOf(NetlinkError);
    expect(e).toMatchObject({ code: 'EMSGSIZE', syscall: 'recvmsg(netlink)', operation: 'add route 10.0.0.1/32', sent: true });
  });

  it('no answer among what the round read: NoReplyError (sent, outcome unknown), not a kernel refusal', async () => {
    const e = await roundError('no-answer');
    expect(e).toBeInstanceOf(NoReplyError);
    expect(e).not.toBeInstanceOf(NetlinkError);
    expect(e).toMatchObject({ code: 'EIO', syscall: 'recvmsg(netlink)', operation: 'add route 10.0.0.1/32', sent: true });
  });
});
