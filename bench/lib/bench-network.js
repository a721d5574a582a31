'use strict';
/**
 * The setting of the attach/detach A/B scripts (attach-cpu.js, attach-phases.js,
 * detach-cpu.js): a host namespace, `n` sandbox namespaces and a network `b`
 * (10.78.0.0/16) whose state lives on /dev/shm (tmpfs), all removed by close(),
 * which the caller runs in a `finally` (also after a failure here).
 * Names: nlbench-[NS_TAG-]PID-TAG-h and -sI (NS_TAG: the session running it,
 * when several share the machine).
 */
const fs = require('node:fs');

async function openBenchNetwork(nl, tag, n) {
  const prefix = `nlbench-${process.env.NS_TAG ? `${process.env.NS_TAG}-` : ''}${process.pid}-${tag}`;
  const env = {
    host: `${prefix}-h`,
    sandboxes: Array.from({ length: n }, (_, i) => `${prefix}-s${i}`),
    dir: fs.mkdtempSync('/dev/shm/nlbench-state-'),
    nets: undefined,
    async close() {
      env.nets?.close();
      for (const s of env.sandboxes) await nl.deleteNetns(s, { missingOk: true });
      await nl.deleteNetns(env.host, { missingOk: true });
      fs.rmSync(env.dir, { recursive: true, force: true });
    },
  };
  try {
    await nl.createNetns(env.host);
    for (const s of env.sandboxes) await nl.createNetns(s);
    env.nets = await nl.networks({ host: env.host, stateDir: env.dir });
    await env.nets.create({ name: 'b', subnet: '10.78.0.0/16' });
  } catch (e) {
    await env.close();
    throw e;
  }
  return env;
}

module.exports = { openBenchNetwork };
