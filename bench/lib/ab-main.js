'use strict';
/**
 * The command line of the alternated A/B scripts (bench/fresh-dump-cpu.js, bench/fresh-churn-cpu.js):
 * `node SCRIPT [ROOT...]` re-runs SCRIPT in a new network namespace (`unshare -n`) with
 * `--in-namespace ROOT...` (default: this checkout), which starts one `--child ROOT` process per build
 * and round.
 */
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

/** Dispatches `process.argv` of `script` to `child(root)` or `inNamespace(roots)`, or starts the namespace. */
function abMain(script, child, inNamespace) {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === '--child') {
    child(args[0]).catch((e) => {
      console.error(e);
      process.exit(1);
    });
    return;
  }
  if (mode === '--in-namespace') {
    inNamespace(args);
    return;
  }
  const roots = [mode, ...args].filter(Boolean).map((d) => path.resolve(d));
  if (roots.length === 0) roots.push(path.join(__dirname, '..', '..'));
  console.log(
    `load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  execFileSync('unshare', ['-n', process.execPath, script, '--in-namespace', ...roots], { stdio: 'inherit' });
}

module.exports = { abMain };
