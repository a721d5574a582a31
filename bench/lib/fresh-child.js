'use strict';
/**
 * The child side of ctx.fresh(): a script run in a brand-new node process.
 * It loads nlkit, prepares (untimed: open a handle, build the input), does the
 * work once (timed) and prints one line the runner reads. This file is loaded
 * before nlkit and is not part of the load time.
 *
 *   require('../lib/fresh-child').freshChild(async (nlkit, args) => {
 *     const h = await nlkit.open({ netns: args[0] });
 *     return { work: () => ..., close: () => h.close() };
 *   });
 */
const MARK = 'NLBENCH-FRESH ';

const now = () => process.hrtime.bigint();
const msSince = (t) => Number(now() - t) / 1e6;

async function freshChild(prepare) {
  const t0 = now();
  const nlkit = require('nlkit');
  const loadMs = msSince(t0);
  const t1 = now();
  const { work, close } = await prepare(nlkit, process.argv.slice(2));
  const prepareMs = msSince(t1);
  const t2 = now();
  await work();
  const workMs = msSince(t2);
  if (close) await close();
  process.stdout.write(`${MARK}${JSON.stringify({ loadMs, prepareMs, workMs, uptimeMs: process.uptime() * 1e3 })}\n`);
}

module.exports = { freshChild, MARK };
