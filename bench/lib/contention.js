'use strict';
/**
 * --contention: one CPU-bound process per core for the whole run, so every
 * number is measured on a machine whose cores are all busy (as on a loaded
 * host). The hogs are plain `node -e 'for (;;);'` processes this runner
 * starts, and stops by their pid (also on ^C and on exit).
 */
const os = require('node:os');
const { spawn } = require('node:child_process');

const hogs = [];

function startHogs(count = os.cpus().length) {
  for (let i = 0; i < count; i++) hogs.push(spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' }));
  return hogs.length;
}

/** Synchronous: also called from the exit and signal handlers. */
function stopHogs() {
  for (const child of hogs.splice(0)) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

module.exports = { startHogs, stopHogs };
