import {
  AudiogenError,
  type NoiseSource,
  type SampleArgs,
  type Sampler,
  type SamplerConfig,
  type StepInfo,
  throwIfAborted,
} from '@audiogen/core';
import { fmaf } from './f32';
import { validateSchedule } from './schedule';

/**
 * One step function per sampler. Samplers are pure: they read x and the schedule, call the model,
 * draw noise only from the NoiseSource they are given, and never mutate the caller's arrays.
 */
export type SamplerFactory = (config: SamplerConfig) => Sampler;

const registry = new Map<string, SamplerFactory>();
const descriptions = new Map<string, string>();

/**
 * Registers (or replaces) a sampler under a name; names are case-sensitive, [a-z0-9._-]+. `description`
 * (one line) is what listings such as `audiogen samplers` show.
 */
export function registerSampler(name: string, factory: SamplerFactory, description = ''): void {
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/i.test(name)) {
    throw new AudiogenError('INVALID_ARGUMENT', `sampler name must match [a-z0-9._-]+, got ${String(name)}`);
  }
  if (typeof factory !== 'function') {
    throw new AudiogenError('INVALID_ARGUMENT', `sampler '${name}' needs a factory function`);
  }
  registry.set(name, factory);
  descriptions.set(name, String(description));
}

/** Removes a registered sampler; returns whether it existed. */
export function unregisterSampler(name: string): boolean {
  descriptions.delete(name);
  return registry.delete(name);
}

/** The registered samplers with their descriptions, sorted by name. */
export function describeSamplers(): { name: string; description: string }[] {
  return listSamplers().map((name) => ({ name, description: descriptions.get(name) ?? '' }));
}

/** Names of the registered samplers, sorted. */
export function listSamplers(): string[] {
  return [...registry.keys()].sort();
}

/** Builds a sampler from serialisable config data ({ name: 'pingpong', steps: 8 }). */
export function createSampler(config: SamplerConfig): Sampler {
  if (!config || typeof config !== 'object' || typeof config.name !== 'string') {
    throw new AudiogenError('INVALID_ARGUMENT', "sampler config must be an object with a string 'name'");
  }
  const factory = registry.get(config.name);
  if (!factory) {
    throw new AudiogenError(
      'NOT_FOUND',
      `unknown sampler '${config.name}'; registered: ${listSamplers().join(', ') || '(none)'}`,
      { details: { name: config.name, available: listSamplers() } },
    );
  }
  if (config.steps !== undefined && (!Number.isInteger(config.steps) || (config.steps as number) < 1)) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `sampler steps must be a positive integer, got ${String(config.steps)}`,
    );
  }
  const sampler = factory(config);
  if (!sampler || typeof sampler.sample !== 'function') {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `the factory of sampler '${config.name}' did not return a Sampler`,
    );
  }
  return sampler;
}

// ------------------------------------------------------------------ shared loop helpers

/** Context a step function gets; `next` is the state after the step at t[i+1]. */
export interface StepContext {
  i: number;
  steps: number;
  t: number;
  tNext: number;
  x: Float32Array;
  noise: NoiseSource;
  /** Calls the model and checks its output; `tEval` defaults to t. */
  model: (x: Float32Array, tEval?: number) => Promise<Float32Array>;
}

export interface StepResult {
  x: Float32Array;
  denoised: Float32Array;
}

/**
 * Runs a step function over a schedule with the shared behaviour: validation, a copy of the input,
 * the abort signal checked before each step, model output checks, the callback (which sees the
 * state after each step and can stop the run by returning false).
 */
