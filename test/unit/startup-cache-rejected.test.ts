// The library bundle's V8 code cache (scripts/bundle.mjs) is only valid for the V8 version and flags that
// made it: a cache V8 rejects (other flags, a truncated or foreign file) must cost the ordinary compile and
// nothing else. The probe loads the bundle, builds and encodes a transaction of DNAT rules (the path the
// build warms), and prints whether V8 took the cache and a digest of the batch: the same batch either way.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..', '..');

const PROBE = `
const lib = require(process.argv[1]).load('lib');
const { nft, rule } = lib.index();
const api = new nft.Nftables({ execute: () => Promise.reject(new Error('no socket here')) }, -1);
const tx = api.transaction();
tx.addTable({ family: 'ip', name: 't' });
for (let i = 0; i < 50; i++)
  tx.addRule({ family: 'ip', table: 't', chain: 'c', rule: rule().tcp({ dport: 9000 + i }).dnat({ to: '10.0.1.' + (i + 1), port: 80 }) });
const digest = require('node:crypto').createHash('sha256').update(tx.encode()).digest('hex');
console.log(JSON.stringify({ rejected: lib.__script.cachedDataRejected, digest }));
`;

function probe(loader: string, flags: string[] = []): { rejected: boolean | undefined; digest: string } {
  return JSON.parse(execFileSync(process.execPath, [...flags, '-e', PROBE, loader], { cwd: root, encoding: 'utf8' })) as {
    rejected: boolean | undefined;
    digest: string;
  };
}

describe('the code cache rejected', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'review12-cache-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('with other V8 flags, or truncated, or not a cache at all: compiled as usual, the same batch', () => {
    const own = path.join(root, 'dist', 'bundle', 'nlkit.js');
    const accepted = probe(own);
    expect(accepted.rejected).toBe(false);
    // Other flags: V8 checks a hash of them against the cache's.
    const otherFlags = probe(own, ['--no-flush-bytecode']);
    expect(otherFlags).toEqual({ rejected: true, digest: accepted.digest });
    // A copy of the bundle beside a damaged cache (the bundle's own requires resolve through dist/native).
    mkdirSync(path.join(dir, 'bundle'));
    symlinkSync(path.join(root, 'dist', 'native'), path.join(dir, 'native'));
    for (const f of ['nlkit.js', 'nlkit.bundle.js']) copyFileSync(path.join(root, 'dist', 'bundle', f), path.join(dir, 'bundle', f));
    const cache = readFileSync(path.join(root, 'dist', 'bundle', 'nlkit.bundle.cache'));
    for (const damaged of [cache.subarray(0, cache.length >> 1), Buffer.from('not a cache\n')]) {
      writeFileSync(path.join(dir, 'bundle', 'nlkit.bundle.cache'), damaged);
      expect(probe(path.join(dir, 'bundle', 'nlkit.js'))).toEqual({ rejected: true, digest: accepted.digest });
    }
  });
});
