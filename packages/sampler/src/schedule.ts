import { AudiogenError, type Schedule } from '@audiogen/core';

function checkSteps(steps: unknown, max = 10_000): number {
  if (typeof steps !== 'number' || !Number.isInteger(steps) || steps < 1 || steps > max) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `steps must be an integer in [1, ${max}], got ${String(steps)}`,
    );
  }
  return steps;
}

function checkUnit(name: string, v: unknown, { open = false } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1 || (open && v === 0)) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `${name} must be a number in ${open ? '(0, 1]' : '[0, 1]'}, got ${String(v)}`,
    );
  }
  return v;
}

/** Checks that a schedule is usable: ≥ 2 finite times in [0, 1], strictly decreasing. */
export function validateSchedule(schedule: Schedule): Float64Array {
  const t = schedule?.t;
  if (!(t instanceof Float64Array)) {
    throw new AudiogenError('INVALID_ARGUMENT', 'schedule.t must be a Float64Array');
  }
  if (t.length < 2)
    throw new AudiogenError('INVALID_ARGUMENT', 'a schedule needs at least two times (one step)');
  for (let i = 0; i < t.length; i++) {
    const v = t[i]!;
    if (!Number.isFinite(v) || v < 0 || v > 1) {
      throw new AudiogenError('INVALID_ARGUMENT', `schedule time t[${i}] = ${v} is not in [0, 1]`);
    }
    if (i > 0 && !(v < t[i - 1]!)) {
      throw new AudiogenError(
        'INVALID_ARGUMENT',
        `schedule times must strictly decrease: t[${i - 1}] = ${t[i - 1]}, t[${i}] = ${v}`,
      );
    }
  }
  return t;
}

export interface RfScheduleOptions {
  steps: number;
  /** Start time (noise level), (0, 1]; default 1. Below 1 for audio-to-audio. */
  sigmaMax?: number;
  /** logSNR at the end of the linspace; default 2 (stable-audio-tools). */
  logsnrEnd?: number;
  /**
   * Compute like Arm's C++ `fill_sigmas` (an incremental float32 linspace, then
   * 1.0f/(1.0f + expf(v)) in float32); the result is still stored as float64.
   */
  float32?: boolean;
}

/**
 * The rectified-flow schedule of stable-audio-tools' `sample_rf` (and Arm's `fill_sigmas`):
 * logSNR = linspace(logsnrMax, 2, steps + 1), t = sigmoid(−logSNR) = 1/(1 + e^logSNR),
 * t[0] = sigmaMax, t[steps] = 0, with logsnrMax = −6 when sigmaMax ≥ 1,
 * else log((1 − sigmaMax)/sigmaMax + 1e-6).
 * 8 steps, sigmaMax 1: [1, 0.993307, 0.982014, 0.952574, 0.880797, 0.731059, 0.5, 0.268941, 0].
 */
export function rfSchedule(options: RfScheduleOptions): Schedule {
  const steps = checkSteps(options?.steps);
  const sigmaMax = Math.min(1, checkUnit('sigmaMax', options.sigmaMax ?? 1, { open: true }));
  const end = options.logsnrEnd ?? 2;
  if (!Number.isFinite(end)) throw new AudiogenError('INVALID_ARGUMENT', 'logsnrEnd must be finite');
  const start = sigmaMax >= 1 ? -6 : Math.log((1 - sigmaMax) / sigmaMax + 1e-6);
  const t = new Float64Array(steps + 1);
  if (options.float32) {
    const fr = Math.fround;
    const s = fr(start);
    const e = fr(end);
    const step = fr(fr(e - s) / fr(steps));
    const ls = new Float32Array(steps + 1);
    ls[0] = s;
    ls[steps] = e;
    for (let i = 1; i < steps; i++) ls[i] = fr(ls[i - 1]! + step);
    for (let i = 0; i <= steps; i++) t[i] = fr(1 / fr(1 + fr(Math.exp(ls[i]!))));
  } else {
    for (let i = 0; i <= steps; i++) {
      const l = i === steps ? end : start + ((end - start) * i) / steps;
      t[i] = 1 / (1 + Math.exp(l));
    }
  }
  t[0] = sigmaMax;
  t[steps] = 0;
  return { t };
}

