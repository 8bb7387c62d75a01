import { describe, expect, it } from 'vitest';
import { cfgGuidance } from './guidance';

const invalid = expect.objectContaining({ code: 'INVALID_ARGUMENT' });

describe('cfgGuidance', () => {
  const cond = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const uncond = Float32Array.from([0, 1, 1, 2, 6, 3]);

  it('scale 1 needs no unconditional call and returns cond', () => {
    const g = cfgGuidance({ scale: 1 });
    expect(g.needsUncond(0.5)).toBe(false);
    expect(g.combine(cond, uncond, 0.5)).toBe(cond);
  });

  it('out = uncond + (cond − uncond)·scale', () => {
    const g = cfgGuidance({ scale: 3 });
    expect(g.needsUncond(0.3)).toBe(true);
    expect(Array.from(g.combine(cond, uncond, 0.3))).toEqual([3, 4, 7, 8, 3, 12]);
  });

  it('only inside the interval', () => {
    const g = cfgGuidance({ scale: 3, interval: [0.2, 0.8] });
    expect(g.needsUncond(0.9)).toBe(false);
    expect(g.needsUncond(0.1)).toBe(false);
    expect(g.needsUncond(0.2)).toBe(true);
    expect(g.combine(cond, uncond, 0.9)).toBe(cond);
  });

  it('rescale φ: φ·cfg·std(cond)/std(cfg) + (1−φ)·cfg with std over dim 1 (unbiased)', () => {
    // shape [1, 3, 2]: element (c, f) at c·2 + f; std over c for each f
    const g = cfgGuidance({ scale: 3, rescale: 0.5, shape: [1, 3, 2] });
    const cfg = [3, 4, 7, 8, 3, 12];
    const std = (a: number[]) => {
      const m = a.reduce((s, v) => s + v, 0) / a.length;
      return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / (a.length - 1));
    };
    // hand values: f=0 → cond (1,3,5) std 2, cfg (3,7,3) std 2.3094; f=1 → cond (2,4,6) std 2, cfg (4,8,12) std 4
    expect(std([1, 3, 5])).toBe(2);
    expect(std([4, 8, 12])).toBe(4);
    const k0 = 2 / std([3, 7, 3]);
    const k1 = 2 / 4;
    const want = cfg.map((o, i) => 0.5 * o * (i % 2 === 0 ? k0 : k1) + 0.5 * o);
    const got = g.combine(cond, uncond, 0.5);
    for (let i = 0; i < 6; i++) expect(got[i]).toBeCloseTo(want[i]!, 5);
    expect(got[1]).toBeCloseTo(0.5 * 4 * 0.5 + 2, 6); // 3
    // φ = 1 matches the conditional std exactly
    const g1 = cfgGuidance({ scale: 3, rescale: 1, shape: [1, 3, 2] });
    const r = g1.combine(cond, uncond, 0.5);
    expect(std([r[1]!, r[3]!, r[5]!])).toBeCloseTo(2, 5);
  });

  it('without a shape the statistics are over the whole tensor', () => {
    const g = cfgGuidance({ scale: 2, rescale: 1 });
    const out = g.combine(cond, uncond, 0.5);
    const cfg = Array.from(cond, (c, i) => uncond[i]! + (c - uncond[i]!) * 2);
    const std = (a: ArrayLike<number>) => {
      const v = Array.from(a);
      const m = v.reduce((s, x) => s + x, 0) / v.length;
      return Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / (v.length - 1));
    };
    for (let i = 0; i < 6; i++) expect(out[i]).toBeCloseTo((cfg[i]! * std(cond)) / std(cfg), 5);
  });

  it('validates options and lengths', () => {
    expect(() => cfgGuidance({ scale: Number.NaN })).toThrow(invalid);
    expect(() => cfgGuidance({ scale: 2, rescale: 1.5 })).toThrow(invalid);
    expect(() => cfgGuidance({ scale: 2, interval: [0.8, 0.2] })).toThrow(invalid);
    expect(() => cfgGuidance({ scale: 2, shape: [6] })).toThrow(invalid);
    expect(() => cfgGuidance({ scale: 2 }).combine(cond, new Float32Array(2), 0.5)).toThrow(
      expect.objectContaining({ code: 'MODEL_MISMATCH' }),
    );
    expect(() =>
      cfgGuidance({ scale: 2, rescale: 0.5, shape: [1, 2, 2] }).combine(cond, uncond, 0.5),
    ).toThrow(expect.objectContaining({ code: 'MODEL_MISMATCH' }));
  });
});
