'use strict';
/**
 * Start-up of the nlkit command, for A/B runs of builds on a busy machine:
 * `node bench/startup-cpu.js [OLD/dist] [dist]` (default: this checkout's dist/).
 * Each build runs as the installed bin does (`require(DIST/bundle/cli.js).main(argv)`,
 * from a bin file written next to nothing else, the same for every build) as new
 * processes, taking turns with bare `node FILE` (an empty file: what a bin pays before
 * its first line): `--help`, and `net ls` in a namespace this script creates (deleted
 * afterwards) on an empty state directory and on one with two networks, a sandbox and
 * a published port (made once with the last build given; records only, no kernel state
 * besides the namespace's bridges). ROUNDS=n rounds (default 15), one process of each
 * variant per round; medians and ranges of the CPU time each process reports at exit
 * (user + system, all threads: bench/lib/cpu-at-exit.js), with the wall time, which
 * the load moves much more.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { timeNodeProcess } = require('./lib/fresh');

const ROUNDS = Number(process.env.ROUNDS) || 15;
const dists = (process.argv.length > 2 ? process.argv.slice(2) : [path.join(__dirname, '..', 'dist')]).map((d) => path.resolve(d));

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nlbench-startup-'));
  const ns = `nlbench-${process.pid}-start`;
  const empty = path.join(work, 'empty');
  const full = path.join(work, 'full');
  try {
    fs.mkdirSync(empty, { mode: 0o700 });
    fs.mkdirSync(full, { mode: 0o700 });
    const bare = path.join(work, 'bare.js');
    fs.writeFileSync(bare, '');
    const bins = dists.map((dist, i) => {
      const bin = path.join(work, `bin${i}.js`);
      fs.writeFileSync(
        bin,
        `'use strict';\nrequire(${JSON.stringify(path.join(dist, 'bundle', 'cli.js'))}).main(process.argv.slice(2)).then((code) => { process.exitCode = code; });\n`,
      );
      return bin;
    });
    execFileSync('ip', ['netns', 'add', ns]);
    const last = bins[bins.length - 1];
    const cli = (...args) => execFileSync(process.execPath, [last, '--host', ns, '--state-dir', full, ...args], { stdio: 'pipe' });
    cli('net', 'create', 'web', '--subnet', '10.77.0.0/24');
    cli('net', 'create', 'db', '--subnet', '10.76.0.0/24');
    cli('attach', 'web', `${ns}-c1`, '--create');
    cli('publish', 'web', '8080:80', '--to', `${ns}-c1`);

    const variants = [{ name: 'bare `node FILE`', args: [bare] }];
    for (const [i, bin] of bins.entries()) {
      const label = dists.length > 1 ? `${i === 0 ? 'old' : 'new'} ` : '';
      variants.push(
        { name: `${label}nlkit --help`, args: [bin, '--help'] },
        { name: `${label}nlkit net ls (none)`, args: [bin, 'net', 'ls', '--host', ns, '--state-dir', empty] },
        { name: `${label}nlkit net ls (2 networks)`, args: [bin, 'net', 'ls', '--host', ns, '--state-dir', full] },
      );
    }
    const cpu = variants.map(() => []);
    const wall = variants.map(() => []);
    for (let round = -1; round < ROUNDS; round++) {
      for (const [i, v] of variants.entries()) {
        const r = await timeNodeProcess(v.args);
        if (round < 0) continue; // the page cache, not the JIT: every process is new
        cpu[i].push(r.cpuMs);
        wall[i].push(r.wallMs);
      }
    }
    console.log(
      `load ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}; ${ROUNDS} rounds; builds: ${dists.join(', ')}`,
    );
    console.log(`${'variant'.padEnd(34)} CPU ms median (min-max), added to bare   wall ms median`);
    for (const [i, v] of variants.entries()) {
      const c = stats(cpu[i]);
      const d = c.median - stats(cpu[0]).median;
      const added = i === 0 ? '' : `  ${d >= 0 ? '+' : ''}${d.toFixed(1)}`;
      console.log(`${v.name.padEnd(34)} ${c.median.toFixed(1)} (${c.min.toFixed(1)}-${c.max.toFixed(1)})${added}   ${stats(wall[i]).median.toFixed(1)}`);
    }
  } finally {
    // the sandbox namespace attach created, then the host namespace (its bridges and veths go with it)
    for (const name of [`${ns}-c1`, ns]) {
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      } catch {
        // not created
      }
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[s.length >> 1], min: s[0], max: s[s.length - 1] };
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
