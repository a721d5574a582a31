#!/usr/bin/env node
/**
 * Bundles the library in dist/ (the tsc output) into one file, dist/bundle/nlkit.bundle.js
 * (loaded by dist/bundle/nlkit.js), and writes one small entry file per package entry
 * point next to it (what package.json `exports` and bin/nlkit-cni.js load); the `nlkit`
 * command is a small bundle of its own, dist/bundle/cli.bundle.js (see CLI below).
 * Run by `npm run build:ts` after tsc.
 *
 * Why: Node spends most of `require('nlkit')` resolving, reading and compiling
 * ~200 small files; one file is read and compiled once (docs/performance.md,
 * "Start-up"). Why one bundle for every entry point: `nlkit`, `nlkit/netlink`
 * and `nlkit/genetlink` share classes (the errors): separate bundles would each
 * have their own NetlinkError and `instanceof` would fail across them.
 * Inside the bundle every module stays a lazily run function (esbuild's
 * CommonJS wrappers), so an entry point runs only the modules it requires.
 *
 * Adding an entry point of the library: add it to ENTRIES and point package.json
 * or the bin at dist/bundle/<name>.js.
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lazyBuiltin, lazyReexports } from './lazy-reexports.mjs';
import { literalExports, onlyConstants } from './literal-exports.mjs';
import { warmAttach } from './warm-attach.mjs';
import { addThreeDnat, warmConnection } from './warm-connection.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const outDir = path.join(dist, 'bundle');

/** entry name → the tsc output it stands for (relative to dist/): the library's entry points, which share one bundle. */
export const ENTRIES = {
  index: 'index.js',
  netlink: 'netlink/index.js',
  genetlink: 'genetlink/index.js',
  cni: 'cni/main.js',
};

/**
 * The `nlkit` command has a small bundle of its own, dist/bundle/cli.bundle.js (lib/cli only, loaded by cli.js): `nlkit --help`, `--version`
 * and a wrong command line never read the library's 1.6 MB. What it imports from the library (the networks layer,
 * the errors) is taken from the one library bundle when first used, so a class is the same class on both sides.
 */
const CLI = 'cli/main.js';

/**
 * Modules besides the entry points whose imports become lazy (scripts/lazy-reexports.mjs): an
 * import is required when the module first uses it. Only modules whose imports have no side effects
 * the module relies on at load: the handle (h.nft: nftables is over half of the modules, required
 * on first use), the network manager (its firewall, the layer's only user of nftables), the records
 * (a listing loads what it reads: the networks, or the publications too) and every module of the CLI
 * (loading a command's definition must not load the library it runs).
 */
const LAZY_IMPORTS = [
  'handle.js',
  'network/manager.js',
  'network/attachments.js',
  'network/records.js',
  ...readdirSync(path.join(dist, 'cli'))
    .filter((f) => f.endsWith('.js'))
    .map((f) => `cli/${f}`),
];

// The entry points' re-exports become lazy in dist/ itself (so the unbundled files and the bundle load the same).
for (const file of new Set([...Object.values(ENTRIES), ...LAZY_IMPORTS])) {
  const full = path.join(dist, file);
  writeFileSync(full, lazyReexports(readFileSync(full, 'utf8')));
}

// crypto (~5 ms to load) is required where first used, in every module: the networks layer hashes names with it,
// which a listing of the state never does.
for (const file of readdirSync(dist, { recursive: true })) {
  if (!file.endsWith('.js') || file.startsWith('bundle/')) continue;
  const full = path.join(dist, file);
  const source = readFileSync(full, 'utf8');
  if (source.includes('require("node:crypto")')) writeFileSync(full, lazyBuiltin(source, 'node:crypto'));
}

// The constants modules (without imports, or importing only what they re-export) build their exports as one object literal instead of
// tsc's store per export: they load on every first call of their family (scripts/literal-exports.mjs).
for (const file of readdirSync(dist, { recursive: true })) {
  if (path.basename(file) !== 'constants.js' || file.startsWith('bundle/')) continue;
  const full = path.join(dist, file);
  const source = readFileSync(full, 'utf8');
  if (onlyConstants(source)) writeFileSync(full, literalExports(source, full));
}

