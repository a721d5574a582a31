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
  const listings = [['net', 'ls'], ['net', 'ls', '--json'], ['ls'], ['publications'], ['net', 'inspect', 'web']];
  try {
    // first on no records, then on made-up ones (a network with a sandbox and a published port): both paths are compiled
    for (const records of [false, true]) {
      if (records) await makeUpRecords(stateDir);
      for (const argv of listings) {
        const code = await main([...argv, '--state-dir', stateDir], io);
        // without records, `net inspect web` fails (no such network): its error path is warmed too
        if (code !== (!records && argv[1] === 'inspect' ? 1 : 0)) throw new Error(`nlkit ${argv.join(' ')}: exit ${code}: ${stderr}`);
      }
    }
  } finally {
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

/** Records one network, one attachment and one publication in the state directory (nothing is made in the kernel). */
async function makeUpRecords(stateDir) {
  const store = require(path.join(outDir, 'nlkit.js')).load('cli').lib('network/records.js').openStateStore({ stateDir });
  await store.update((s) => {
    const net = { name: 'web', bridge: 'nlk-web', subnet: '10.88.0.0/24', gateway: '10.88.0.1', internal: false, isolate: true, masquerade: true, group: 1 };
    s.networks.web = { ...net, created: new Date(0).toISOString() };
    s.attachments.web = {
      c1: {
        network: 'web',
        id: 'c1',
        sandboxPath: '/run/netns/c1',
        sandboxName: 'c1',
        ownsSandbox: true,
        ifname: 'eth0',
        hostIfname: 'nv000000000001',
        mac: '02:00:00:00:00:01',
        ipv4: '10.88.0.2/24',
      },
    };
    s.publications['tcp:8080'] = {
      key: 'tcp:8080',
      network: 'web',
      protocol: 'tcp',
      hostPort: 8080,
      backends: [{ id: 'c1', ipv4: '10.88.0.2', port: 80, weight: 1 }],
    };
  });
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
