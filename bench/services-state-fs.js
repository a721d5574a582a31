'use strict';
/**
 * What the file work of one services change costs on a file system:
 * `node bench/services-state-fs.js [DIR ...]` (default /tmp and /dev/shm).
 * In a new directory under each DIR, times COUNT (default 1,500) rounds of
 * the steps a `svcs.set()` takes besides the kernel: the record replaced by
 * nlkit's `writeFileAtomic` (a new temporary file renamed over it), that
 * rename alone, a rename to a new name for comparison, the lock file opened,
 * checked and closed, the record read, and an intent-journal append. Prints
 * p50/p90/p99/p99.9/max in µs with the file system type and the load. On ext4
 * (`auto_da_alloc`) a rename over an existing file starts writing the new
 * file's data out first; on tmpfs nothing is written out (bench/notes.md,
 * "Services: the set() p99 — where the wall time went").
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const dist = process.env.NLKIT_DIST ?? path.join(__dirname, '..', 'dist');
const { writeFileAtomic, readStateFile } = require(path.resolve(dist, 'network', 'file-lock.js'));
const COUNT = Number(process.env.COUNT ?? 1500);
const { O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW, O_APPEND } = fs.constants;
const FS_NAMES = { 0xef53: 'ext4', 0x01021994: 'tmpfs', 0x9123683e: 'btrfs', 0x58465342: 'xfs', 0x794c7630: 'overlayfs' };

function measure(base) {
  const dir = fs.mkdtempSync(path.join(base, 'nlbench-statefs-'));
  try {
    const record = path.join(dir, 's.json');
    const text = JSON.stringify({ name: 's', pad: 'x'.repeat(1000) }); // a record of 10 endpoints is ~1 KB
    writeFileAtomic(record, text);
    const journal = fs.openSync(path.join(dir, 'journal.log'), O_WRONLY | O_CREAT | O_APPEND, 0o600);
    const steps = {
      writeFileAtomic: [],
      'rename over a file': [],
      'rename to a new name': [],
      'lock file open+fstat+close': [],
      'record read': [],
      'journal append': [],
    };
    const time = (name, fn) => {
      const t = process.hrtime.bigint();
      fn();
      steps[name].push(Number(process.hrtime.bigint() - t) / 1e3);
    };
    const tmpWith = (name) => {
      const fd = fs.openSync(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      fs.writeFileSync(fd, text);
      fs.closeSync(fd);
    };
    for (let i = 0; i < COUNT; i++) {
      time('writeFileAtomic', () => writeFileAtomic(record, text));
      const tmp = path.join(dir, `.s.json.${i}.tmp`);
      tmpWith(tmp);
      time('rename over a file', () => fs.renameSync(tmp, record));
      tmpWith(tmp);
      const fresh = path.join(dir, `new-${i}.json`);
      time('rename to a new name', () => fs.renameSync(tmp, fresh));
      fs.unlinkSync(fresh);
      time('lock file open+fstat+close', () => {
        const fd = fs.openSync(path.join(dir, 'lock'), O_RDWR | O_CREAT | O_NOFOLLOW, 0o600);
        fs.fstatSync(fd);
        fs.closeSync(fd);
      });
      time('record read', () => readStateFile(record));
      time('journal append', () => fs.writeSync(journal, '{"t":"begin","id":"1","record":{"op":"publish"}}\n'));
    }
    fs.closeSync(journal);
    const type = fs.statfsSync(dir).type;
    console.log(`${base} (${FS_NAMES[type] ?? `0x${type.toString(16)}`}), ${COUNT} rounds, load ${os.loadavg()[0].toFixed(1)}, µs:`);
    for (const [name, v] of Object.entries(steps)) {
      v.sort((a, b) => a - b);
      const p = (q) => v[Math.min(v.length - 1, Math.floor(q * v.length))].toFixed(0);
      console.log(`  ${name.padEnd(28)} p50 ${p(0.5)}, p90 ${p(0.9)}, p99 ${p(0.99)}, p99.9 ${p(0.999)}, max ${v[v.length - 1].toFixed(0)}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

for (const base of process.argv.length > 2 ? process.argv.slice(2) : ['/tmp', '/dev/shm']) measure(base);