mkdirSync(outDir, { recursive: true });
const require = createRequire(import.meta.url);

/** What both bundles are built with. ASCII only: see {@link asciiOnly}. */
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  // Dependencies stay ordinary requires (node-gyp-build finds the addon from the package root).
  packages: 'external',
  sourcemap: 'linked',
  legalComments: 'none',
  charset: 'ascii',
  logLevel: 'warning',
};

/** Library modules the build itself takes from the bundle (`lib(file)`, as the CLI's imports): the addon's loader, for the warm-ups' stand-in (scripts/warm-connection.mjs, warm-attach.mjs). */
const BUILD_IMPORTS = ['native/binding.js'];

// The CLI bundle first: it tells which library modules the CLI imports (each becomes `lib("<file>")` of the library bundle).
const cliImports = new Set();
await build({
  ...common,
  entryPoints: [path.join(dist, CLI)],
  outfile: path.join(outDir, 'cli.bundle.js'),
  plugins: [
    {
      name: 'library-from-its-bundle',
      setup(b) {
        b.onResolve({ filter: /^\./ }, (args) => {
          if (args.namespace === 'nlkit-lib') return { path: args.path, external: true };
          const full = require.resolve(path.resolve(args.resolveDir, args.path));
          const file = path.relative(dist, full);
          if (file.startsWith('cli/')) return undefined; // the CLI itself
          // package.json (for --version), read when asked: dist/bundle/ is as deep as dist/cli/, so the path is the same
          if (file.startsWith('..')) return { path: args.path, external: true };
          cliImports.add(file);
          return { path: file, namespace: 'nlkit-lib' };
        });
        b.onLoad({ filter: /.*/, namespace: 'nlkit-lib' }, (args) => ({
          contents: `module.exports = require('./nlkit.js').load('cli').lib(${JSON.stringify(args.path)});`,
          resolveDir: outDir,
          loader: 'js',
        }));
      },
    },
  ],
});

// One entry module whose exports load each entry point on demand, and `lib(file)`: the library modules the CLI imports.
const loader = [
  ...Object.entries(ENTRIES).map(([name, file]) => `exports[${JSON.stringify(name)}] = () => require(${JSON.stringify('./' + file)});`),
  `const LIB = { ${[...new Set([...cliImports, ...BUILD_IMPORTS])].map((f) => `${JSON.stringify(f)}: () => require(${JSON.stringify('./' + f)})`).join(', ')} };`,
  'exports.lib = (file) => LIB[file]();',
].join('\n');

await build({
  ...common,
  stdin: { contents: loader, resolveDir: dist, sourcefile: 'entries.js', loader: 'js' },
  outfile: path.join(outDir, 'nlkit.bundle.js'),
});

for (const file of ['cli.bundle.js', 'nlkit.bundle.js']) asciiOnly(path.join(outDir, file));

// dist/native/binding.js finds the addon two directories above itself; the bundle must sit as deep.
if (path.relative(root, outDir).split(path.sep).length !== 2) throw new Error('bundle: dist/bundle must be two levels below the package root');

copyFileSync(path.join(root, 'scripts', 'bundle-loader.cjs'), path.join(outDir, 'nlkit.js'));
// What bin/nlkit.js loads: the command's bundle, with its code cache (it loads the library bundle when a command needs it).
writeFileSync(
  path.join(outDir, 'cli.js'),
  `'use strict';\n// Generated by scripts/bundle.mjs: the nlkit command (cli.bundle.js, with its code cache).\nmodule.exports = require('./nlkit.js').command();\n`,
);

for (const [name, file] of Object.entries(ENTRIES)) {
  // The export names, listed literally so that `import { open } from 'nlkit'` works: Node's ESM loader
  // finds the names of a CommonJS module by reading its source (cjs-module-lexer) and never runs `0 && ...`.
  const names = Object.keys(require(path.join(dist, file))).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== 'default');
  // The bundle itself is read and compiled when the first export is read: a bare require costs a few
  // small files, as the lazy re-exports of dist/ do (the platform check still runs at once).
  const body = [
    `'use strict';`,
    `// Generated by scripts/bundle.mjs: the ${name} entry point; the one bundle is loaded on first use.`,
    `Object.defineProperty(exports, '__esModule', { value: true });`,
    `require('../native/binding.js').assertLinux();`,
    `let loaded;`,
    `const load = () => loaded || (loaded = require('./nlkit.js').load('lib')[${JSON.stringify(name)}]());`,
    `for (const name of ${JSON.stringify(names)}) Object.defineProperty(exports, name, { enumerable: true, get: () => load()[name] });`,
    `0 && (module.exports = { ${names.join(', ')} });`,
    '',
  ].join('\n');
  writeFileSync(path.join(outDir, `${name}.js`), body);
}

