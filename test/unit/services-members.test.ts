/**
 * The member diff of a services change (lib/services/members.ts): what goes
 * and comes, with few and with many hairpin members, and the slot keys a
 * repeated change reuses instead of making again.
 */
import { describe, expect, it } from 'vitest';
import type { SetElement } from '../../lib/nftables';
import type { PortMembers } from '../../lib/services/layout';
import { diffPortMembers, listMembers } from '../../lib/services/members';
import { serviceLayout } from '../../lib/services/service-layout';
import { toServiceRecord, type EndpointSpec } from '../../lib/services/spec';

const eps = (n: number, from = 0): EndpointSpec[] =>
  Array.from({ length: n }, (_, i) => ({ ip: `10.${200 + ((i + from) % 20)}.${(i + from) >> 8}.${(i + from) & 255}` }));
const layout = (endpoints: EndpointSpec[], vips = ['10.96.0.10']): PortMembers[] =>
  serviceLayout(toServiceRecord({ name: 'web', vips, ports: [{ port: 80 }], endpoints })).members;

function diff(before: PortMembers[], after: PortMembers[]): { gone: Array<[string, SetElement]>; come: Array<[string, SetElement]> } {
  const out = { gone: [] as Array<[string, SetElement]>, come: [] as Array<[string, SetElement]> };
  diffPortMembers(
    before,
    after,
    (set, e) => out.gone.push([set, e]),
    (set, e) => out.come.push([set, e]),
  );
  return out;
}

const text = (set: string, e: SetElement) => `${set} ${JSON.stringify(e.key)} ${JSON.stringify(e.value ?? null)}`;
/** A deleted element is known by its key (a changed slot's one element carries the new value to both messages). */
const keyText = (set: string, e: SetElement) => `${set} ${JSON.stringify(e.key)}`;

/** The member-by-member difference, by key strings (what the diff must amount to). */
function expected(before: PortMembers[], after: PortMembers[]): { gone: string[]; come: string[] } {
  const b = listMembers(before);
  const a = listMembers(after).map((m) => text(m.set, m));
  const bt = b.map((m) => text(m.set, m));
  return {
    gone: b
      .filter((m, i) => !a.includes(bt[i]))
      .map((m) => keyText(m.set, m))
      .sort(),
    come: a.filter((x) => !bt.includes(x)).sort(),
  };
}

describe('services member diff', () => {
  it('matches the member-by-member difference, with few and with many (> 64) hairpin members', () => {
    const vips = ['10.96.0.10', '10.96.0.11', '10.96.0.12'];
    for (const [before, after] of [
      [layout(eps(10)), layout(eps(10, 10))],
      [layout(eps(10)), layout(eps(12, 5))],
      [layout(eps(40), vips), layout(eps(40, 7), vips)], // 120 hairpin members: matched through a Map
      [layout(eps(40), vips), layout(eps(3), vips)],
      [layout(eps(3), vips), layout(eps(40), vips)],
    ]) {
      const d = diff(before, after);
      const want = expected(before, after);
      expect(d.gone.map(([s, e]) => keyText(s, e)).sort()).toEqual(want.gone);
      // A changed slot is deleted and added again: its new value comes.
      expect(d.come.map(([s, e]) => text(s, e)).sort()).toEqual(want.come);
    }
  });

  it('a repeated change reuses the slot keys of the layout before (no new key arrays)', () => {
    const [a, b, c] = [layout(eps(10)), layout(eps(10, 10)), layout(eps(10))];
    const first = diff(a, b).come.filter(([s]) => s === 'endpoints4');
    const second = diff(b, c).come.filter(([s]) => s === 'endpoints4');
    expect(first).toHaveLength(64);
    expect(second).toHaveLength(64);
    for (let i = 0; i < 64; i++) {
      expect(second[i][1].key).toEqual(['10.96.0.10', 'tcp', 80, i]);
      expect(second[i][1].key).toBe(first[i][1].key);
    }
  });
});
