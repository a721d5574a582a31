'use strict';
/** What the numbers were measured on. */
const os = require('node:os');
const { execFileSync } = require('node:child_process');

function tryRun(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function machineInfo() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0] ? cpus[0].model.trim() : 'unknown',
    cores: cpus.length,
    kernel: os.release(),
    node: process.version,
    iproute2: tryRun('ip', ['-V']),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    commit: tryRun('git', ['-C', __dirname, 'rev-parse', '--short', 'HEAD']),
  };
}

module.exports = { machineInfo };
