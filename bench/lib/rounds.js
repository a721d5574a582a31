'use strict';
/**
 * Same-run ratios that the machine's drift does not decide.
 *
 * A ratio of two medians measured one after the other (nlkit's runs, then the
 * peer's) carries whatever the machine did between them: on the shared VM the
 * same peer moved 1.3–3.3 ms within one workload, and the ratio of a target
 * moved with it from run to run (bench/notes.md, "Paired ratios"). Here the
 * variants of a comparison take turns: each round runs one batch of every
 * variant, back to back, in an order that alternates round by round
 * (A B, B A, ...), and a target is judged on the median of the rounds' own
 * ratios. The ratio of the medians is still reported beside it.
 */
const { median, summarize } = require('./stats');

/**
 * Runs `rounds` rounds of `batches` (async functions of the round number, each
 * resolving to that batch's samples), alternating their order; the first
 * `warmup` rounds are dropped. Resolves to one entry per batch:
 * `{ samples, rounds }`, all kept samples and each kept round's median.
 */
async function alternate(rounds, warmup, batches) {
  const kept = batches.map(() => ({ samples: [], rounds: [] }));
  for (let r = 0; r < warmup + rounds; r++) {
    const order = batches.map((_, i) => (r % 2 === 0 ? i : batches.length - 1 - i));
    for (const i of order) {
      const samples = await batches[i](r);
      if (r < warmup) continue;
      kept[i].samples.push(...samples);
      kept[i].rounds.push(median(samples));
    }
  }
  return kept;
}

/** `{ ...summarize(samples), rounds }` for ctx.record(): the row as before, with the rounds' medians. */
function roundsResult(entry) {
  return { ...summarize(entry.samples), rounds: entry.rounds };
}

/** The per-round ratios a / b of two results recorded from one alternate() (undefined without rounds). */
function pairedRatios(a, b) {
  if (!a?.rounds || !b?.rounds || a.rounds.length !== b.rounds.length || a.rounds.length === 0) return undefined;
  return a.rounds.map((x, i) => x / b.rounds[i]);
}

/**
 * A target "a ≤ limit × b" judged on the median of the paired per-round
 * ratios; the value names it, its range and the ratio of the medians. Results
 * without rounds (an older record) fall back to the ratio of the medians.
 */
function ratioAtMost(a, b, limit) {
  if (!a || !b) return { met: false, value: 'not measured' };
  const ofMedians = a.median / b.median;
  const paired = pairedRatios(a, b);
  if (!paired) return { met: ofMedians <= limit, value: `${ofMedians.toFixed(2)}×` };
  const s = summarize(paired);
  return { met: s.median <= limit, value: describe(s, paired.length, ofMedians) };
}

/** The same for rates: a target "a ≥ limit × b", judged on the paired per-round ratios a / b. */
function ratioAtLeast(a, b, limit) {
  if (!a || !b) return { met: false, value: 'not measured' };
  const ofMedians = a.median / b.median;
  const paired = pairedRatios(a, b);
  if (!paired) return { met: ofMedians >= limit, value: `${ofMedians.toFixed(2)}×` };
  const s = summarize(paired);
  return { met: s.median >= limit, value: describe(s, paired.length, ofMedians) };
}

function describe(s, rounds, ofMedians) {
  return `${s.median.toFixed(2)}× (paired, ${rounds} alternated rounds: ${s.min.toFixed(2)}–${s.max.toFixed(2)}×; ratio of the medians ${ofMedians.toFixed(2)}×)`;
}

module.exports = { alternate, roundsResult, pairedRatios, ratioAtMost, ratioAtLeast };
