import { type AudioClip, AudiogenError } from '@audiogen/core';
import { assertFinite, checkClip, checkNumber } from './util';

export interface ResampleOptions {
  /** Target stopband attenuation of the Kaiser-windowed sinc, dB. Default 120 (range 40–160). */
  stopbandAttenuationDb?: number;
  /**
   * Passband edge as a fraction of the lower Nyquist frequency (default 0.9: 19.8 kHz at 44.1 kHz).
   * The stopband starts at the lower Nyquist frequency, so nothing aliases (range 0.5–0.98).
   */
  passbandEdge?: number;
}

/** A rational-ratio polyphase windowed-sinc resampler design (out = in · up / down). */
export interface ResamplerDesign {
  readonly fromRate: number;
  readonly toRate: number;
  /** Interpolation factor L (number of phases). */
  readonly up: number;
  /** Decimation factor M. */
  readonly down: number;
  /** Cutoff (−6 dB point) in Hz: the middle of the transition band. */
  readonly cutoffHz: number;
  readonly passbandHz: number;
  readonly stopbandHz: number;
  /** Kaiser window β. */
  readonly beta: number;
  /** Half-width of the kernel in input samples. */
  readonly halfWidth: number;
  /** Taps per output sample (2·ceil(halfWidth)). */
  readonly taps: number;
  readonly stopbandAttenuationDb: number;
  /** The continuous kernel h(τ) (τ in input samples), before per-phase normalisation. */
  kernel(tau: number): number;
  /** Coefficients for an output sample at fractional input position frac ∈ [0, 1): taps values. */
  phase(index: number): Float64Array;
}

