'use strict';
/**
 * Writes the code caches of the nlkit command (see scripts/bundle-loader.cjs): cli.bundle.cache for its own
 * bundle and nlkit.bundle.cli.cache for the library bundle as the command loads it. They hold the functions
 * its help and its listings run, compiled by running them once here as the command does: `--help`, a wrong
 * command line, and on an empty state directory of its own `net ls`, `ls`, `publications`, `net inspect` (a
 * listing reads the records only, no socket: nothing of the machine is read or changed but that directory).
 * Run by scripts/bundle.mjs in a process of its own. Usage: node scripts/bundle-cli-cache.cjs DIST/bundle
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const outDir = path.resolve(process.argv[2]);
const cacheFile = path.join(outDir, 'nlkit.bundle.cli.cache');
const commandCacheFile = path.join(outDir, 'cli.bundle.cache');
fs.rmSync(cacheFile, { force: true });
fs.rmSync(commandCacheFile, { force: true });

async function warm() {
  const { main } = require(path.join(outDir, 'cli.js'));
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlkit-cli-cache-'));
  let stderr = '';
  const io = { stdout: { write: () => true }, stderr: { write: (s) => (stderr += s) }, env: {} };
  for (const [argv, expected] of [
    [['--help'], 0],
    [['net', 'ls', '--help'], 0],
    [['net', 'frobnicate'], 2],
  ]) {
    const code = await main(argv, io);
    if (code !== expected) throw new Error(`nlkit ${argv.join(' ')}: exit ${code}: ${stderr}`);
  }
  try {
    for (const argv of [['net', 'ls'], ['net', 'ls', '--json'], ['ls'], ['publications'], ['net', 'inspect', 'none']]) {
      const code = await main([...argv, '--state-dir', stateDir], io);
      // `net inspect none` fails (no such network): its error path is warmed too
      if (code !== (argv[1] === 'inspect' ? 1 : 0)) throw new Error(`nlkit ${argv.join(' ')}: exit ${code}: ${stderr}`);
    }
  } finally {
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

function write() {
  const loader = require(path.join(outDir, 'nlkit.js'));
  fs.writeFileSync(commandCacheFile, loader.command().__script.createCachedData());
  fs.writeFileSync(cacheFile, loader.load('cli').__script.createCachedData());
}

warm().then(write, (e) => {
  // Without the addon (not built yet) the state lock cannot be taken: the caches then hold what loading compiled.
  if (!/No native build was found/.test(String(e && e.message))) throw e;
  process.stderr.write('bundle-cli-cache: no addon, the command caches hold loading and --help only\n');
  write();
});
