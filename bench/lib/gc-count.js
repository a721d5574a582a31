'use strict';
/**
 * Counts the collections V8 makes from now until `stop()` (scavenges and mark-compacts, with their pause
 * times), for the bench scripts that report them per call: `const gc = countGcs(); …; gc.stop(); gc.counts`.
 */
const { PerformanceObserver, constants } = require('node:perf_hooks');

function countGcs() {
  const counts = { minor: 0, major: 0, minorMs: 0, majorMs: 0 };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = e.detail?.kind ?? e.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) (counts.minor++, (counts.minorMs += e.duration));
      else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) (counts.major++, (counts.majorMs += e.duration));
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  return { counts, stop: () => obs.disconnect() };
}

module.exports = { countGcs };
