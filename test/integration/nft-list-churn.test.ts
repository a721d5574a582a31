// Listing a big table while other agents commit (kube-proxy, firewalld, a
// second daemon) must converge: every commit anywhere in the namespace marks
// a running dump interrupted (NLM_F_DUMP_INTR), and a 20,000-rule listing
// outlasts the gap between commits. A listing is accepted when the kernel's
// dump was not interrupted, or when two dumps in a row list the same objects
// (handles are never reused, so equal handle lists mean nothing changed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open, type Handle } from '../../lib';
import { nft, nftLoad } from '../helpers/nft';
import { useNetns } from '../helpers/netns';

const CHAINS = 4;
const PER_CHAIN = 5000;

function bigTable(): string {
  const lines = ['table inet big {'];
  for (let c = 0; c < CHAINS; c++) {
    lines.push(` chain c${c} {`);
    for (let i = 0; i < PER_CHAIN; i++) lines.push(`  ip daddr 10.${c}.${i >> 8}.${i & 255} tcp dport ${1000 + i} counter accept`);
    lines.push(' }');
  }
  lines.push('}');
  return lines.join('\n');
}

describe('nftables listing under concurrent commits', () => {
  const box = useNetns('churn');
  let committer: Handle;
  let stop = false;
  let commits = 0;
  let churn: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    nftLoad(box.ns('churn'), bigTable());
    committer = await open({ netns: box.ns('churn') });
    // Another agent: a commit in another table every few milliseconds, for as long as the tests run.
    churn = (async () => {
      while (!stop) {
        const tx = committer.nft.transaction();
        if (commits % 2 === 0) tx.addTable({ family: 'ip', name: 'other' });
        else tx.deleteTable({ family: 'ip', name: 'other' });
        await tx.commit({ echo: 'none' });
        commits++;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
  });
  afterAll(async () => {
    stop = true;
    await churn.catch(() => undefined);
    committer.close();
  });

  it('lists a 20,000-rule table completely, five times in a row, while another handle commits every few ms', async () => {
    const expected = JSON.parse(nft(box.ns('churn'), '-j', '-a', 'list', 'table', 'inet', 'big')) as { nftables: Array<{ rule?: { handle: number } }> };
    const handles = expected.nftables.flatMap((o) => (o.rule ? [o.rule.handle] : [])).sort((a, b) => a - b);
    expect(handles).toHaveLength(CHAINS * PER_CHAIN);
    const before = commits;
    for (let i = 0; i < 5; i++) {
      const rules = await box.h('churn').nft.rules.list({ family: 'inet', table: 'big' });
      expect(rules.map((r) => r.handle).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(handles);
    }
    // The listing really ran against commits (otherwise this test proves nothing).
    expect(commits - before).toBeGreaterThan(5);
  });

  it('the whole ruleset, sets and chains converge too', async () => {
    for (let i = 0; i < 3; i++) {
      const rs = await box.h('churn').nft.ruleset.get({ family: 'inet' });
      expect(rs.rules).toHaveLength(CHAINS * PER_CHAIN);
      expect(rs.chains.map((c) => c.name).sort()).toEqual(['c0', 'c1', 'c2', 'c3']);
    }
  });
});
