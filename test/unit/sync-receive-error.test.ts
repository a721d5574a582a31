// A blocking handle (lib/netlink/connection-sync.ts) whose recvmsg fails with an errno other than ENOBUFS
// after the request went: as on the async path (bulk-stop.ts failReceive), a SystemError that says the
// kernel had the request (`sent`; a bulk write's `itemsSent`), not one without it that leaves the caller
// guessing whether anything was applied. recvmsg cannot be made to fail on demand, hence the mocked socket.
import { constants as osConstants } from 'node:os';
import { describe, expect, it, vi } from 'vitest';

const sent: number[] = [];
vi.mock('../../lib/native/binding', () => ({
  native: () => ({
    NetlinkSyncSocket: class {
      readonly portId = 1;
      send(data: Uint8Array): void {
        sent.push(data.length);
      }
      recv(): Buffer {
        throw Object.assign(new Error('recvmsg(netlink): bad message'), { errno: osConstants.errno.EMSGSIZE, syscall: 'recvmsg(netlink)' });
      }
      close(): void {}
    },
  }),
}));

import { NetlinkError, SystemError } from '../../lib/netlink/errors';
import { NetlinkSyncConnection } from '../../lib/netlink/connection-sync';
import { NetlinkWriter } from '../../lib/netlink/writer';

describe('a blocking call whose recvmsg fails (not ENOBUFS)', () => {
  it('fails with a SystemError saying the request was sent, not a kernel refusal', () => {
    const c = new NetlinkSyncConnection({ protocol: 0 });
    try {
      const message = new NetlinkWriter().begin(24 /* RTM_NEWROUTE */, 0).end().finish();
      let e: unknown;
      try {
        c.executeSync({ kind: 'ack', message, operation: 'add route 10.0.0.1/32' });
      } catch (err) {
        e = err;
      }
      expect(sent).toHaveLength(1);
      expect(e).toBeInstanceOf(SystemError);
      expect(e).not.toBeInstanceOf(NetlinkError);
      expect(e).toMatchObject({ code: 'EMSGSIZE', syscall: 'recvmsg(netlink)', operation: 'add route 10.0.0.1/32', sent: true });
    } finally {
      c.close();
    }
  });

  it('fails a bulk write whose read between parts fails with a SystemError counting the items sent (was a NetlinkError: a refusal)', () => {
    const c = new NetlinkSyncConnection({ protocol: 0 });
    try {
      const one = () => new NetlinkWriter().begin(24 /* RTM_NEWROUTE */, 0).end().finish();
      const message = Buffer.concat([one(), one(), one()]);
      let e: unknown;
      try {
        c.executeSync({ kind: 'bulk', message, operation: 'add 3 routes' });
      } catch (err) {
        e = err;
      }
      expect(e).toBeInstanceOf(SystemError);
      expect(e).not.toBeInstanceOf(NetlinkError);
      expect(e).toMatchObject({ code: 'EMSGSIZE', operation: 'add 3 routes', sent: true, itemsSent: 3 });
    } finally {
      c.close();
    }
  });
});
