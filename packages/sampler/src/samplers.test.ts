import type { Sampler, SamplerConfig, Schedule, VelocityFn } from '@audiogen/core';
import { describe, expect, it } from 'vitest';
import { createNoiseSource } from './rng/index';
import {
  createSampler,
  describeSamplers,
  dpmppSampler,
  eulerSampler,
  listSamplers,
  pingpongSampler,
  registerSampler,
  rk4Sampler,
  unregisterSampler,
} from './samplers';
import { explicitSchedule, linearSchedule, rfSchedule } from './schedule';

/**
 * Toy data: x0 ~ N(μ_j, s_j²) per dimension, x_t = (1−t)·x0 + t·ε. The ideal velocity is
 * v(x, t) = −μ + (t − (1−t)s²)/σ_t² · (x − (1−t)μ), σ_t² = (1−t)²s² + t², and the exact ODE
 * solution from t = 1 is x(t) = (1−t)μ + σ_t·x(1).
 */
const MU = [0.5, -1, 2, 0];
const S = [0.3, 0.8, 0.1, 1];
const velocity: VelocityFn = async (x, t) => {
  const v = new Float32Array(x.length);
  for (let j = 0; j < x.length; j++) {
    const mu = MU[j % 4]!;
    const s = S[j % 4]!;
    const var_ = (1 - t) ** 2 * s * s + t * t;
    v[j] = -mu + ((t - (1 - t) * s * s) / var_) * (x[j]! - (1 - t) * mu);
  }
  return v;
};
function exact(x1: Float32Array, t: number): Float64Array {
  const out = new Float64Array(x1.length);
  for (let j = 0; j < x1.length; j++) {
    const mu = MU[j % 4]!;
    const s = S[j % 4]!;
    out[j] = (1 - t) * mu + Math.sqrt((1 - t) ** 2 * s * s + t * t) * x1[j]!;
  }
  return out;
}
const X1 = Float32Array.from([0.3, -1.2, 0.7, 1.5, -0.4, 0.9, -2, 0.1]);
const noise = createNoiseSource(11);
const maxErr = (a: Float32Array, b: Float64Array) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('hand-computed steps', () => {
  it('euler: x1 = x0 + (t1 − t0)·v', async () => {
    const sched = explicitSchedule([1, 0.6, 0]);
    const v0 = await velocity(X1, 1, 0);
    const x1 = X1.map((x, j) => x + (0.6 - 1) * v0[j]!);
    const v1 = await velocity(Float32Array.from(x1), 0.6, 1);
    const want = x1.map((x, j) => x + (0 - 0.6) * v1[j]!);
    const got = await eulerSampler().sample({ model: velocity, x: X1, schedule: sched, noise });
    expect(Array.from(got)).toEqual(Array.from(Float32Array.from(want)));
  });

  it('pingpong: first step x̂0 = x − t·v, x = (1 − t1)·x̂0 + t1·ε₀ (float32 ops), last step = x̂0', async () => {
    const sched = explicitSchedule([1, 0.25, 0]);
    const fr = Math.fround;
    const v0 = await velocity(X1, 1, 0);
    const den0 = X1.map((x, j) => fr(x - fr(1 * v0[j]!)));
    const eps = new Float32Array(X1.length);
    noise.stream('step', 0).fillNormal(eps);
    const x1 = den0.map((d, j) => fr(fr(0.75 * d) + fr(0.25 * eps[j]!)));
    const v1 = await velocity(x1, 0.25, 1);
    const den1 = x1.map((x, j) => fr(x - fr(0.25 * v1[j]!)));
    const seen: { step: number; x: number[]; denoised: number[] }[] = [];
    const got = await pingpongSampler().sample({
      model: velocity,
      x: X1,
      schedule: sched,
      noise,
      callback: (i) => {
        seen.push({ step: i.step, x: Array.from(i.x), denoised: Array.from(i.denoised) });
      },
    });
    expect(seen[0]!.denoised).toEqual(Array.from(den0));
    expect(seen[0]!.x).toEqual(Array.from(x1));
    expect(Array.from(got)).toEqual(Array.from(den1));
    expect(seen.map((s) => s.step)).toEqual([0, 1]);
  });

  it('pingpong with a perfect denoiser of a point mass returns the point', async () => {
    const target = Float32Array.from([0.25, -0.5, 1, 2]);
    // data = target exactly: v = (x − target)/t
    const model: VelocityFn = async (x, t) => x.map((v, j) => (v - target[j]!) / t);
    const x = new Float32Array(4);
    noise.stream('init').fillNormal(x);
    const got = await pingpongSampler().sample({ model, x, schedule: rfSchedule({ steps: 8 }), noise });
    for (let j = 0; j < 4; j++) expect(got[j]).toBeCloseTo(target[j]!, 5);
  });

  it('rk4: one step equals the classic RK4 formula', async () => {
    const h = -0.5;
    const t = 1;
    const add = (a: Float32Array, b: Float32Array, c: number) =>
      Float32Array.from(a, (v, j) => v + c * b[j]!);
    const k1 = await velocity(X1, t, 0);
    const k2 = await velocity(add(X1, k1, h / 2), t + h / 2, 0);
    const k3 = await velocity(add(X1, k2, h / 2), t + h / 2, 0);
    const k4 = await velocity(add(X1, k3, h), t + h, 0);
    const want = Float32Array.from(X1, (x, j) => x + (h / 6) * (k1[j]! + 2 * k2[j]! + 2 * k3[j]! + k4[j]!));
    const calls: number[] = [];
    const model: VelocityFn = (x, tt, step) => {
      calls.push(tt);
      return velocity(x, tt, step);
    };
    const got = await rk4Sampler().sample({ model, x: X1, schedule: explicitSchedule([1, 0.5]), noise });
    expect(got).toEqual(want);
    expect(calls).toEqual([1, 0.75, 0.75, 0.5]);
  });

  it('dpmpp: first-order first step, then the 2M correction (reference formulas)', async () => {
    const ts = [0.9, 0.6, 0.3, 0];
    const lam = (t: number) => Math.log((1 - t) / t);
    let x = Float64Array.from(X1);
    let prev: Float64Array | undefined;
    let hPrev = 0;
    for (let i = 0; i < 3; i++) {
      const [t, tn] = [ts[i]!, ts[i + 1]!];
      const xf = Float32Array.from(x);
      const v = await velocity(xf, t, i);
      const den = Float64Array.from(xf, (xv, j) => Math.fround(xv - t * v[j]!));
      const h = lam(tn) - lam(t);
      const a = 1 - tn;
      if (!prev || tn === 0) {
        x = Float64Array.from(xf, (xv, j) => (tn / t) * xv - a * Math.expm1(-h) * den[j]!);
      } else {
        const r = hPrev / h;
        const p = prev;
        x = Float64Array.from(xf, (xv, j) => {
          const D = (1 + 1 / (2 * r)) * den[j]! - (1 / (2 * r)) * p[j]!;
          return (tn / t) * xv - a * Math.expm1(-h) * D;
        });
      }
      prev = den;
      hPrev = h;
    }
    const got = await dpmppSampler().sample({
      model: velocity,
      x: X1,
      schedule: explicitSchedule(ts),
      noise,
    });
    for (let j = 0; j < X1.length; j++) expect(got[j]).toBeCloseTo(x[j]!, 5);
  });

  it('dpmpp from t = 1 (λ = −∞) stays finite and its first step is the exact limit t1·x + (1−t1)·x̂0', async () => {
    const x = Float32Array.from(X1);
    const steps: Float32Array[] = [];
    const got = await dpmppSampler().sample({
      model: velocity,
      x,
      schedule: rfSchedule({ steps: 8 }),
      noise,
      callback: (i) => {
        steps.push(i.x);
      },
    });
    const v = await velocity(X1, 1, 0);
    const t1 = rfSchedule({ steps: 8 }).t[1]!;
    const want = X1.map((xv, j) => t1 * xv + (1 - t1) * (xv - v[j]!));
    for (let j = 0; j < X1.length; j++) expect(steps[0]![j]).toBeCloseTo(want[j]!, 6);
    expect(got.every(Number.isFinite)).toBe(true);
  });
});

