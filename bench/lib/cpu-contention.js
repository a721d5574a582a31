'use strict';
/**
 * CPU contention for a measurement: one busy-looping process per CPU
 * (`node -e 'for(;;){}'`), started before and killed after, so nlkit and the
 * peers are measured on a machine whose every core has something else to run.
 */
const os = require('node:os');
const { spawn } = require('node:child_process');

/** Runs `fn` with a CPU hog on every core; the hogs always end with it. */
async function withCpuHogs(fn) {
  const hogs = [];
  for (let i = 0; i < os.availableParallelism(); i++) hogs.push(spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
  try {
    await new Promise((r) => setTimeout(r, 200)); // let them get going
    return await fn();
  } finally {
    for (const hog of hogs) hog.kill('SIGKILL');
  }
}

module.exports = { withCpuHogs };
