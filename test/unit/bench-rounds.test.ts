// The paired-ratio targets (bench/lib/rounds.js): variants take turns round by round, and a target is judged
// on the rounds' own ratios, so a machine that slows down between two variants' runs does not decide it.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

interface Row {
  median: number;
  rounds?: number[];
}
interface Rounds {
  alternate(rounds: number, warmup: number, batches: ((round: number) => Promise<number[]>)[]): Promise<{ samples: number[]; rounds: number[] }[]>;
  roundsResult(entry: { samples: number[]; rounds: number[] }): Row & { samples: number[] };
  ratioAtMost(a: Row | undefined, b: Row | undefined, limit: number): { met: boolean; value: string };
  ratioAtLeast(a: Row | undefined, b: Row | undefined, limit: number): { met: boolean; value: string };
}
const { alternate, roundsResult, ratioAtMost, ratioAtLeast } = createRequire(import.meta.url)('../../bench/lib/rounds.js') as Rounds;

describe('bench rounds', () => {
  it('alternates the order round by round and drops the warm-up rounds', async () => {
    const order: string[] = [];
    const batch = (name: string, ms: number) => async (round: number) => {
      order.push(`${round}${name}`);
      return [ms + round, ms + round + 2];
    };
    const [a, b] = await alternate(3, 1, [batch('a', 10), batch('b', 20)]);
    expect(order).toEqual(['0a', '0b', '1b', '1a', '2a', '2b', '3b', '3a']);
    expect(a.rounds).toEqual([12, 13, 14]); // the median of [10 + r, 12 + r] for rounds 1..3
    expect(b.samples).toEqual([21, 23, 22, 24, 23, 25]);
  });

  it('judges the paired ratios: a machine slowing down between the two variants does not decide', () => {
    // The peer ran in fast and slow moments alike; each round, nlkit took 1.4× the peer of that round.
    const peer = roundsResult({ samples: [1, 1, 3, 3, 3], rounds: [1, 1, 3, 3, 3] });
    const own = roundsResult({ samples: [1.4, 1.4, 4.2, 1.4 * 3, 4.2], rounds: [1.4, 1.4, 4.2, 4.2, 4.2] });
    const verdict = ratioAtMost(own, peer, 1.5);
    expect(verdict.met).toBe(true);
    expect(verdict.value).toMatch(/^1\.40× \(paired, 5 alternated rounds: 1\.40–1\.40×; ratio of the medians 1\.40×\)$/);
    // Measured one after the other, nlkit in the slow minutes and the peer in the fast ones, the medians say 4.2×.
    expect(ratioAtMost({ median: 4.2 }, { median: 1 }, 1.5)).toEqual({ met: false, value: '4.20×' });
  });

  it('misses a real excess in every round', () => {
    const peer = roundsResult({ samples: [1, 2, 1], rounds: [1, 2, 1] });
    const own = roundsResult({ samples: [1.6, 3.4, 1.7], rounds: [1.6, 3.4, 1.7] });
    expect(ratioAtMost(own, peer, 1.5).met).toBe(false);
    expect(ratioAtMost(undefined, peer, 1.5)).toEqual({ met: false, value: 'not measured' });
  });

  it('judges rates the other way round: at least the limit in the median round', () => {
    const peer = roundsResult({ samples: [100, 200, 100], rounds: [100, 200, 100] });
    expect(ratioAtLeast(roundsResult({ samples: [120, 150, 130], rounds: [120, 150, 130] }), peer, 1).met).toBe(true);
    expect(ratioAtLeast(roundsResult({ samples: [90, 250, 95], rounds: [90, 250, 95] }), peer, 1).met).toBe(false);
  });
});
