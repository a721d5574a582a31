// A pod namespace's routing and nftables state as `ip -j` and `nft -j` list
// it, for comparing before and after (sidecar interception tests).
import { ipJson } from './netns';
import { nftJson } from './nft';

/** The pod's nftables ruleset, policy rules and routes of both families. */
export function podState(netns: string): unknown {
  return {
    nft: nftJson(netns),
    rules4: ipJson(netns, '-4', 'rule'),
    rules6: ipJson(netns, '-6', 'rule'),
    routes4: ipJson(netns, '-4', 'route', 'show', 'table', 'all'),
    // (the kernel adds eth0's link-local address whenever its DAD ends: not ours to compare)
    routes6: ipJson<Array<{ dst: string }>>(netns, '-6', 'route', 'show', 'table', 'all').filter((r) => !r.dst.startsWith('fe80::')),
  };
}