export async function runSteps(
  args: SampleArgs,
  step: (ctx: StepContext) => Promise<StepResult>,
  name: string,
): Promise<Float32Array> {
  if (!args || typeof args.model !== 'function') {
    throw new AudiogenError('INVALID_ARGUMENT', `${name}: args.model must be a function`);
  }
  if (!(args.x instanceof Float32Array) || args.x.length === 0) {
    throw new AudiogenError('INVALID_ARGUMENT', `${name}: args.x must be a non-empty Float32Array`);
  }
  if (!args.noise || typeof args.noise.stream !== 'function') {
    throw new AudiogenError('INVALID_ARGUMENT', `${name}: args.noise must be a NoiseSource`);
  }
  const t = validateSchedule(args.schedule);
  const steps = t.length - 1;
  const n = args.x.length;
  let x: Float32Array = Float32Array.from(args.x);
  for (let i = 0; i < steps; i++) {
    throwIfAborted(args.signal, 'sampling');
    const ti = t[i]!;
    const model = async (xe: Float32Array, tEval = ti): Promise<Float32Array> => {
      const out = await args.model(xe, tEval, i);
      if (!(out instanceof Float32Array) || out.length !== n) {
        throw new AudiogenError(
          'MODEL_MISMATCH',
          `${name}: the model returned ${out instanceof Float32Array ? `${out.length} values` : typeof out}, expected a Float32Array of ${n}`,
        );
      }
      return out;
    };
    const r = await step({ i, steps, t: ti, tNext: t[i + 1]!, x, noise: args.noise, model });
    x = r.x;
    if (args.callback) {
      const info: StepInfo = { step: i, steps, t: ti, tNext: t[i + 1]!, x, denoised: r.denoised };
      const go = await args.callback(info);
      if (go === false) break;
    }
  }
  return x;
}

function denoisedOf(x: Float32Array, v: Float32Array, t: number): Float32Array {
  const d = new Float32Array(x.length);
  for (let j = 0; j < d.length; j++) d[j] = x[j]! - t * v[j]!;
  return d;
}

function makeSampler(config: SamplerConfig, step: (ctx: StepContext) => Promise<StepResult>): Sampler {
  const frozen = Object.freeze({ ...config });
  return {
    config: frozen,
    sample: (args) => runSteps(args, step, frozen.name),
  };
}

// ------------------------------------------------------------------ the samplers

/**
 * Ping-pong (stable-audio-tools sample_flow_pingpong, Arm sampler_ping_pong), in float32 arithmetic
 * exactly as the C++: x̂0 = x − t·v; x = (1 − t')·x̂0 + t'·ε with ε from stream('step', i).
 * No noise is drawn when t' = 0 (the update is then x = x̂0).
 * config.fma = true computes as the C++ compiled for aarch64 with FP contraction (GCC's default):
 * x̂0 = fma(−t, v, x) and x = fma(1 − t', x̂0, t'·ε); the default (false) is x86-64 / torch.
 */
export function pingpongSampler(config: SamplerConfig = { name: 'pingpong' }): Sampler {
  const fused = config.fma === true;
  return makeSampler(
    { ...config, name: config.name ?? 'pingpong' },
    async ({ i, t, tNext, x, noise, model }) => {
      const fr = Math.fround;
      const v = await model(x);
      const tf = fr(t);
      const tn = fr(tNext);
      const n = x.length;
      const den = new Float32Array(n);
      if (fused) for (let j = 0; j < n; j++) den[j] = fmaf(-tf, v[j]!, x[j]!);
      else for (let j = 0; j < n; j++) den[j] = fr(x[j]! - fr(tf * v[j]!));
      if (tn === 0) return { x: Float32Array.from(den), denoised: den };
      const eps = new Float32Array(n);
      noise.stream('step', i).fillNormal(eps);
      const a = fr(1 - tn);
      const out = new Float32Array(n);
      if (fused) for (let j = 0; j < n; j++) out[j] = fmaf(a, den[j]!, fr(tn * eps[j]!));
      else for (let j = 0; j < n; j++) out[j] = fr(a * den[j]!) + fr(tn * eps[j]!);
      return { x: out, denoised: den };
    },
  );
}

/** Euler on dx/dt = v (sample_discrete_euler): x = x + (t' − t)·v. */
export function eulerSampler(config: SamplerConfig = { name: 'euler' }): Sampler {
  return makeSampler({ ...config, name: config.name ?? 'euler' }, async ({ t, tNext, x, model }) => {
    const v = await model(x);
    const h = tNext - t;
    const out = new Float32Array(x.length);
    for (let j = 0; j < out.length; j++) out[j] = x[j]! + h * v[j]!;
    return { x: out, denoised: denoisedOf(x, v, t) };
  });
}

