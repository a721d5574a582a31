'use strict';
/**
 * The services benchmarks' common ground: N services applied in a namespace
 * made for the run, and one change repeated on the middle service (its 10
 * endpoints moved back and forth, `cutFlows: false`), which is what
 * services-set-cpu.js, services-set-alloc.js and services-events-cpu.js time.
 */
const fs = require('node:fs');
const path = require('node:path');
const { serviceSpec } = require('../workloads/services');

/**
 * Opens `services()` in a new namespace (`nlbench-<pid>-<tag>`, NLBENCH_NS_PREFIX for another prefix
 * than `nlbench`: helpers sharing a machine tell theirs apart) with a state
 * directory on /dev/shm (or under STATE_BASE). `apply(n)` applies services s0…s(n-1); `change()`
 * changes the endpoints of s(n/2); `close()` deletes everything made.
 */
async function openServicesRun(dist, tag) {
  // NLKIT_ENTRY=bundle loads the package's entry (dist/bundle/index.js, with its code cache), as bench/run.js's
  // workloads do through require('nlkit'); the default is tsc's dist/index.js.
  const nl = require(path.resolve(dist, process.env.NLKIT_ENTRY === 'bundle' ? 'bundle/index.js' : 'index.js'));
  const host = `${process.env.NLBENCH_NS_PREFIX ?? 'nlbench'}-${process.pid}-${tag}`;
  // STATE_BASE=/tmp puts the state on the disk's file system (what bench/run.js's services workload uses), default tmpfs.
  const dir = fs.mkdtempSync(`${process.env.STATE_BASE ?? '/dev/shm'}/nlbench-${tag}-`);
  let svcs;
  let target;
  let middle = 0;
  let shift = 0;
  try {
    await nl.createNetns(host);
    svcs = await nl.services({ host, stateDir: dir });
  } catch (e) {
    await nl.deleteNetns(host, { missingOk: true });
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    nl,
    svcs,
    apply(n) {
      middle = Math.floor(n / 2);
      target = `s${middle}`;
      return svcs.apply(Array.from({ length: n }, (_, i) => serviceSpec(i)));
    },
    change() {
      shift = shift === 0 ? 10 : 0;
      return svcs.set(target, { endpoints: serviceSpec(middle, shift).endpoints }, { cutFlows: false });
    },
    async close() {
      svcs.close();
      await nl.deleteNetns(host, { missingOk: true });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

module.exports = { openServicesRun };
