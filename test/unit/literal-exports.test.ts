// The constants modules of dist/ build their exports as one object literal (scripts/literal-exports.mjs, run by
// the build): the same names and values as the TypeScript source, in tsc's order. Needs the build (`npm run build:ts`).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as netlink from '../../lib/netlink/constants';
import * as rtnetlink from '../../lib/rtnetlink/constants';
import * as genetlink from '../../lib/genetlink/constants';
import * as ethtool from '../../lib/genetlink/ethtool/constants';
import * as tc from '../../lib/rtnetlink/tc/constants';
import * as conntrack from '../../lib/conntrack/constants';
import * as nftables from '../../lib/nftables/constants';

const root = path.resolve(__dirname, '..', '..');
const dist = path.join(root, 'dist');
const requireDist = createRequire(path.join(dist, 'index.js'));

const SOURCES: Record<string, object> = {
  'netlink/constants.js': netlink,
  'rtnetlink/constants.js': rtnetlink,
  'genetlink/constants.js': genetlink,
  'genetlink/ethtool/constants.js': ethtool,
  'rtnetlink/tc/constants.js': tc,
  'conntrack/constants.js': conntrack,
  'nftables/constants.js': nftables,
};

/** literal-exports.mjs, imported at run time (a build script, not part of the typed sources). */
async function literalExports(source: string, filename: string): Promise<string> {
  const m = (await import(path.join(root, 'scripts', 'literal-exports.mjs'))) as { literalExports: (s: string, f: string) => string };
  return m.literalExports(source, filename);
}

describe('constants modules as one literal', () => {
  it('every constants module of dist/ without imports is rewritten (and only those)', () => {
    const files = readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((f) => path.basename(f) === 'constants.js' && !f.startsWith('bundle'));
    const rewritten = files.filter((f) => readFileSync(path.join(dist, f), 'utf8').includes('// literal-exports: '));
    expect(rewritten.sort()).toEqual(Object.keys(SOURCES).sort());
    for (const f of rewritten) expect(readFileSync(path.join(dist, f), 'utf8'), f).not.toMatch(/^exports\.\w+ = (exports\.\w+ = )*void 0;$/m);
  });

  it.each(Object.keys(SOURCES))('dist/%s exports what the TypeScript source exports', (file) => {
    const built = requireDist(`./${file}`) as Record<string, unknown>;
    const source = SOURCES[file] as Record<string, unknown>;
    expect(Object.keys(built).sort()).toEqual(Object.keys(source).sort());
    for (const [name, value] of Object.entries(source)) {
      if (typeof value === 'function') expect(typeof built[name], name).toBe('function');
      else expect(built[name], name).toEqual(value);
    }
    expect(built.__esModule).toBe(true);
    expect(Object.getOwnPropertyDescriptor(built, '__esModule')).toEqual({ value: true, writable: false, enumerable: false, configurable: false });
  });

  it('leaves every rewritten module with fast properties (a dictionary-mode object makes each warm constant read a hash lookup)', () => {
    // %HasFastProperties needs --allow-natives-syntax: a child process of the same Node.
    const files = Object.keys(SOURCES).map((f) => path.join(dist, f));
    const script = `for (const f of ${JSON.stringify(files)}) console.log(f, %HasFastProperties(require(f)));`;
    const out = execFileSync(process.execPath, ['--allow-natives-syntax', '-e', script], { encoding: 'utf8' });
    expect(out.trim().split('\n')).toEqual(files.map((f) => `${f} true`));
  });

  it("keeps tsc's order, the statements of values that are not constants, and refuses a module with imports", async () => {
    const tsc = [
      '"use strict";',
      'Object.defineProperty(exports, "__esModule", { value: true });',
      'exports.NAMES = exports.B = exports.A = void 0;',
      'exports.twice = twice;',
      'exports.A = 1;',
      'exports.B = exports.A | 4;',
      'exports.NAMES = [',
      "    [exports.A, 'A'],",
      '];',
      'function twice(n) {',
      '    return n * exports.B;',
      '}',
      '',
    ].join('\n');
    const out = await literalExports(tsc, 'fixture.js');
    expect(out.split('\n')).toHaveLength(tsc.split('\n').length);
    const m = { exports: {} as Record<string, unknown> };
    new Function('exports', 'module', out)(m.exports, m);
    // tsc's order (its `void 0` chain sets the last name first); `__esModule` is added after the literal
    expect(Object.getOwnPropertyNames(m.exports)).toEqual(['A', 'B', 'NAMES', 'twice', '__esModule']);
    expect(m.exports).toEqual({ A: 1, B: 5, NAMES: [[1, 'A']], twice: expect.any(Function) });
    expect((m.exports.twice as (n: number) => number)(2)).toBe(10);
    expect(out).not.toContain('exports.A = 1;');
    await expect(literalExports(`const x = require("./x");\n${tsc}`, 'imports.js')).rejects.toThrow(/imports/);
  });

  it("keeps a re-export's getter (configurable, as tsc's chain left it) and refuses an import used otherwise", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nlkit-literal-'));
    try {
      writeFileSync(path.join(dir, 'x.js'), 'exports.X = 7;\n');
      const tsc = [
        '"use strict";',
        'Object.defineProperty(exports, "__esModule", { value: true });',
        'exports.B = exports.X = exports.A = void 0;',
        'var x_1 = require("./x");',
        'Object.defineProperty(exports, "X", { enumerable: true, get: function () { return x_1.X; } });',
        'exports.A = 1;',
        'exports.B = 2;',
        '',
      ].join('\n');
      const file = path.join(dir, 'constants.js');
      const out = await literalExports(tsc, file);
      writeFileSync(file, out);
      const built = createRequire(file)(file) as Record<string, unknown>;
      expect(built).toEqual({ A: 1, B: 2, X: 7 });
      expect(Object.getOwnPropertyDescriptor(built, 'X')).toMatchObject({ enumerable: true, configurable: true });
      const used = tsc.replace('exports.B = 2;', 'exports.B = x_1.X + 1;');
      await expect(literalExports(used, path.join(dir, 'used.js'))).rejects.toThrow(/imports/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