/**
 * Makes sure a bundle is ASCII (esbuild escapes strings and names; a comment it keeps may still hold
 * an em dash). One non-ASCII character makes V8 hold the whole source as two bytes a character: reading
 * it (utf8 decoding) and compiling it cost twice as much. ASCII lets the loader read it as latin1 (a copy).
 */
function asciiOnly(file) {
  const text = readFileSync(file, 'utf8');
  // eslint-disable-next-line no-control-regex
  const ascii = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (ascii !== text) writeFileSync(file, ascii);
}

// The V8 code cache: compiled after every entry point has run once, so it holds the functions
// that loading runs (not the ones an operation runs later, which V8 compiles when first called).
const cacheFile = path.join(outDir, 'nlkit.bundle.cache');
rmSync(cacheFile, { force: true });
const loaded = require(path.join(outDir, 'nlkit.js')).load('lib');
for (const name of Object.keys(ENTRIES)) loaded[name]();
// The link family's modules (h.links), which the routes no longer load (they take link-ref.ts and link-names.ts).
void loaded.index().linkOps;
warmNftables(loaded.index());
await warmNftCommit(loaded.index());
warmRouteDump(loaded.index());
warmRouteWrites(loaded.index());
warmRouteRows(loaded.index());
// The connection path a first request runs (open(), the pool round, the tracker, a short-lived handle's rounds), over a made-up kernel.
await warmConnection({ nlkit: loaded.index(), binding: loaded.lib('native/binding.js') });
// A process's one attach (a CNI plugin, `nlkit net attach`): networks(), create, attach, detach, CNI ADD and DEL over a made-up host.
await warmAttach({ nlkit: loaded.index(), cni: loaded.cni(), binding: loaded.lib('native/binding.js') });
writeFileSync(cacheFile, loaded.__script.createCachedData());

// The nlkit command's cache, made in a process of its own: V8 shares compiled functions between scripts of one
// source in a process, so this one would hold everything compiled above (scripts/bundle-cli-cache.cjs).
execFileSync(process.execPath, [path.join(root, 'scripts', 'bundle-cli-cache.cjs'), outDir], { stdio: 'inherit' });

/**
 * Runs the rule builder and the nftables encoders once (a transaction encoded, nothing sent), so
 * the cache holds their bytecode too: a process whose first work is a commit (a CLI, a CNI plugin)
 * then does not parse and compile them (bench/notes.md, "The first 1,000-rule commit").
 */
function warmNftables({ nft, rule, not }) {
  const tx = new nft.Transaction();
  const table = { family: 'inet', table: 'warm' };
  tx.addTable({ family: 'inet', name: 'warm' });
  tx.addChain({ ...table, name: 'pre', type: 'nat', hook: 'prerouting', priority: 'dstnat' });
  tx.addChain({ ...table, name: 'post', type: 'nat', hook: 'postrouting', priority: 'srcnat' });
  tx.addChain({ ...table, name: 'in', type: 'filter', hook: 'input', priority: 0, policy: 'accept' });
  tx.addRule({ ...table, chain: 'pre', rule: rule().tcp({ dport: 8080 }).dnat({ to: '10.0.0.2', port: 80 }) });
  tx.addRule({ ...table, chain: 'pre', rule: rule().ip({ daddr: '10.0.0.1' }).udp({ dport: 53 }).dnat({ to: '10.0.0.3' }) });
  tx.addRule({ ...table, chain: 'post', rule: rule().ip({ saddr: '10.0.0.0/24' }).oifname(not('br0')).masquerade() });
  tx.addRule({
    ...table,
    chain: 'in',
    rule: rule()
      .ct({ state: ['established', 'related'] })
      .accept(),
  });
  tx.addRule({
    ...table,
    chain: 'in',
    rule: rule()
      .iifname('lo')
      .tcp({ dport: [22, 80] })
      .counter()
      .drop(),
  });
  addThreeDnat(tx, rule, table);
  for (let i = 0; i < 3; i++) tx.addRule({ ...table, chain: 'in', rule: rule().iifname(`veth${i}`).mark(i).udp({ dport: 53 }).accept().comment(`warm ${i}`) });
  tx.encode();
}

