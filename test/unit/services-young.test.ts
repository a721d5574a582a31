// A set() after an apply() of many services makes its record, layout and elements in the young generation.
// V8 pretenures an object literal's allocation site once most of its objects survive a scavenge, as in a bulk
// apply() where every record, layout and slot element is alive at once; every later set() then made them in
// the old generation, where they are garbage only a mark-compact frees, and the young objects they point to
// were copied and promoted by each scavenge (lib/services/layout-objects.ts). Read back with V8's
// %InYoungGeneration in a child process (the build in dist/: `npm run build:ts` first, as for ipam.test.ts).
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('services objects after a bulk apply', () => {
  it('stay young: record, endpoints, layout, members, slot and dispatch elements', async () => {
    expect(fs.existsSync('dist/services/layout-objects.js'), 'npm run build:ts first (npm test does)').toBe(true);
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--allow-natives-syntax',
      '--expose-gc',
      path.resolve('test/fixtures/services/young-layouts.js'),
      path.resolve('dist'),
    ]);
    const young = JSON.parse(stdout) as Record<string, boolean>;
    expect(young).toEqual({
      record: true,
      endpoint: true,
      port: true,
      layout: true,
      members: true,
      port_members: true,
      hairpin: true,
      hairpinKey: true,
      value: true,
      slotMap: true,
      slots: true,
      element: true,
      dispatch: true,
      dispatchKey: true,
      kept: true,
    });
  }, 60_000);
});
