// The IPCTNL_MSG_CT_NEW request of conntrack.set(): only the attributes of
// what changes (a mark change must not clear the labels), the mark mask as
// the kernel applies it ((mark & ~mask) ^ value), the timeout in seconds.
import { describe, expect, it } from 'vitest';
import * as C from '../../lib/conntrack/constants';
import { changeMessage, type ConntrackChanges } from '../../lib/conntrack/changes';
import { ValidationError } from '../../lib/netlink/errors';
import { nfnlAttributes } from '../../lib/netlink/nfnetlink';
import { parseMessages } from '../../lib/netlink/parser';

const entry = { family: 4 as const, protocol: 'udp', original: { src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2 } };

const sent = (c: ConntrackChanges) => nfnlAttributes(parseMessages(changeMessage(entry, c))[0]);

describe('conntrack changes', () => {
  it('sends the mark, its mask and the timeout, and nothing of what does not change', () => {
    const a = sent({ mark: 0x42, timeout: 300 });
    expect(a.be32(C.CTA_MARK)).toBe(0x42);
    expect(a.get(C.CTA_MARK_MASK)).toBeUndefined();
    expect(a.be32(C.CTA_TIMEOUT)).toBe(300);
    expect(a.get(C.CTA_LABELS)).toBeUndefined();

    const b = sent({ mark: 0x5, markMask: 0xf });
    expect([b.be32(C.CTA_MARK), b.be32(C.CTA_MARK_MASK), b.get(C.CTA_TIMEOUT)]).toEqual([0x5, 0xf, undefined]);
    expect([sent({ markMask: 0xff }).be32(C.CTA_MARK), sent({ mark: 0xffffffff }).be32(C.CTA_MARK)]).toEqual([0, 0xffffffff]);
    expect(sent({ timeout: 0 }).be32(C.CTA_TIMEOUT)).toBe(0);

    const c = sent({ labels: [3] });
    expect([c.get(C.CTA_MARK), c.get(C.CTA_TIMEOUT)]).toEqual([undefined, undefined]);
  });

  it('refuses marks and timeouts that are no u32, and mark bits outside the mask', () => {
    for (const bad of [
      { mark: -1 },
      { mark: 2 ** 32 },
      { mark: 0.5 },
      { mark: '1' },
      { mark: null },
      { markMask: 2 ** 32 },
      { mark: 0x10, markMask: 0x0f },
      { mark: 0x80000000, markMask: 0x7fffffff },
      { timeout: -1 },
      { timeout: 2 ** 32 },
      { timeout: NaN },
      { mark: undefined, timeout: undefined },
      { ttl: 5 },
    ]) {
      expect(() => changeMessage(entry, bad as never), JSON.stringify(bad)).toThrow(ValidationError);
    }
  });
});