/**
 * Commits a transaction of `h.nft` the way a first commit does, on a made-up connection that answers
 * the batch as the kernel would (the generation; with echoes, each echoed message with a handle), so the
 * cache holds `h.nft` itself (its families made), commit, the batch written in place and the results:
 * a process whose first work is a commit does not compile them (bench/notes.md, "fresh-commit3").
 * Once without echoes (`echo: 'none'`, a CLI's or a CNI plugin's commit) and once with the default.
 */
async function warmNftCommit({ nft, rule }) {
  const NLM_F_ECHO = 8;
  const NFNL_SUBSYS_NFTABLES = 10;
  // The handle attribute of each echoed message (lib/nftables/constants.ts): table, chain, rule.
  const HANDLE_ATTR = { 0: 4, 3: 2, 6: 3 };
  const attribute = (type, be64) => {
    const a = Buffer.alloc(12);
    a.writeUInt16LE(12, 0);
    a.writeUInt16LE(type, 2);
    a.writeBigUInt64BE(be64, 4);
    return a;
  };
  const conn = {
    execute(call) {
      const b = call.message;
      // NFT_MSG_NEWGEN with NFTA_GEN_ID (a be32), then the echoes, as the kernel sends them.
      const gen = Buffer.alloc(12);
      gen.writeUInt16LE(8, 4);
      gen.writeUInt16LE(1, 6);
      gen.writeUInt32BE(7, 8);
      const replies = [{ type: (NFNL_SUBSYS_NFTABLES << 8) | 15, flags: 0, seq: 0, pid: 0, payload: gen }];
      // No connection numbered the batch (its sequence numbers are 0): an echo's is its message's index.
      for (let at = 0, index = 0, handle = 1n; at < b.length; at += (b.readUInt32LE(at) + 3) & ~3, index++) {
        const type = b.readUInt16LE(at + 4);
        if (!(b.readUInt16LE(at + 6) & NLM_F_ECHO) || type >> 8 !== NFNL_SUBSYS_NFTABLES) continue;
        const payload = Buffer.concat([b.subarray(at + 16, at + b.readUInt32LE(at)), attribute(HANDLE_ATTR[type & 0xff], handle++)]);
        replies.push({ type, flags: 0, seq: index, pid: 0, payload });
      }
      return Promise.resolve(replies);
    },
  };
  const api = new nft.Nftables(conn, -1);
  for (const echo of ['none', undefined]) {
    const tx = api.transaction();
    const table = { family: 'ip', table: 'warm' };
    tx.addTable({ family: 'ip', name: 'warm' });
    tx.addChain({ ...table, name: 'pre', type: 'nat', hook: 'prerouting', priority: 'dstnat' });
    addThreeDnat(tx, rule, table);
    const { results, generation } = await tx.commit(echo ? { echo } : undefined);
    if (generation !== 7 || results.length !== 5 || (echo === undefined && results[4].handle !== 5))
      throw new Error('bundle: warmNftCommit is out of date with lib/nftables/transaction.ts (the results of a commit)');
  }
}

/**
 * Decodes a few made-up routes the way `routes.list()` collects a dump (its operation stepped by
 * hand: the dump request's `collectAt` on each message, no socket), so the cache holds the route
 * decoder and the list operation too: a process whose first work is a dump does not compile them
 * (bench/notes.md, "Route dump: parts as they arrive").
 */
