/**
 * Makes a tsc-compiled (CommonJS) module of constants build its exports as one object literal
 * (bundle.mjs applies it to the constants modules in dist/, before bundling).
 *
 * Why: tsc compiles `export const A = 1;` to `exports.A = 1;` after a chain that first sets every
 * export to `void 0`. A module of 300 constants runs 600 stores, each of a new property at a
 * bytecode site run once: each misses its inline cache in the interpreter, and the first 128 make a
 * hidden class apiece. rtnetlink/constants.js cost ~1.5 ms of a new process's first route dump
 * (bench/notes.md, "fresh-dump2"). A literal of constant values is one boilerplate copy.
 *
 * The module is run as tsc made it, and the new text is made from what it exported: every export
 * whose value is a number, string or boolean is a property of the literal, with its value; the rest
 * (arrays, maps, functions) are `void 0` there, in their place, and keep the statements that set
 * them (which read `exports.A`: `exports` is the literal). The single-line `exports.A = <expr>;`
 * statements of the literal's values and the `void 0` chains become empty lines (the source map's lines
 * still hold). Same names, same order, same values, except that `__esModule` (not enumerable) and the
 * getters of re-exports (`export { A } from './x'`) are defined after the literal: redefining a property of an object this big turns it into a
 * dictionary (V8's slow mode), and every warm read of a constant would then be a hash lookup; adding
 * one leaves it fast. {@link assertSameExports} checks the result; test/unit/literal-exports.test.ts
 * checks each module of dist/ still has fast properties.
 */
import assert from 'node:assert/strict';
import Module from 'node:module';

const VOID_CHAIN = /^exports\.\w+ = (?:exports\.\w+ = )*void 0;\n/gm;
const ESMODULE = 'Object.defineProperty(exports, "__esModule", { value: true });\n';
const ASSIGNMENT = /^exports\.(\w+) = [^\n]*;\n/gm;
const MARK = '// literal-exports: ';
/** tsc's re-export of another module's constant: `export { A } from './x'` (a getter, kept as it is). */
const REEXPORT = /^Object\.defineProperty\(exports, "\w+", \{ enumerable: true, get: function \(\) \{ return (\w+)\.\w+; \} \}\);$/gm;
const REQUIRE_VAR = /^var (\w+) = require\("[^"]+"\);$/gm;

/**
 * Whether a module is one of constants: no imports, or imports used only by tsc's re-exports (their getters
 * stay; the module they read is loaded as before).
 * @param {string} source tsc output
 */
export function onlyConstants(source) {
  const reexported = new Set([...source.matchAll(REEXPORT)].map((m) => m[1]));
  const rest = source.replace(REEXPORT, '').replace(REQUIRE_VAR, (line, name) => (reexported.has(name) ? '' : line));
  return !/\brequire\(/.test(rest) && !rest.includes('_1.');
}

/**
 * @param {string} source tsc output of a module of constants ({@link onlyConstants})
 * @param {string} filename where it lies (for errors)
 * @returns {string} the same module with its exports as one literal (`source` itself if done already)
 */
export function literalExports(source, filename) {
  if (source.includes(MARK)) return source;
  if (!onlyConstants(source)) throw new Error(`literal-exports: ${filename} imports; only modules of constants`);
  if (!source.includes(ESMODULE)) throw new Error(`literal-exports: ${filename} is not tsc's output of an ES module`);
  const original = run(source, filename);
  const literal = new Set();
  const properties = Object.getOwnPropertyNames(original)
    .filter((name) => name !== '__esModule' && !Object.getOwnPropertyDescriptor(original, name).get)
    .map((name) => {
      const value = original[name];
      const text = primitive(value);
      if (text === undefined) return `${JSON.stringify(name)}: void 0`;
      literal.add(name);
      return `${JSON.stringify(name)}: ${text}`;
    });
  const body = source
    .replace(VOID_CHAIN, '\n')
    .replace(ASSIGNMENT, (statement, name) => (literal.has(name) ? '\n' : statement))
    // tsc's chain made a re-export a data property first, then its getter: configurable, as it was.
    .replace(REEXPORT, (statement) => statement.replace('{ enumerable: true, get:', '{ enumerable: true, configurable: true, get:'))
    .replace(
      ESMODULE,
      `exports = module.exports = { ${properties.join(', ')} }; ` +
        'Object.defineProperty(exports, "__esModule", { value: true }); ' +
        `${MARK}tsc's stores as one literal (scripts/literal-exports.mjs)\n`,
    );
  assertSameExports(original, run(body, filename), filename);
  return body;
}

/** The literal's text of a value, or undefined for one that stays a statement. */
function primitive(value) {
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number' && Number.isFinite(value) && !Object.is(value, -0)) return String(value);
  return undefined;
}

/** Runs a CommonJS module's text, returning its exports. */
function run(source, filename) {
  const m = new Module(filename);
  m.filename = filename;
  m._compile(source, filename);
  return m.exports;
}

/**
 * The same own properties with the same attributes and values (functions and getters: the same text), the data
 * properties in the same order (`__esModule` and re-exports' getters are defined after the literal in `b`).
 */
export function assertSameExports(a, b, filename) {
  const names = Object.getOwnPropertyNames(a);
  const ordered = (o) => Object.getOwnPropertyNames(o).filter((n) => n !== '__esModule' && !Object.getOwnPropertyDescriptor(o, n).get);
  assert.deepEqual(ordered(b), ordered(a), `literal-exports: ${filename}: other names or order`);
  assert.deepEqual(Object.getOwnPropertyNames(b).sort(), [...names].sort(), `literal-exports: ${filename}: other names`);
  for (const name of names) {
    const [da, db] = [Object.getOwnPropertyDescriptor(a, name), Object.getOwnPropertyDescriptor(b, name)];
    const same = (x, y) => (typeof x === 'function' ? typeof y === 'function' && String(x) === String(y) : (assert.deepStrictEqual(x, y), true));
    assert.ok(
      da.enumerable === db.enumerable &&
        da.writable === db.writable &&
        da.configurable === db.configurable &&
        same(da.value, db.value) &&
        same(da.get, db.get) &&
        same(da.set, db.set),
      `literal-exports: ${filename}: export ${name} differs`,
    );
  }
}