/** Classic 4-stage Runge–Kutta on dx/dt = v (sample_rk4), 4 model calls per step. */
export function rk4Sampler(config: SamplerConfig = { name: 'rk4' }): Sampler {
  return makeSampler({ ...config, name: config.name ?? 'rk4' }, async ({ t, tNext, x, model }) => {
    const n = x.length;
    const h = tNext - t;
    const k1 = await model(x, t);
    const tmp = new Float32Array(n);
    for (let j = 0; j < n; j++) tmp[j] = x[j]! + (h / 2) * k1[j]!;
    const k2 = await model(Float32Array.from(tmp), t + h / 2);
    for (let j = 0; j < n; j++) tmp[j] = x[j]! + (h / 2) * k2[j]!;
    const k3 = await model(Float32Array.from(tmp), t + h / 2);
    for (let j = 0; j < n; j++) tmp[j] = x[j]! + h * k3[j]!;
    const k4 = await model(Float32Array.from(tmp), tNext);
    const out = new Float32Array(n);
    for (let j = 0; j < n; j++) out[j] = x[j]! + (h / 6) * (k1[j]! + 2 * k2[j]! + 2 * k3[j]! + k4[j]!);
    return { x: out, denoised: denoisedOf(x, k1, t) };
  });
}

/** logSNR of a flow time: λ(t) = log((1 − t)/t); −∞ at t = 1, +∞ at t = 0. */
export function flowLogSnr(t: number): number {
  return Math.log((1 - t) / t);
}

/**
 * Flow DPM-Solver++(2M) in logSNR (sample_flow_dpmpp): λ = log((1−t)/t), h = λ(t') − λ(t), α = 1 − t'.
 * First step or t' = 0: x = (t'/t)·x − α·expm1(−h)·x̂0. Otherwise r = h_prev/h,
 * D = (1 + 1/(2r))·x̂0 − (1/(2r))·x̂0_prev, x = (t'/t)·x − α·expm1(−h)·D.
 * Infinite λ at t = 1 or t = 0 follow IEEE arithmetic as in the reference (expm1(−∞) = −1, 1/∞ = 0).
 */
export function dpmppSampler(config: SamplerConfig = { name: 'dpmpp' }): Sampler {
  const name = config.name ?? 'dpmpp';
  const frozen = Object.freeze({ ...config, name });
  return {
    config: frozen,
    sample(args) {
      let prev: Float32Array | undefined;
      let hPrev = 0;
      return runSteps(
        args,
        async ({ t, tNext, x, model }) => {
          const v = await model(x);
          const den = denoisedOf(x, v, t);
          const h = flowLogSnr(tNext) - flowLogSnr(t);
          const alpha = 1 - tNext;
          const ratio = tNext / t;
          const c = alpha * Math.expm1(-h);
          const out = new Float32Array(x.length);
          if (!prev || tNext === 0) {
            for (let j = 0; j < out.length; j++) out[j] = ratio * x[j]! - c * den[j]!;
          } else {
            const r = hPrev / h;
            const w = 1 / (2 * r);
            for (let j = 0; j < out.length; j++) {
              const d = (1 + w) * den[j]! - w * prev[j]!;
              out[j] = ratio * x[j]! - c * d;
            }
          }
          prev = den;
          hPrev = h;
          return { x: out, denoised: den };
        },
        name,
      );
    },
  };
}

registerSampler(
  'pingpong',
  pingpongSampler,
  'ping-pong (stable-audio-tools, Arm): denoise, then re-noise to the next time; 1 model call per step',
);
registerSampler(
  'pingpong-fma',
  (config) => pingpongSampler({ ...config, fma: true }),
  "ping-pong with fused multiply-add, as Arm's C++ built for aarch64 by g++ (bit-equal to it there)",
);
registerSampler('euler', eulerSampler, 'Euler on the flow ODE (sample_discrete_euler); 1 call per step');
registerSampler('rk4', rk4Sampler, 'classic Runge–Kutta 4 on the flow ODE (sample_rk4); 4 calls per step');
registerSampler(
  'dpmpp',
  dpmppSampler,
  'flow DPM-Solver++(2M) in logSNR (sample_flow_dpmpp); 1 call per step',
);
