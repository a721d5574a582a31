#!/usr/bin/env node
// No file in lib/ above 500 lines without a reason written at its top: a
// file that long usually holds more than one concept. A file may stay long
// when its leading comment has a line starting with "Long file:" that says
// why. Exits 1 listing the files that are long without one.
// Usage: node scripts/check-file-sizes.mjs [--max N]
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const maxArg = process.argv.indexOf('--max');
const MAX_LINES = maxArg > 0 ? Number(process.argv[maxArg + 1]) : 500;

/** Files exempt while other work is under way: path → reason. Keep it empty when you can. */
const PENDING = {};

function* sources(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* sources(p);
    else if (e.name.endsWith('.ts')) yield p;
  }
}

/** The comment block(s) before the first statement. */
function leadingComment(text) {
  const m = /^(?:\s*(?:\/\*[\s\S]*?\*\/|\/\/[^\n]*\n))+/.exec(text);
  return m ? m[0] : '';
}

const offenders = [];
let long = 0;
for (const file of sources(path.join(root, 'lib'))) {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  if (lines <= MAX_LINES) continue;
  long++;
  const rel = path.relative(root, file);
  if (/^\s*(\*|\/\/)\s*Long file:\s*\S/m.test(leadingComment(text))) continue;
  if (PENDING[rel]) {
    console.log(`${rel}: ${lines} lines (exempt for now: ${PENDING[rel]})`);
    continue;
  }
  offenders.push(`${rel}: ${lines} lines`);
}

if (offenders.length) {
  console.error(`Files in lib/ over ${MAX_LINES} lines without a "Long file:" reason in their leading comment:`);
  for (const o of offenders) console.error(`  ${o}`);
  console.error('Split the file along its seams, or say at its top why it is one piece.');
  process.exit(1);
}
console.log(`file sizes: ${long} file(s) in lib/ over ${MAX_LINES} lines, each with a reason`);
