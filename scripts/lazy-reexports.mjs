/**
 * Makes the re-exports of a tsc-compiled (CommonJS) entry point lazy: a module
 * it re-exports from is required the first time one of its exports is read,
 * not when the entry point is loaded. `require('nlkit')` then costs only what
 * the caller uses (bundle.mjs applies it to the entry points in dist/, before bundling).
 *
 * tsc compiles `export { a } from './m'` to
 *   var m_1 = require("./m");
 *   Object.defineProperty(exports, "a", { enumerable: true, get: function () { return m_1.a; } });
 * and `export * as ns from './m'` to `exports.ns = __importStar(require("./m"));`.
 * The first becomes a memoised loader function (`m_1` reads call it), the second
 * an accessor. `export * from` (__exportStar) must know the names, so it stays eager.
 * The same rewrite makes a module's own imports lazy (`import { C } from './m'`
 * compiles to the same `require` line): `m` loads when the module first uses `C`.
 */
const REQUIRE_LINE = /^(?:var|const|let) (\w+) = require\(("\.[^"]+")\);$/gm;
const NAMESPACE_LINE = /^exports\.(\w+) = (__importStar\(require\("\.[^"]+"\)\));$/gm;

/** @param {string} source tsc output of an entry point @returns {string} */
export function lazyReexports(source) {
  return lazyRequires(source, REQUIRE_LINE).replace(
    NAMESPACE_LINE,
    (_, name, load) =>
      `var ${name}$ns; Object.defineProperty(exports, "${name}", { enumerable: true, get: function () { return ${name}$ns || (${name}$ns = ${load}); } });`,
  );
}

/**
 * Makes a Node built-in that is slow to load required on first use, the same way (`import { createHash }
 * from 'node:crypto'` compiles to `const node_crypto_1 = require("node:crypto");`). crypto costs ~5 ms of a
 * new process; a module that imports it for one function (a hash of a name) must not charge that to every
 * process that loads the module.
 * @param {string} source tsc output @param {string} builtin e.g. "node:crypto" @returns {string}
 */
export function lazyBuiltin(source, builtin) {
  return lazyRequires(source, new RegExp(`^(?:var|const|let) (\\w+) = require\\(("${builtin}")\\);$`, 'gm'));
}

/** Rewrites the `require` lines `line` matches (the variable, the module) into memoised loaders. */
function lazyRequires(source, line) {
  const names = [];
  let out = source.replace(line, (_, name, path) => {
    names.push(name);
    return `var ${name}$loaded; function ${name}$() { return ${name}$loaded || (${name}$loaded = require(${path})); }`;
  });
  // parenthesised: `new m_1.C()` must become `new (m_1$()).C()`, not `(new m_1$()).C()`
  for (const name of names) out = out.replace(new RegExp(`\\b${name}\\.`, 'g'), `(${name}$()).`);
  return out;
}
