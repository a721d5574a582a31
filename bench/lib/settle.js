'use strict';
/**
 * Waiting for the kernel to finish tearing down deleted network namespaces
 * before the next workload is measured. Deleting a namespace returns at once;
 * the kernel frees it later in `cleanup_net`, on the single-threaded `netns`
 * workqueue, and holds rtnl_lock for much of it (a namespace with 100,000
 * conntrack entries or thousands of links takes seconds). Every rtnetlink
 * change of the next workload (a veth for an attach) waits for that lock.
 *
 * The signal: a kworker executing work of the `netns` workqueue is named
 * `kworker/…+netns` in /proc/PID/comm while it runs (`-netns` once idle,
 * `R-netns` is the workqueue's rescuer). We wait until no such worker is seen
 * in several samples in a row (a queued cleanup may wait a moment for a
 * worker). bench/netns-teardown.js measured it against an rtnl_lock probe.
 */
const fs = require('node:fs');

/** Names of kworkers running netns work now (empty when the teardown is done). */
function netnsWorkers() {
  const busy = [];
  let pids;
  try {
    pids = fs.readdirSync('/proc');
  } catch {
    return busy;
  }
  for (const pid of pids) {
    if (pid.charCodeAt(0) > 57) continue; // not a pid (self, sys, ...)
    let comm;
    try {
      comm = fs.readFileSync(`/proc/${pid}/comm`, 'latin1');
    } catch {
      continue; // exited
    }
    if (comm.startsWith('kworker') && comm.includes('+netns')) busy.push(comm.trim());
  }
  return busy;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Resolves once no netns teardown has been seen running for `quietSamples`
 * samples `intervalMs` apart, or after `maxMs` (then `timedOut`). Returns the
 * time waited and whether a teardown was seen at all.
 */
async function waitForNetnsTeardown({ maxMs = 180000, intervalMs = 50, quietSamples = 4 } = {}) {
  const t0 = Date.now();
  let quiet = 0;
  let seen = false;
  while (quiet < quietSamples) {
    if (Date.now() - t0 > maxMs) return { waitedMs: Date.now() - t0, seen, timedOut: true };
    if (netnsWorkers().length > 0) {
      seen = true;
      quiet = 0;
    } else quiet++;
    await sleep(intervalMs);
  }
  return { waitedMs: Date.now() - t0, seen, timedOut: false };
}

module.exports = { netnsWorkers, waitForNetnsTeardown };
