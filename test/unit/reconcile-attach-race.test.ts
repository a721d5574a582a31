// An attach that completes while check() dumps the host's links (in this process or another) records its
// attachment and ends its intent in that window: check() read the state before it, and the journal after it.
// Its veth is in the dump, and was neither claimed nor in flight by what check() had read: reconcile() took it
// for a stray-veth (marked: deleted, the new attachment's veth gone) or a foreign member (not marked yet: an
// NLKIT_FOREIGN_LINK_LEFT warning about nlkit's own veth). A fake context plays the attach inside the dump.
import { describe, expect, it } from 'vitest';
import type { Link } from '../../lib/rtnetlink/link-types';
import { check, reconcile } from '../../lib/network/reconcile';
import { fakeReconcileContext, warningsDuring } from '../helpers/reconcile-context';
import type { AttachmentRecord, HostState } from '../../lib/network/state';

const group = 0x4e4c0001;
const network = { name: 'n', bridge: 'nlk-n', subnet: '10.9.0.0/24', gateway: '10.9.0.1', group };
const bridge = { index: 3, name: 'nlk-n', kind: 'bridge', up: true, alias: 'nlkit:0badcafe:n' } as Link;
const marked = { index: 4, name: 'nv0123456789ab', kind: 'veth', group, alias: 'nlkit:0badcafe:n/c7' } as Link;
const unmarked = { index: 5, name: 'nv0123456789cd', kind: 'veth', group } as Link; // listed before its attach marked it

const attachment = (id: string, hostIfname: string) => ({ network: 'n', id, hostIfname, sandboxPath: '/nonexistent' }) as AttachmentRecord;

/** Before the dump: the two attaches in flight were not recorded yet. During it they record themselves and end. */
function racingContext() {
  const before = { version: 1, networks: { n: network }, attachments: { n: {} }, publications: {} } as unknown as HostState;
  const after = {
    ...before,
    attachments: { n: { c7: attachment('c7', marked.name), c8: attachment('c8', unmarked.name) } },
  } as unknown as HostState;
  let st = before;
  const deleted: number[] = [];
  const host = {
    links: {
      list: async () => {
        const out = [bridge, marked, unmarked];
        st = after; // the attaches complete while the dump is read: recorded, then their intents end
        return out;
      },
      find: async (name: string) => [bridge, marked, unmarked].find((l) => l.name === name),
      delete: async (index: number) => {
        deleted.push(index);
        return true;
      },
    },
    addresses: { list: async () => [{ address: '10.9.0.1' }] },
  };
  // inFlightVeths is read after the dump: the intents have ended.
  const ctx = fakeReconcileContext(host, () => st);

  return { ctx, deleted };
}

describe('an attach completing during check()’s link dump', () => {
  it('is no stray-veth', async () => {
    const { ctx } = racingContext();
    expect((await check(ctx)).filter((d) => d.kind === 'stray-veth')).toEqual([]);
  });

  it('keeps its veth through reconcile(), without a warning about it', async () => {
    const { ctx, deleted } = racingContext();
    const warnings = await warningsDuring(() => reconcile(ctx));
    expect(deleted).toEqual([]);
    expect(warnings.map((w) => w.message)).toEqual([]);
  });
});