function warmRouteDump({ routeOps }) {
  const op = routeOps.list();
  const call = op.next().value;
  // rtmsg (AF_INET, /32, main, boot, link scope, unicast) + RTA_TABLE, RTA_DST, RTA_OIF, RTA_GATEWAY
  const b = Buffer.alloc(12 + 4 * 8);
  b.set([2, 32, 0, 0, 254, 3, 253, 1]);
  [15, 1, 4, 5].forEach((type, i) => {
    b.writeUInt16LE(8, 12 + i * 8);
    b.writeUInt16LE(type, 14 + i * 8);
    b.set([10, 64, i, 1], 16 + i * 8);
  });
  for (let i = 0; i < 3; i++) call.collectAt(24, b, 0, b.length);
  op.next([]);
}

/**
 * Writes single route adds, replaces and deletes of the common shapes the way a tick's ack group
 * does (each request in place into a buffer, then its outcome), and plans one of another shape, so
 * the cache holds the single-call write path: a process whose first work is a route churn does not
 * compile it (bench/notes.md, "fresh-churn"). Nothing is sent.
 */
function warmRouteWrites({ routeOps }) {
  const buf = Buffer.alloc(1024);
  const routes = [
    { dst: '10.64.0.1/32', link: 1 },
    { dst: '10.64.0.0/24', gateway: '10.0.0.1' },
    { dst: 'default', gateway: '10.0.0.1', link: 1 },
  ];
  for (let i = 0; i < 3; i++) {
    for (const r of routes) {
      for (const op of [routeOps.add(r), routeOps.replace(r), routeOps.delete(r, i === 1 ? { missingOk: true } : undefined)]) {
        const settled = op.promise();
        settled.catch(() => undefined);
        if (op.writeAt(buf, 0) < 0) throw new Error('bundle: a common route shape was not written in place');
        op.describe();
        op.complete(undefined, []);
      }
    }
  }
  routeOps.add({ dst: '10.64.1.0/24', link: 1, metric: 10 }).next();
}

/**
 * The same for the rows a connection hands a route dump's `collectRows` (lib/rtnetlink/route-rows.ts):
 * made-up rows of the two shapes it builds itself (no gateway; a gateway), so the cache holds that
 * loop too (bench/notes.md, "The first route dump of a new process").
 */
function warmRouteRows({ routeOps }) {
  const op = routeOps.list();
  const { collectRows } = op.next().value;
  // nlmsghdr, rtmsg (AF_INET, /32, main, boot, link scope, unicast), RTA_TABLE, RTA_DST, RTA_OIF, RTA_GATEWAY
  const b = Buffer.alloc(16 + 12 + 4 * 8);
  b.set([2, 32, 0, 0, 254, 3, 253, 1], 16);
  [15, 1, 4, 5].forEach((type, i) => {
    b.writeUInt16LE(8, 28 + i * 8);
    b.writeUInt16LE(type, 30 + i * 8);
    b.set(type === 15 ? [254, 0, 0, 0] : [10, 64, i, 1], 32 + i * 8);
  });
  // Rows: payload start and end, type, flags, then the data offsets of dst, oif, gateway, priority,
  // prefsrc, table, pref, cacheinfo (-1: absent). The second row has the gateway.
  const row = (gateway) => [16, b.length, 24, 0, 40, 48, gateway, -1, -1, 32, -1, -1];
  const rows = Int32Array.from([...row(-1), ...row(-1), ...row(56), ...row(56)]);
  if (collectRows.stride !== 12) throw new Error('bundle: warmRouteRows is out of date with lib/rtnetlink/route-rows.ts');
  const out = [];
  for (let i = 0; i < 3; i++) collectRows.collect(b, rows, 4, out);
  // The list then names its routes' link: read on the connection's socket (a linkNames step, lib/rtnetlink/link-names.ts),
  // answered here with "warm0", so the cache holds that step too. (The dump is answered with the message itself: only
  // a connection marks an array of rows' routes as collected.)
  const step = op.next([{ type: 24, flags: 0, seq: 0, pid: 0, payload: b.subarray(16) }]).value;
  if (step?.kind !== 'linkNames' || step.indexes.length !== 1) throw new Error('bundle: warmRouteRows expected the link-name step');
  step.settle(new Map([[step.indexes[0], 'warm0']]));
  const named = op.next([]);
  if (!named.done || named.value[0]?.linkName !== 'warm0') throw new Error('bundle: warmRouteRows did not name the routes');
}
