'use strict';
// Runs a delegated CNI plugin (an IPAM plugin such as host-local): the CNI
// protocol is to exec it with the caller's environment and configuration.
// This lives in bin/, not lib/, because lib/ never starts processes.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

/** The plugin binary `type` in CNI_PATH, as libcni finds it. */
function findPlugin(type) {
  if (!/^[A-Za-z0-9._-]+$/.test(type)) throw new Error(`ipam.type ${JSON.stringify(type)} is not a plugin name`);
  for (const dir of (process.env.CNI_PATH || '').split(':').filter(Boolean)) {
    const file = path.join(dir, type);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`plugin ${type} not found in CNI_PATH (${process.env.CNI_PATH || ''})`);
}

/** @type {import('../dist/cni/main.js').PluginRunner} */
function runPlugin(type, command, stdin) {
  return new Promise((resolve, reject) => {
    const child = spawn(findPlugin(type), [], { env: { ...process.env, CNI_COMMAND: command }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ exitCode: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.end(stdin);
  });
}

module.exports = { runPlugin, findPlugin };
