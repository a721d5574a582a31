// reconcile() deletes leftovers and strays by the drift's `link` (the host link's own name), never by parsing
// `detail`, which is text for people: a leftover whose detail is worded otherwise (here it even starts with
// another link's name) is still deleted, and nothing else is. A fake host handle records what is deleted.
import { describe, expect, it } from 'vitest';
import type { Link } from '../../lib/rtnetlink/link-types';
import { check, reconcile, type Drift } from '../../lib/network/reconcile';
import { fakeReconcileContext, warningsDuring } from '../helpers/reconcile-context';
import type { HostState } from '../../lib/network/state';

const MARK = 'nlkit:0badcafe:gone/c1';

function fakeHost(links: Link[]) {
  const deleted: number[] = [];
  const host = {
    links: {
      list: async () => links.filter((l) => !deleted.includes(l.index)),
      find: async (name: string) => links.find((l) => l.name === name && !deleted.includes(l.index)),
      delete: async (index: number) => {
        deleted.push(index);
        return true;
      },
    },
    addresses: { list: async () => [] },
  };
  return { host, deleted };
}

const context = (host: unknown, st: HostState, leftovers: (links: Link[]) => Drift[]) => fakeReconcileContext(host, () => st, leftovers);

/** One network `n` (bridge nlk-n, `group`) with no attachments. */
const oneNetwork = (group: number) =>
  ({
    version: 1,
    networks: { n: { name: 'n', bridge: 'nlk-n', subnet: '10.9.0.0/24', gateway: '10.9.0.1', group } },
    attachments: { n: {} },
    publications: {},
  }) as unknown as HostState;

const link = (index: number, name: string, extra: Partial<Link> = {}): Link => ({ index, name, kind: 'veth', ...extra }) as Link;

describe('reconcile acts on a drift by its link, not its text', () => {
  it('deletes a leftover veth whose detail names another link first, and only it', async () => {
    const links = [link(7, 'nvother'), link(8, 'nvleft', { alias: MARK }), link(9, 'eth0', { kind: 'device' } as Partial<Link>)];
    const { host, deleted } = fakeHost(links);
    const st: HostState = { version: 1, networks: {}, attachments: {}, publications: {} };
    // The detail's first word is another link's name: text for people, not the link to act on.
    const leftovers = (ls: Link[]): Drift[] =>
      ls
        .filter((l) => l.alias === MARK)
        .map((l) => ({ network: 'gone', id: 'c1', kind: 'leftover-veth', link: l.name, detail: `nvother is not it; ${l.name} is marked as c1's veth` }));
    const ctx = context(host, st, leftovers);
    expect((await check(ctx)).map((d) => [d.kind, d.link])).toEqual([['leftover-veth', 'nvleft']]);
    await reconcile(ctx);
    expect(deleted).toEqual([8]);
  });

  it('reports a stray veth with its link, and deletes that link only', async () => {
    const group = 0x4e4c0001;
    const links = [
      link(3, 'nlk-n', { kind: 'bridge', up: true, alias: 'nlkit:0badcafe:n' } as Partial<Link>),
      link(4, 'nv0123456789ab', { group, alias: 'nlkit:0badcafe:n/c7' }),
      link(5, 'nvelse', { group: 0, alias: 'nlkit:0badcafe:n/c8' }),
    ];
    const { host, deleted } = fakeHost(links);
    const st = oneNetwork(group);
    const ctx = context(host, st, () => []);
    const drift = (await check(ctx)).filter((d) => d.kind === 'stray-veth');
    expect(drift.map((d) => [d.kind, d.link])).toEqual([['stray-veth', 'nv0123456789ab']]);
    await reconcile(ctx);
    expect(deleted).toEqual([4]);
  });

  it("does not delete a stray's name once another link has taken it (re-read before deleting)", async () => {
    const group = 0x4e4c0001;
    const stray = link(4, 'nv0123456789ab', { group, alias: 'nlkit:0badcafe:n/c7' });
    const { host, deleted } = fakeHost([link(3, 'nlk-n', { kind: 'bridge', up: true, alias: 'nlkit:0badcafe:n' } as Partial<Link>), stray]);
    // Between check()'s dump and the delete, the name went to a user's bridge in the group.
    host.links.find = async (name: string) => (name === stray.name ? link(6, name, { kind: 'bridge', group } as Partial<Link>) : undefined);
    const st = oneNetwork(group);
    const ctx = context(host, st, () => []);
    expect((await check(ctx)).filter((d) => d.kind === 'stray-veth').map((d) => d.link)).toEqual([stray.name]);
    await reconcile(ctx);
    expect(deleted).toEqual([]);
  });
  // What reconcile leaves in a network's group it warns about (NLKIT_FOREIGN_LINK_LEFT); what a drift names it acts
  // on, so that is not "left": a leftover bridge someone moved into the group is deleted, without the warning.
  it('warns about the links it leaves in the group, not about one a drift names and it deletes', async () => {
    const group = 0x4e4c0001;
    const links = [
      link(3, 'nlk-n', { kind: 'bridge', up: true, alias: 'nlkit:0badcafe:n' } as Partial<Link>),
      link(4, 'nv0123456789ab', { group }), // unmarked, named like nlkit's: left
      link(5, 'oldbr', { kind: 'bridge', group, alias: 'nlkit:0badcafe:gone' } as Partial<Link>), // a leftover: deleted
    ];
    const { host, deleted } = fakeHost(links);
    const st = oneNetwork(group);
    const leftovers = (ls: Link[]): Drift[] =>
      ls.filter((l) => l.name === 'oldbr').map((l) => ({ network: 'gone', kind: 'leftover-bridge', link: l.name, detail: 'a leftover' }));
    const warnings = await warningsDuring(() => reconcile(context(host, st, leftovers)));
    expect(deleted).toEqual([5]);
    expect(warnings.map((w) => [(w as Error & { code?: string }).code, w.message])).toEqual([
      ['NLKIT_FOREIGN_LINK_LEFT', expect.stringMatching(/^reconcile: nv0123456789ab \(index 4\), in network n's interface group, left untouched: a veth/)],
    ]);
  });
});
