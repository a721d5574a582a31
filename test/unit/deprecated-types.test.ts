// The names deprecated in 0.2 are the same types as their replacements (a
// compile-time check: `tsc` on this file fails if an alias drifts), and the
// runtime aliases are still there.
import { describe, expect, expectTypeOf, it } from 'vitest';
import type * as nlkit from '../../lib';
import { Nftables } from '../../lib/nftables/api';
import { NetworkManager } from '../../lib/network/manager';

describe('deprecated names', () => {
  it('the ip rule types under their old names are the IpRule types', () => {
    expectTypeOf<nlkit.Rule>().toEqualTypeOf<nlkit.IpRule>();
    expectTypeOf<nlkit.RuleAction>().toEqualTypeOf<nlkit.IpRuleAction>();
    expectTypeOf<nlkit.RuleFilter>().toEqualTypeOf<nlkit.IpRuleFilter>();
    expectTypeOf<nlkit.RuleOptions>().toEqualTypeOf<nlkit.IpRuleOptions>();
    expectTypeOf<nlkit.RuleEvent>().toEqualTypeOf<nlkit.IpRuleEvent>();
    expectTypeOf<nlkit.nft.NftEvent['kind']>().toEqualTypeOf<nlkit.nft.NftEvent['type']>();
  });

  it('the deprecated methods still exist next to their replacements', () => {
    for (const m of ['listTables', 'listChains', 'listRules', 'listSets', 'getSet', 'listElements', 'listObjects', 'listRuleset']) {
      expect(typeof (Nftables.prototype as unknown as Record<string, unknown>)[m]).toBe('function');
    }
    for (const m of ['inspect', 'detachMany', 'find', 'get', 'detach']) {
      expect(typeof (NetworkManager.prototype as unknown as Record<string, unknown>)[m]).toBe('function');
    }
  });
});
