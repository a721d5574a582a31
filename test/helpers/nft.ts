// nft(8) inside a test namespace, for cross-checking what nlkit writes and
// for loading rulesets nlkit must decode. Never touches the root namespace.
import { execFileSync } from 'node:child_process';

/** Runs `nft ARGS` inside a namespace; returns stdout. */
export function nft(netns: string, ...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', netns, 'nft', ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
}

/** Loads a ruleset with `nft -f -` inside a namespace. */
export function nftLoad(netns: string, ruleset: string): void {
  execFileSync('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], { input: ruleset, encoding: 'utf8' });
}

/** `nft -j list ruleset` inside a namespace, parsed; the metainfo entry is dropped. */
export function nftJson(netns: string): Array<Record<string, any>> {
  const out = JSON.parse(nft(netns, '-j', 'list', 'ruleset')) as { nftables: Array<Record<string, any>> };
  return out.nftables.filter((o) => !('metainfo' in o));
}

/** The objects of one kind ("table", "chain", "rule", "set", "map", "counter", ...) from `nft -j`. */
export function nftObjects(netns: string, kind: string, table?: string): Array<Record<string, any>> {
  return nftJson(netns)
    .filter((o) => kind in o)
    .map((o) => o[kind])
    .filter((o) => table === undefined || o.table === table || (kind === 'table' && o.name === table));
}

/** The rule lines of `nft list table` (indented statements), for text comparisons. */
export function nftRuleLines(netns: string, family: string, table: string): string[] {
  return nft(netns, 'list', 'table', family, table)
    .split('\n')
    .filter((l) => l.startsWith('\t\t') && !/^\t\t(type|policy|comment|flags|elements|size|timeout|gc-interval|counter$|packets)/.test(l))
    .map((l) => l.trim());
}
