'use strict';
/**
 * Fresh-process measurements: the work done once in a brand-new node process,
 * as a CLI, a CNI plugin or a script meets it (no JIT warm-up, no caches).
 * Each sample is one new process running a bench/fresh/*.js script (see
 * lib/fresh-child.js); the child times its own work and the runner also times
 * the whole process (start, load, work, exit).
 */
const path = require('node:path');
const { spawn } = require('node:child_process');
const { MARK } = require('./fresh-child');

/** Runs `node [--cpu-prof] script args...`; resolves with the child's report and the process's wall time. */
function runFreshProcess(script, args, { cpuProfDir, env } = {}) {
  const nodeArgs = cpuProfDir
    ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=${path.basename(script, '.js')}-${process.pid}-${Date.now()}.cpuprofile`]
    : [];
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [...nodeArgs, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: path.join(__dirname, '..', '..'), env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const processMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const line = stdout.split('\n').find((l) => l.startsWith(MARK));
      if (code !== 0 || !line) return reject(new Error(`${path.basename(script)} ${args.join(' ')}: exit ${code}: ${stderr || stdout}`));
      resolve({ ...JSON.parse(line.slice(MARK.length)), processMs });
    });
  });
}

/** Runs any command as one fresh process and resolves with its wall time in ms (start-up workloads). */
function timeProcess(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: path.join(__dirname, '..', '..'), ...options });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${stderr}`)),
    );
  });
}

const CPU_AT_EXIT = path.join(__dirname, 'cpu-at-exit.js');

/** Runs `node -r cpu-at-exit.js ARGS...` once; resolves with its wall time and the CPU time it reported (ms). */
function timeNodeProcess(args, options = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, ['-r', CPU_AT_EXIT, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      cwd: path.join(__dirname, '..', '..'),
      ...options,
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const cpu = /NLBENCH-CPU ([\d.]+)/.exec(stderr);
      if (code !== 0 || !cpu) return reject(new Error(`node ${args.join(' ')}: exit ${code}: ${stderr}`));
      resolve({ wallMs, cpuMs: Number(cpu[1]) });
    });
  });
}

module.exports = { runFreshProcess, timeProcess, timeNodeProcess };