describe('convergence to the exact ODE solution', () => {
  async function error(sampler: 'euler' | 'rk4' | 'dpmpp', steps: number): Promise<number> {
    // euler/rk4: linear t from 1 to 0; dpmpp: uniform in logSNR from t=0.95 to 0.05, compared at 0.05
    let sched: Schedule;
    let tEnd = 0;
    let x = X1;
    if (sampler === 'dpmpp') {
      const l0 = Math.log(0.05 / 0.95);
      const l1 = Math.log(0.95 / 0.05);
      const ts = Array.from(
        { length: steps + 1 },
        (_, i) => 1 / (1 + Math.exp(l0 + ((l1 - l0) * i) / steps)),
      );
      sched = explicitSchedule(ts);
      tEnd = ts[steps]!;
      x = Float32Array.from(exact(X1, ts[0]!));
      const got = await createSampler({ name: sampler }).sample({
        model: velocity,
        x,
        schedule: sched,
        noise,
      });
      return maxErr(got, exact(X1, tEnd));
    }
    // rk4 stops at t = 0.2, before the stiff end of the narrow (s = 0.1) dimension
    if (sampler === 'rk4') tEnd = 0.2;
    sched = linearSchedule({ steps, end: tEnd });
    const got = await createSampler({ name: sampler }).sample({ model: velocity, x, schedule: sched, noise });
    return maxErr(got, exact(X1, tEnd));
  }
  const order = async (s: 'euler' | 'rk4' | 'dpmpp', n1: number, n2: number) =>
    Math.log2((await error(s, n1)) / (await error(s, n2))) / Math.log2(n2 / n1);

  it('euler is first order', async () => {
    const p = await order('euler', 64, 256);
    expect(p).toBeGreaterThan(0.85);
    expect(p).toBeLessThan(1.15);
  });
  it('dpmpp (2M) is second order', async () => {
    const p = await order('dpmpp', 16, 64);
    expect(p).toBeGreaterThan(1.7);
    expect(p).toBeLessThan(2.4);
  });
  it('rk4 is fourth order', async () => {
    const p = await order('rk4', 4, 16);
    expect(p).toBeGreaterThan(3.5);
    expect(p).toBeLessThan(4.6);
  });
});

