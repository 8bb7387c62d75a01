import { describe, expect, it } from 'vitest';

describe('examples/custom-sampler', () => {
  it('registers heun, swaps samplers by name and every sampler lands on the data mean', async () => {
    const mod = await import(/* @vite-ignore */ new URL('../index.mjs', import.meta.url).href);
    const lines: string[] = [];
    const results: { name: string; calls: number; mean: number; std: number }[] = await mod.main(
      (l: string) => lines.push(l),
    );
    expect(lines[0]).toContain('heun');
    expect(results.map((r) => r.name)).toEqual(['pingpong', 'euler', 'dpmpp', 'rk4', 'heun']);
    // calls: 8 (pingpong), 8 (euler), 8 (dpmpp), 4×4 (rk4), 2×6 − 1 (heun skips t = 0)
    expect(results.map((r) => r.calls)).toEqual([8, 8, 8, 16, 11]);
    for (const r of results) {
      expect(Math.abs(r.mean - 0.5)).toBeLessThan(0.02);
      expect(r.std).toBeGreaterThan(0.05);
      expect(r.std).toBeLessThan(0.22);
    }
    // rk4 solves the probability-flow ODE accurately: the data spread is recovered
    expect(Math.abs(results[3]!.std - 0.2)).toBeLessThan(0.01);
  });
});
