'use strict';
/**
 * Time per operation along a soak. The run is cut into segments (the usage
 * samples between them are not timed); each segment keeps its CPU time per
 * operation (`process.cpuUsage()`: every thread of the process, the kernel's
 * work in our system calls included, other processes' load not) and its median
 * wall time per cycle. Drift is the last segment against the first, and the
 * least-squares slope over all segments.
 */
const { median, slope } = require('./stats');

/**
 * Tolerance of the drift targets: the last segment within 1.1× the first, and the fitted line within
 * +10 % over the run (on a quiet machine segments scatter a few per cent; a leak that costs work per
 * operation grows without bound, so over 20 segments it shows as a slope well outside both).
 * The first definition also passed a fitted line above +10 % when its slope was within two standard
 * errors of flat: the noisier the run, the larger the standard error, so noise alone made a real
 * drift pass (segments scattering ±30 %, as the handle soak's do under load, let +24 % through). That
 * verdict is still printed in the target's value ("old rule"), not used.
 */
const LAST_OVER_FIRST = 1.1;
const FITTED_CHANGE = 0.1;

/** Collects one soak's segments: start() before a segment, cycle(ns) after each timed cycle, end(opsSoFar) after the segment. */
class SegmentClock {
  constructor(cyclesPerSegment, opsPerCycle) {
    this.opsPerCycle = opsPerCycle;
    // Preallocated: the clock itself must not add to the RSS it sits beside.
    this.walls = new Float64Array(cyclesPerSegment + 1);
    this.n = 0;
    this.segments = [];
    this.busyNs = 0n;
  }

  start() {
    this.n = 0;
    this.cpu0 = process.cpuUsage();
    this.t0 = process.hrtime.bigint();
  }

  /** One cycle took `ns` of wall time. */
  cycle(ns) {
    if (this.n < this.walls.length) this.walls[this.n++] = ns;
  }

  /** Ends a segment; `opsDone`: operations done since the soak began (the segment's right edge). */
  end(opsDone) {
    const wallNs = process.hrtime.bigint() - this.t0;
    const cpu = process.cpuUsage(this.cpu0);
    this.busyNs += wallNs;
    const cycles = this.n;
    const ops = cycles * this.opsPerCycle;
    const walls = Array.from(this.walls.subarray(0, cycles));
    this.segments.push({
      // the segment's midpoint, in operations
      at: opsDone - ops / 2,
      cpuUs: (cpu.user + cpu.system) / ops,
      systemUs: cpu.system / ops,
      wallMedianUs: median(walls) / 1e3 / this.opsPerCycle,
      wallMeanUs: Number(wallNs) / 1e3 / ops,
    });
  }
}

/** Slope, its standard error, and the fitted line's change over the run as a fraction of the mean. */
function fit(xs, ys) {
  const n = xs.length;
  const s = slope(xs, ys);
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let rss = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    rss += (ys[i] - (my + s * (xs[i] - mx))) ** 2;
    sxx += (xs[i] - mx) ** 2;
  }
  const se = n > 2 && sxx > 0 ? Math.sqrt(rss / (n - 2) / sxx) : NaN;
  return { slope: s, se, change: (s * (xs[n - 1] - xs[0])) / my, mean: my };
}

/** The spread of the segments around their fitted line (the residuals' standard deviation, as a fraction of the mean). */
function spread(xs, ys) {
  const f = fit(xs, ys);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const res = ys.map((y, i) => y - (f.mean + f.slope * (xs[i] - mx)));
  return Math.sqrt(res.reduce((a, b) => a + b * b, 0) / Math.max(1, xs.length - 2)) / f.mean;
}

/**
 * Records a soak's drift rows (`${key}: CPU per op, ...` and `${key}: wall median per op, ...`) in `group`.
 * `per`: the operation count the slope is given per (10,000 cycles, 100,000 route operations).
 */
