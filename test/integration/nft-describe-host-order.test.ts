// describeNftRule on meta and ct keys the kernel keeps in host byte order
// (cpu, length, priority, interface groups, cgroup, expiration, packet
// counts): written by `nft -f`, each rule must print as nft lists it, not as
// its bytes read big-endian (`meta cpu 2` is not `meta cpu 33554432`).
import { describe, expect, it } from 'vitest';
import { describeNftRule } from '../../lib';
import { nftLoad, nftRuleLines } from '../helpers/nft';
import { useNetns } from '../helpers/netns';

const STATEMENTS = [
  'meta cpu 2 accept',
  'meta cpu 1-3 accept',
  'meta cpu { 0, 3 } accept',
  'meta length 100 accept',
  'meta length > 1000 drop',
  'meta priority 1:2 accept',
  'meta priority set 1:10',
  'meta priority none accept',
  'meta priority root accept',
  'iifgroup 1 accept',
  'oifgroup 2 accept',
  'meta cgroup 7 accept',
  'meta day "Monday" accept',
  'meta rtclassid 3 accept',
  'ct expiration 30s accept',
  'ct expiration 1m30s accept',
  'ct avgpkt 100 accept',
  'ct packets 5 accept',
  'ct original packets 7 accept',
];

describe('describeNftRule: host byte order meta and ct keys', () => {
  const box = useNetns('hd');

  it('prints each rule nft wrote as nft lists it', async () => {
    nftLoad(box.ns('hd'), `table inet hd {\n chain c {\n${STATEMENTS.map((s) => `  ${s}\n`).join('')} }\n}\n`);
    const { rules, sets } = await box.h('hd').nft.ruleset.get({ family: 'inet', table: 'hd' });
    const listed = nftRuleLines(box.ns('hd'), 'inet', 'hd');
    expect(listed).toEqual(STATEMENTS);
    expect(rules.map((r) => describeNftRule(r, { sets }))).toEqual(listed);
  });
});