export interface LinearScheduleOptions {
  steps: number;
  /** Default 1. */
  start?: number;
  /** Default 0. */
  end?: number;
  /**
   * Time shift s > 0 (SD3 / stable-audio-tools DistributionShift with s = e^mu):
   * t' = s·t / (1 + (s − 1)·t). 1 (default) = no shift; > 1 spends more steps at high noise.
   */
  shift?: number;
}

/** t = linspace(start, end, steps + 1), optionally time-shifted. */
export function linearSchedule(options: LinearScheduleOptions): Schedule {
  const steps = checkSteps(options?.steps);
  const start = checkUnit('start', options.start ?? 1, { open: true });
  const end = checkUnit('end', options.end ?? 0);
  if (!(end < start))
    throw new AudiogenError('INVALID_ARGUMENT', `end (${end}) must be below start (${start})`);
  const shift = options.shift ?? 1;
  if (!Number.isFinite(shift) || shift <= 0) {
    throw new AudiogenError('INVALID_ARGUMENT', `shift must be a positive number, got ${shift}`);
  }
  const t = new Float64Array(steps + 1);
  for (let i = 0; i <= steps; i++) {
    const v = i === steps ? end : start + ((end - start) * i) / steps;
    t[i] = shift === 1 ? v : (shift * v) / (1 + (shift - 1) * v);
  }
  return { t };
}

/** A schedule from explicit times (validated: ≥ 2 values in [0, 1], strictly decreasing). */
export function explicitSchedule(times: ArrayLike<number>): Schedule {
  if (!times || typeof times.length !== 'number') {
    throw new AudiogenError('INVALID_ARGUMENT', 'explicitSchedule needs an array of times');
  }
  const t = Float64Array.from(times as ArrayLike<number>);
  validateSchedule({ t });
  return { t };
}

/**
 * Starts a schedule at tStart (audio-to-audio): keeps the times below tStart and puts tStart first.
 * For the RF schedule prefer rfSchedule({ steps, sigmaMax }), which is what stable-audio-tools does.
 */
export function startScheduleAt(schedule: Schedule, tStart: number): Schedule {
  const t0 = validateSchedule(schedule);
  checkUnit('tStart', tStart, { open: true });
  const rest = Array.from(t0).filter((v) => v < tStart);
  if (rest.length === 0) throw new AudiogenError('INVALID_ARGUMENT', `no schedule time lies below ${tStart}`);
  return { t: Float64Array.from([tStart, ...rest]) };
}

/**
 * Audio-to-audio start latent: x = init·(1 − sigmaMax) + noise·sigmaMax (float32 arithmetic, as
 * stable-audio-tools). Use with a schedule whose t[0] = sigmaMax (rfSchedule({ steps, sigmaMax })).
 * Returns a new array; the inputs are not modified.
 */
export function mixInitLatents(init: Float32Array, noise: Float32Array, sigmaMax: number): Float32Array {
  if (!(init instanceof Float32Array) || !(noise instanceof Float32Array)) {
    throw new AudiogenError('INVALID_ARGUMENT', 'mixInitLatents needs Float32Array init and noise');
  }
  if (init.length !== noise.length) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `init has ${init.length} values but noise has ${noise.length}`,
    );
  }
  const s = Math.fround(checkUnit('sigmaMax', sigmaMax));
  const a = Math.fround(1 - s);
  const fr = Math.fround;
  const out = new Float32Array(init.length);
  for (let i = 0; i < out.length; i++) out[i] = fr(fr(init[i]! * a) + fr(noise[i]! * s));
  return out;
}
