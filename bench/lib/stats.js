'use strict';
/** Small statistics helpers for the benchmark runner. */

function sorted(xs) {
  return xs.slice().sort((a, b) => a - b);
}

function median(xs) {
  if (xs.length === 0) return NaN;
  const s = sorted(xs);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function summarize(samples) {
  const s = sorted(samples);
  return { median: median(s), min: s[0], max: s[s.length - 1], samples };
}

/** Least-squares slope of y over x (units of y per unit of x). */
function slope(xs, ys) {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

module.exports = { median, summarize, slope };
