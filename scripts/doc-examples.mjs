#!/usr/bin/env node
// Lists the public functions and methods reachable from the package's entry
// points (lib/index.ts for `nlkit`, and the subpaths package.json "exports"
// names, e.g. lib/netlink/index.ts for `nlkit/netlink`) that have no
// `@example` in their doc comment: exported functions, public methods
// of exported classes, and the members of exported operation tables
// (`linkOps` and friends, which become `h.links.*`). Also follows the
// `nft` namespace export. Exits 1 when something is missing and `--strict`
// is given. Usage: node scripts/doc-examples.mjs [--strict]
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

// Each "exports" subpath with its declaration file mapped back to its source:
// "./netlink" -> ./dist/netlink/index.d.ts -> lib/netlink/index.ts (the
// "default" files are the start-up bundle's entry points, not tsc's output).
function entryPoints() {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const entries = [];
  for (const [subpath, target] of Object.entries(pkg.exports ?? { '.': pkg.main })) {
    const dts = typeof target === 'string' ? target.replace(/\.js$/, '.d.ts') : target.types;
    if (!dts?.startsWith('./dist/') || !dts.endsWith('.d.ts')) continue; // ./package.json
    const source = path.join(root, 'lib', dts.slice('./dist/'.length, -'.d.ts'.length) + '.ts');
    if (!fs.existsSync(source)) throw new Error(`exports["${subpath}"]: no source ${path.relative(root, source)}`);
    entries.push({ name: path.posix.join(pkg.name, subpath), source });
  }
  return entries;
}

const entries = entryPoints();
const program = ts.createProgram(
  entries.map((e) => e.source),
  { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, strict: true, skipLibCheck: true },
);
const checker = program.getTypeChecker();

const missing = [];
const seen = new Set();

function tags(decl) {
  return ts.getJSDocTags(decl).map((t) => t.tagName.text);
}
function isInternal(decl) {
  return tags(decl).includes('internal');
}
function hasExample(decl) {
  return tags(decl).includes('example');
}
function where(decl) {
  const sf = decl.getSourceFile();
  const { line } = sf.getLineAndCharacterOfPosition(decl.getStart());
  return `${path.relative(root, sf.fileName)}:${line + 1}`;
}
// The body of an overloaded function or method: callers only see the
// overload signatures, which carry the docs and examples.
function isOverloadImplementation(decl, siblings) {
  if (!decl.body) return false;
  const name = decl.name?.getText();
  return siblings.some((d) => d !== decl && !d.body && d.name?.getText() === name);
}
function check(name, decl) {
  const key = `${decl.getSourceFile().fileName}:${decl.pos}`;
  if (seen.has(key)) return;
  seen.add(key);
  if (isInternal(decl)) return;
  if (!hasExample(decl)) missing.push(`${name}  (${where(decl)})`);
}

function visitSymbol(sym, prefix) {
  const name = prefix + sym.getName(); // the exported name (`nft`, not the module's path)
  if (sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
  for (const decl of sym.getDeclarations() ?? []) {
    if (ts.isModuleDeclaration(decl) || ts.isSourceFile(decl)) {
      for (const s of checker.getExportsOfModule(sym)) visitSymbol(s, `${name}.`);
    } else if (ts.isFunctionDeclaration(decl)) {
      if (!isOverloadImplementation(decl, sym.getDeclarations() ?? [])) check(name, decl);
    } else if (ts.isClassDeclaration(decl)) {
      if (isInternal(decl)) continue;
      for (const m of decl.members) {
        if (!(ts.isMethodDeclaration(m) || ts.isGetAccessorDeclaration(m))) continue;
        const mods = ts.getCombinedModifierFlags(m);
        if (mods & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
        if (!m.name || ts.isPrivateIdentifier(m.name) || ts.isComputedPropertyName(m.name)) continue;
        if (ts.isGetAccessorDeclaration(m)) continue; // properties: a description is enough
        if (isOverloadImplementation(m, decl.members)) continue;
        check(`${name}.${m.name.getText()}`, m);
      }
    } else if (ts.isVariableDeclaration(decl) && decl.initializer && ts.isObjectLiteralExpression(decl.initializer)) {
      for (const p of decl.initializer.properties) {
        if (ts.isMethodDeclaration(p) || ts.isPropertyAssignment(p)) check(`${name}.${p.name.getText()}`, p);
      }
    }
  }
}

// Names are prefixed with the subpath (`nlkit/netlink: NetlinkWriter.u32`);
// a declaration reachable from several entries is reported once.
for (const { name, source } of entries) {
  const mod = checker.getSymbolAtLocation(program.getSourceFile(source));
  const prefix = name === 'nlkit' ? '' : `${name}: `;
  for (const s of checker.getExportsOfModule(mod)) visitSymbol(s, prefix);
}
for (const m of missing.sort()) console.log(m);
console.error(`${missing.length} public functions/methods without @example`);
if (process.argv.includes('--strict') && missing.length) process.exit(1);
