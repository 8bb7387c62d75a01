import { describe, expect, it } from 'vitest';
import { scheduleFor } from './config';
import {
  explicitSchedule,
  linearSchedule,
  mixInitLatents,
  rfSchedule,
  startScheduleAt,
  validateSchedule,
} from './schedule';

const invalid = expect.objectContaining({ code: 'INVALID_ARGUMENT' });

describe('rfSchedule', () => {
  it('8 steps, sigmaMax 1: the stable-audio-tools / Arm times', () => {
    const { t } = rfSchedule({ steps: 8 });
    const want = [1, 0.993307, 0.982014, 0.952574, 0.880797, 0.731059, 0.5, 0.268941, 0];
    expect(t.length).toBe(9);
    for (const [i, v] of t.entries()) expect(v).toBeCloseTo(want[i]!, 6);
    // interior points are sigmoid(−logSNR) with logSNR = −5 … 1
    expect(t[1]).toBe(1 / (1 + Math.exp(-5)));
    expect(t[6]).toBe(0.5);
  });

  it('sigmaMax < 1 starts there, with logSNR starting at log((1−σ)/σ + 1e-6)', () => {
    const { t } = rfSchedule({ steps: 4, sigmaMax: 0.5 });
    expect(t[0]).toBe(0.5);
    expect(t[4]).toBe(0);
    const l0 = Math.log(1 + 1e-6);
    const l1 = l0 + (2 - l0) / 4;
    expect(t[1]).toBeCloseTo(1 / (1 + Math.exp(l1)), 15);
  });

  it('float32 mode follows the C++ float arithmetic (differs from float64 by ≤ 1 float ulp)', () => {
    const a = rfSchedule({ steps: 2, float32: true }).t;
    expect(a[1]).toBe(Math.fround(1 / Math.fround(1 + Math.fround(Math.exp(-2)))));
    expect(Math.abs(a[1]! - 1 / (1 + Math.exp(-2)))).toBeLessThan(1.2e-7);
  });

  it('rejects bad options', () => {
    expect(() => rfSchedule({ steps: 0 })).toThrow(invalid);
    expect(() => rfSchedule({ steps: 2.5 })).toThrow(invalid);
    expect(() => rfSchedule({ steps: 8, sigmaMax: 0 })).toThrow(invalid);
    expect(() => rfSchedule({ steps: 8, sigmaMax: 1.5 })).toThrow(invalid);
    expect(() => rfSchedule(undefined as never)).toThrow(invalid);
  });
});

describe('linearSchedule', () => {
  it('plain linspace', () => {
    expect(Array.from(linearSchedule({ steps: 4 }).t)).toEqual([1, 0.75, 0.5, 0.25, 0]);
    expect(Array.from(linearSchedule({ steps: 2, start: 0.8, end: 0.2 }).t)).toEqual([0.8, 0.5, 0.2]);
  });
  it("time shift t' = s·t/(1 + (s−1)·t) keeps the ends and moves the middle up", () => {
    const { t } = linearSchedule({ steps: 2, shift: 3 });
    expect(t[0]).toBe(1);
    expect(t[2]).toBe(0);
    expect(t[1]).toBeCloseTo(1.5 / 2, 15); // 3·0.5/(1 + 2·0.5) = 0.75
    expect(() => linearSchedule({ steps: 2, shift: 0 })).toThrow(invalid);
    expect(() => linearSchedule({ steps: 2, start: 0.2, end: 0.5 })).toThrow(invalid);
  });
});

describe('explicit schedules and validation', () => {
  it('accepts strictly decreasing times in [0, 1]', () => {
    expect(Array.from(explicitSchedule([0.9, 0.3, 0]).t)).toEqual([0.9, 0.3, 0]);
  });
  it('rejects short, increasing, repeated, out-of-range or non-finite times', () => {
    for (const bad of [[1], [0.5, 0.5], [0.2, 0.7], [1.2, 0], [0.5, -0.1], [Number.NaN, 0]]) {
      expect(() => explicitSchedule(bad)).toThrow(invalid);
    }
    expect(() => validateSchedule({ t: [1, 0] as unknown as Float64Array })).toThrow(invalid);
  });
  it('startScheduleAt keeps the lower times', () => {
    const s = startScheduleAt(linearSchedule({ steps: 4 }), 0.6);
    expect(Array.from(s.t)).toEqual([0.6, 0.5, 0.25, 0]);
    expect(() => startScheduleAt(explicitSchedule([1, 0.5]), 0.4)).toThrow(invalid);
  });
  it('scheduleFor: rf by default, linear for rk4, honours steps and sigmaMax', () => {
    expect(scheduleFor({ name: 'pingpong', steps: 8 }).t).toEqual(rfSchedule({ steps: 8 }).t);
    expect(Array.from(scheduleFor({ name: 'rk4', steps: 2 }).t)).toEqual([1, 0.5, 0]);
    expect(scheduleFor({ name: 'euler', steps: 3, sigmaMax: 0.7 }).t[0]).toBe(0.7);
    expect(() => scheduleFor({ name: 'euler', schedule: 'karras' })).toThrow(invalid);
  });
});

describe('mixInitLatents', () => {
  it('x = init·(1 − σ) + noise·σ in float32, inputs untouched', () => {
    const init = Float32Array.from([1, -2, 0.5]);
    const noise = Float32Array.from([0.25, 1, -1]);
    const x = mixInitLatents(init, noise, 0.25);
    expect(Array.from(x)).toEqual([0.8125, -1.25, 0.125]);
    expect(Array.from(init)).toEqual([1, -2, 0.5]);
    expect(mixInitLatents(init, noise, 1)).toEqual(noise);
    expect(() => mixInitLatents(init, new Float32Array(2), 0.5)).toThrow(invalid);
    expect(() => mixInitLatents(init, noise, 2)).toThrow(invalid);
  });
});

describe('mixInitLatents and core generate agree', () => {
  it('core generate mixes init latents bit-identically to mixInitLatents', async () => {
    const { generate } = await import('@audiogen/core');
    // 64 values where float64 mixing differs from float32-per-op mixing in 27 places.
    const init = Float32Array.from({ length: 64 }, (_, i) => Math.cos(3 * i) * 1.7);
    const sigma = 0.7;
    let captured: Float32Array | undefined;
    const noiseFor = (seed: number) => ({
      seed,
      stream: () => ({
        fillNormal: (o: Float32Array) => {
          for (let i = 0; i < o.length; i++) o[i] = Math.sin(i + 1);
        },
      }),
    });
    await generate(
      { prompt: 'x', seed: 1, initLatents: init },
      {
        tokenizer: {
          maxLength: 1,
          encode: () => ({ ids: new Int32Array(1), mask: new Int32Array(1), length: 1, truncated: false }),
        },
        conditioner: { condition: async () => ({}) },
        denoiser: { latentShape: [64], denoise: async (x) => new Float32Array(x.length) },
        decoder: { sampleRate: 1, decode: async (l) => ({ sampleRate: 1, channels: [l] }) },
        sampler: {
          config: { name: 'capture' },
          sample: async ({ x }) => {
            captured = Float32Array.from(x);
            return x;
          },
        },
        schedule: { t: new Float64Array([sigma, 0]) },
        noise: noiseFor,
      },
    );
    const noise = new Float32Array(64);
    noiseFor(1).stream().fillNormal(noise);
    expect(Array.from(captured!)).toEqual(Array.from(mixInitLatents(init, noise, sigma)));
  });
});