describe('shared behaviour', () => {
  const names = ['pingpong', 'euler', 'rk4', 'dpmpp'];
  it('registry lists the built-ins and swaps by name', () => {
    for (const n of names) expect(listSamplers()).toContain(n);
    for (const n of names) expect(createSampler({ name: n, steps: 8 }).config).toEqual({ name: n, steps: 8 });
  });

  it('every built-in has a description; pingpong-fma is ping-pong with fused multiply-add', async () => {
    const d = describeSamplers();
    expect(d.map((x) => x.name)).toEqual(listSamplers());
    for (const n of [...names, 'pingpong-fma'])
      expect(d.find((x) => x.name === n)?.description.length).toBeGreaterThan(10);
    const x = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) * 0.9);
    const run = (s: Sampler) =>
      s.sample({
        model: async (xt, t) => xt.map((v) => Math.fround(Math.fround(0.37 * v) - Math.fround(t))),
        x,
        schedule: rfSchedule({ steps: 8 }),
        noise: createNoiseSource(5, { kind: 'arm-mt19937' }),
      });
    const named = await run(createSampler({ name: 'pingpong-fma' }));
    expect(named).toEqual(await run(pingpongSampler({ name: 'pingpong', fma: true })));
    expect(named).not.toEqual(await run(pingpongSampler()));
  });

  it('configs are serialisable data', () => {
    const cfg: SamplerConfig = JSON.parse(JSON.stringify({ name: 'pingpong', steps: 8 }));
    expect(createSampler(cfg).config.name).toBe('pingpong');
  });

  it('unknown names and bad configs are typed errors', () => {
    expect(() => createSampler({ name: 'nope' })).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => createSampler({ name: 'euler', steps: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => createSampler(null as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => registerSampler('bad name!', () => eulerSampler())).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('an app can register its own sampler', async () => {
    registerSampler('half-euler', (config) => ({
      config,
      sample: async ({ x }) => x.map((v) => v / 2),
    }));
    try {
      const s = createSampler({ name: 'half-euler' });
      expect(
        Array.from(await s.sample({ model: velocity, x: X1, schedule: linearSchedule({ steps: 1 }), noise })),
      ).toEqual(Array.from(X1, (v) => Math.fround(v / 2)));
    } finally {
      expect(unregisterSampler('half-euler')).toBe(true);
    }
  });

  for (const name of names) {
    it(`${name}: deterministic, never mutates x, stops on callback false, honours abort`, async () => {
      const x = Float32Array.from(X1);
      const schedule = rfSchedule({ steps: 6 });
      const s = createSampler({ name });
      const a = await s.sample({ model: velocity, x, schedule, noise: createNoiseSource(3) });
      const b = await s.sample({ model: velocity, x, schedule, noise: createNoiseSource(3) });
      expect(b).toEqual(a);
      expect(x).toEqual(X1);

      const seen: number[] = [];
      await s.sample({
        model: velocity,
        x,
        schedule,
        noise,
        callback: ({ step }) => {
          seen.push(step);
          return step < 2;
        },
      });
      expect(seen).toEqual([0, 1, 2]);

      const ac = new AbortController();
      let calls = 0;
      const p = s.sample({
        model: async (xx, t, i) => {
          calls++;
          if (i === 1) ac.abort();
          return velocity(xx, t, i);
        },
        x,
        schedule,
        noise,
        signal: ac.signal,
      });
      await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
      expect(calls).toBe(name === 'rk4' ? 8 : 2);
    });

    it(`${name}: wrong model output and bad arguments are typed errors`, async () => {
      const s = createSampler({ name });
      const schedule = rfSchedule({ steps: 2 });
      await expect(
        s.sample({ model: async () => new Float32Array(3), x: X1, schedule, noise }),
      ).rejects.toMatchObject({ code: 'MODEL_MISMATCH' });
      await expect(
        s.sample({ model: velocity, x: new Float32Array(0), schedule, noise }),
      ).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      await expect(
        s.sample({ model: velocity, x: X1, schedule: { t: Float64Array.from([0, 1]) }, noise }),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });
  }

  it('pingpong draws step noise only from stream(step, i): same seed → same output, other seed → different', async () => {
    const schedule = rfSchedule({ steps: 8 });
    const run = (seed: number) =>
      pingpongSampler().sample({ model: velocity, x: X1, schedule, noise: createNoiseSource(seed) });
    expect(await run(5)).toEqual(await run(5));
    expect(await run(5)).not.toEqual(await run(6));
    const viaArm = await pingpongSampler().sample({
      model: velocity,
      x: X1,
      schedule,
      noise: createNoiseSource(5, { kind: 'arm-mt19937' }),
    });
    expect(viaArm.every(Number.isFinite)).toBe(true);
  });
});