function recordDrift(ctx, { group, key, segments, opName, per, rewarm }) {
  const xs = segments.map((s) => s.at);
  const perLabel = per.toLocaleString('en-US');
  const value = (variant, v, unit, note, samples = [v], extra) =>
    ctx.record({
      ...extra,
      group,
      variant: `${key}: ${variant}`,
      kind: 'value',
      unit,
      median: samples.length > 1 ? median(samples) : v,
      min: Math.min(...samples),
      max: Math.max(...samples),
      samples,
      note,
    });
  for (const [label, field, how] of [
    ['CPU per op', 'cpuUs', 'process.cpuUsage() over the segment ÷ its operations (all threads, kernel time of its system calls included)'],
    ['wall median per op', 'wallMedianUs', `median of the segment's ${opName} wall times ÷ operations per ${opName}`],
  ]) {
    const ys = segments.map((s) => s[field]);
    const f = fit(xs, ys);
    ctx.log(`  ${key}: ${label} by segment (µs): ${ys.map((y) => y.toPrecision(3)).join(' ')}`);
    if (field === 'cpuUs') ctx.log(`  ${key}: of which system (kernel) time: ${segments.map((x) => x.systemUs.toPrecision(3)).join(' ')}`);
    const after = rewarm ? `; each segment after the sample's forced GC starts after ${rewarm} untimed ${opName}s` : '';
    value(`${label}, each segment`, median(ys), 'µs', `${segments.length} segments; ${how}${after}`, ys);
    value(`${label}, first segment`, ys[0], 'µs');
    value(`${label}, last segment`, ys[ys.length - 1], 'µs');
    value(`${label}, last ÷ first`, ys[ys.length - 1] / ys[0], '×');
    value(
      `${label}, slope`,
      f.slope * per,
      `µs per ${perLabel} ops`,
      `least squares over the ${segments.length} segments' midpoints; standard error ±${(f.se * per).toPrecision(2)}; segments scatter ±${(spread(xs, ys) * 100).toFixed(1)} % around the line`,
      undefined,
      { se: f.se * per },
    );
    value(`${label}, fitted change over the run`, f.change * 100, '%', 'the fitted line from the first segment to the last, against the mean');
  }
}

/** The target row: CPU per operation does not drift upward (wall figures shown beside it). */
function driftTarget(key, what) {
  return {
    text: `${what} soak: CPU time per operation does not drift upward (last segment ≤ ${LAST_OVER_FIRST}× the first, fitted line ≤ +${FITTED_CHANGE * 100} % over the run)`,
    evaluate: (r) => {
      const ratio = r(`${key}: CPU per op, last ÷ first`);
      const change = r(`${key}: CPU per op, fitted change over the run`);
      const slopeRow = r(`${key}: CPU per op, slope`);
      const wallRatio = r(`${key}: wall median per op, last ÷ first`);
      const wallChange = r(`${key}: wall median per op, fitted change over the run`);
      if (!ratio || !change || !slopeRow) return { met: false, value: 'not measured' };
      const pct = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)} %`;
      const wall = wallRatio && wallChange ? `; wall median ${wallRatio.median.toFixed(2)}×, ${pct(wallChange.median)}` : '';
      const lastOk = ratio.median <= LAST_OVER_FIRST;
      // The first definition's verdict, shown beside (see FITTED_CHANGE): a slope within 2 standard errors also passed.
      const oldMet = lastOk && (change.median <= FITTED_CHANGE * 100 || slopeRow.median <= 2 * slopeRow.se);
      return {
        met: lastOk && change.median <= FITTED_CHANGE * 100,
        value:
          `CPU last ÷ first ${ratio.median.toFixed(2)}×, fitted ${pct(change.median)} (slope ${(slopeRow.median / slopeRow.se).toFixed(1)} standard errors)${wall}` +
          `; old rule (or slope within 2 standard errors): ${oldMet ? 'met' : 'missed'}`,
      };
    },
    limit:
      'upward drift means work per operation grows with the operations done: a structure that grows and is searched or copied, a heap that grows (longer GCs), a state file that grows, or kernel state left behind.',
  };
}

module.exports = { SegmentClock, recordDrift, driftTarget, fit, LAST_OVER_FIRST, FITTED_CHANGE };
