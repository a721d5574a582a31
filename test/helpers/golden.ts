// Golden values: what an earlier implementation produced for the same input,
// recorded once and compared with what the code produces now. A test file
// opens its store with golden('name') and calls check(value) in a fixed
// order; values are keyed by the test's name and the call's number in it.
// `UPDATE_GOLDEN=1 npx vitest run <file>` records the current output instead:
// only when a change of the bytes is intended and checked (nft, a kernel).
// Values are kept as JSON; one longer than 1 KiB as its SHA-256, to keep the
// files small (a mismatch then names the test and call, not the byte).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, expect } from 'vitest';

/** Object keys in order and undefined members left out, so the same value always hashes the same. */
function sortedKeys(_key: string, v: unknown): unknown {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  const o = v as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );
}

export function golden(name: string): { check(value: unknown): void } {
  const file = path.join(__dirname, '..', 'fixtures', 'golden', `${name}.json`);
  const update = process.env.UPDATE_GOLDEN === '1';
  const stored: Record<string, unknown> = update ? {} : (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>);
  const calls = new Map<string, number>();
  afterAll(() => {
    if (update) fs.writeFileSync(file, `${JSON.stringify(stored, null, 1)}\n`);
  });
  return {
    check(raw: unknown): void {
      const json = JSON.stringify(raw ?? null, sortedKeys);
      const value = json.length > 1024 ? `sha256:${createHash('sha256').update(json).digest('hex')}` : (JSON.parse(json) as unknown);
      const test = expect.getState().currentTestName ?? '';
      const n = (calls.get(test) ?? 0) + 1;
      calls.set(test, n);
      const key = `${test} #${n}`;
      if (update) stored[key] = value;
      else {
        expect(Object.hasOwn(stored, key), `no golden value for "${key}" (record with UPDATE_GOLDEN=1)`).toBe(true);
        expect(value, key).toEqual(stored[key]);
      }
    },
  };
}