/** Modified Bessel function of the first kind, order 0 (power series; converges for all x used). */
export function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 500; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** Kaiser's β for a given attenuation (Kaiser 1974, as in Oppenheim & Schafer). */
export function kaiserBeta(attenuationDb: number): number {
  const a = attenuationDb;
  if (a > 50) return 0.1102 * (a - 8.7);
  if (a >= 21) return 0.5842 * (a - 21) ** 0.4 + 0.07886 * (a - 21);
  return 0;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Largest phase table we precompute (entries); above it coefficients come from a dense kernel table. */
const MAX_TABLE = 1 << 21;
/** Oversampling of the dense kernel table (linear interpolation error ≈ −140 dB). */
const DENSE = 4096;
/** Kaiser's length formula is approximate; a little extra length keeps the stated attenuation. */
const LENGTH_MARGIN = 1.08;
/** Kaiser's β formula lands ~0.2 dB short of its target; design for a little more. */
const ATTEN_MARGIN_DB = 1;

/**
 * Designs a polyphase Kaiser-windowed-sinc resampler from one integer rate to another. The kernel is
 * evaluated in input-sample time, h(τ) = 2fc·sinc(2fc·τ)·w(τ), with fc the cutoff in cycles per input
 * sample; each phase is normalised to unit DC gain.
 */
export function designResampler(
  fromRate: number,
  toRate: number,
  options: ResampleOptions = {},
): ResamplerDesign {
  for (const [name, r] of [
    ['fromRate', fromRate],
    ['toRate', toRate],
  ] as const) {
    if (!Number.isInteger(r) || r <= 0 || r > 10_000_000) {
      throw new AudiogenError(
        'INVALID_ARGUMENT',
        `${name} must be a positive integer (Hz), got ${String(r)}`,
      );
    }
  }
  const atten = checkNumber(options.stopbandAttenuationDb ?? 120, 'stopbandAttenuationDb', 40, 160);
  const edge = checkNumber(options.passbandEdge ?? 0.9, 'passbandEdge', 0.5, 0.98);
  const g = gcd(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;
  const nyq = Math.min(fromRate, toRate) / 2;
  const passbandHz = edge * nyq;
  const stopbandHz = nyq;
  const cutoffHz = (passbandHz + stopbandHz) / 2;
  const fc = cutoffHz / fromRate; // cycles per input sample
  const dw = (2 * Math.PI * (stopbandHz - passbandHz)) / fromRate; // transition, rad per input sample
  const beta = kaiserBeta(atten + ATTEN_MARGIN_DB);
  const length = ((atten + ATTEN_MARGIN_DB - 7.95) / (2.285 * dw)) * LENGTH_MARGIN;
  const halfWidth = Math.max(1, length / 2);
  const d = Math.ceil(halfWidth);
  const taps = 2 * d;
  const i0b = besselI0(beta);
  const kernel = (tau: number): number => {
    const r = tau / halfWidth;
    if (r <= -1 || r >= 1) return 0;
    const x = 2 * fc * tau;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    return 2 * fc * sinc * (besselI0(beta * Math.sqrt(1 - r * r)) / i0b);
  };

  // Tap j of phase p multiplies input sample i0 + j − d + 1 for an output at position i0 + p/up.
  const direct = up * taps <= MAX_TABLE;
  let dense: Float64Array | undefined;
  if (!direct) {
    dense = new Float64Array(taps * DENSE + 2);
    for (let k = 0; k < dense.length; k++) dense[k] = kernel(k / DENSE - d);
  }
  const compute = (p: number): Float64Array => {
    const frac = p / up;
    const out = new Float64Array(taps);
    let sum = 0;
    for (let j = 0; j < taps; j++) {
      const tau = j - d + 1 - frac;
      let v: number;
      if (dense) {
        const pos = (tau + d) * DENSE;
        const k = Math.floor(pos);
        const t = pos - k;
        v = dense[k]! * (1 - t) + (dense[k + 1] ?? 0) * t;
      } else {
        v = kernel(tau);
      }
      out[j] = v;
      sum += v;
    }
    for (let j = 0; j < taps; j++) out[j] = out[j]! / sum;
    return out;
  };
  const table: (Float64Array | undefined)[] = new Array(direct ? up : 0);
  const phase = (p: number): Float64Array => {
    if (!direct) return compute(p);
    let t = table[p];
    if (t === undefined) {
      t = compute(p);
      table[p] = t;
    }
    return t;
  };
  return {
    fromRate,
    toRate,
    up,
    down,
    cutoffHz,
    passbandHz,
    stopbandHz,
    beta,
    halfWidth,
    taps,
    stopbandAttenuationDb: atten,
    kernel,
    phase,
  };
}

/** Σ x[xi + j]·h[hi + j] for j < n, four independent accumulators (lets the JIT pipeline the adds). */
export function dot(x: Float64Array, xi: number, h: Float64Array, hi: number, n: number): number {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  let j = 0;
  for (; j + 3 < n; j += 4) {
    a0 += x[xi + j]! * h[hi + j]!;
    a1 += x[xi + j + 1]! * h[hi + j + 1]!;
    a2 += x[xi + j + 2]! * h[hi + j + 2]!;
    a3 += x[xi + j + 3]! * h[hi + j + 3]!;
  }
  for (; j < n; j++) a0 += x[xi + j]! * h[hi + j]!;
  return a0 + a1 + (a2 + a3);
}

/** Resamples one channel with a design; output length ceil(n · up / down). */
export function resampleChannel(x: Float32Array, design: ResamplerDesign): Float32Array {
  const { up, down, taps } = design;
  const d = taps / 2;
  const n = x.length;
  const outLen = Math.ceil((n * up) / down);
  const padded = new Float64Array(n + 2 * taps);
  for (let i = 0; i < n; i++) padded[i + taps] = x[i]!;
  const out = new Float32Array(outLen);
  for (let m = 0; m < outLen; m++) {
    const pos = m * down;
    const i0 = Math.floor(pos / up);
    const p = pos - i0 * up;
    const h = design.phase(p);
    out[m] = dot(padded, i0 - d + 1 + taps, h, 0, taps);
  }
  return out;
}

/**
 * Band-limited resampling to targetRate with a polyphase Kaiser-windowed sinc (default: 120 dB stopband
 * from the lower Nyquist frequency, passband to 0.9 of it). Zero-phase: output sample m sits at input
 * time m·from/to. Returns the clip itself (copied) when the rates are equal.
 */
export function resampleClip(clip: AudioClip, targetRate: number, options: ResampleOptions = {}): AudioClip {
  const c = checkClip(clip, 'resampleClip');
  assertFinite(c, 'resampleClip input');
  if (c.sampleRate === targetRate) {
    return { sampleRate: c.sampleRate, channels: c.channels.map((ch) => ch.slice()) };
  }
  const design = designResampler(c.sampleRate, targetRate, options);
  return { sampleRate: targetRate, channels: c.channels.map((ch) => resampleChannel(ch, design)) };
}
