'use strict';
// Preloaded (`node -r`) into start-up processes: prints the process's CPU time (user + system) at exit,
// which a busy machine distorts far less than wall time. One small file, the same for every variant.
process.on('exit', () => {
  const { user, system } = process.cpuUsage();
  process.stderr.write(`\nNLBENCH-CPU ${(user + system) / 1000}\n`);
});
