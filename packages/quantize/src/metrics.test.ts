import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  computeMetrics,
  cosineSimilarity,
  klDivergence,
  METRICS,
  medianDiffRatio,
  mse,
  snr,
} from './metrics';

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/aeq-metrics.json', import.meta.url), 'utf8'),
) as {
  name: string;
  target: (number | string)[];
  reference: (number | string)[];
  metrics: Record<string, number>;
}[];
const num = (a: (number | string)[]) =>
  a.map((x) => (typeof x === 'number' ? x : x === 'nan' ? Number.NaN : x === 'inf' ? Infinity : -Infinity));

describe('metrics (reference: AEQ validation_utils, fixtures/aeq-metrics.json)', () => {
  for (const c of fixture) {
    it(c.name, () => {
      const got = computeMetrics(num(c.target), num(c.reference));
      for (const m of METRICS) {
        const want = c.metrics[m]!;
        // AEQ computes in float32 with numpy's pairwise sums; we sum in float64.
        expect(Math.abs(got[m]! - want)).toBeLessThanOrEqual(Math.abs(want) * 2e-5 + 1e-9);
      }
    });
  }

  it('hand-computed values', () => {
    expect(mse([1, 2, 3], [1, 2, 5])).toBeCloseTo(4 / 3, 12);
    expect(medianDiffRatio([2, 2, 2], [1, 2, 4])).toBeCloseTo(0.5, 5); // ratios 1, 0, 0.5
    expect(cosineSimilarity([1, 0], [0, 1])).toBe(0);
    expect(cosineSimilarity([0, 0], [0, 0])).toBe(1);
    expect(cosineSimilarity([0, 0], [1, 0])).toBe(0);
    expect(klDivergence([1, 1], [1, 1])).toBe(0);
    expect(snr([1, 1], [1, 1])).toBeCloseTo(1e9, 0);
    expect(mse([], [])).toBe(0);
    expect(() => mse([1], [1, 2])).toThrow(/differ in size/);
  });
});
