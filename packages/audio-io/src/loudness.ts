import { type AudioClip, AudiogenError } from '@audiogen/core';
import { truePeak } from './truepeak';
import { applyGain, assertFinite, checkClip, checkNumber, dbToGain, samplePeak } from './util';

/** A normalised biquad: y = b0·x + b1·x[-1] + b2·x[-2] − a1·y[-1] − a2·y[-2]. */
export interface Biquad {
  readonly b0: number;
  readonly b1: number;
  readonly b2: number;
  readonly a1: number;
  readonly a2: number;
}

/** The two K-weighting stages as published in ITU-R BS.1770-4, Tables 1 and 2 (48 kHz). */
export const BS1770_48K: readonly [Biquad, Biquad] = [
  {
    b0: 1.53512485958697,
    b1: -2.69169618940638,
    b2: 1.19839281085285,
    a1: -1.69065929318241,
    a2: 0.73248077421585,
  },
  { b0: 1, b1: -2, b2: 1, a1: -1.99004745483398, a2: 0.99007225036621 },
];

/** Analog prototype of a bilinear-transformed biquad: corner f0 (Hz), quality Q, and for the shelf
 * the high-frequency gain Vh and the band gain Vb of the numerator's s term. */
export interface AnalogPrototype {
  readonly f0: number;
  readonly q: number;
  readonly vh: number;
  readonly vb: number;
}

/**
 * Recovers the analog prototype behind a biquad designed by the bilinear transform with the
 * corner pre-warped (K = tan(π·f0/fs)): H(z) = (Vh·(z−1)² + Vb·(K/Q)(z²−1) + K²(z+1)²) /
 * ((z−1)² + (K/Q)(z²−1) + K²(z+1)²), normalised by the z² coefficient of the denominator a0.
 * From a1, a2: a0 = 4/(1 − a1 + a2), K² = a0(1 + a1 + a2)/4, K/Q = a0(1 − a2)/2; from the numerator:
 * Vh = a0(b0 − b1 + b2)/4, Vb = a0(b0 − b2)/(2K/Q).
 */
export function analogPrototype(bq: Biquad, sampleRate: number): AnalogPrototype {
  const a0 = 4 / (1 - bq.a1 + bq.a2);
  const k = Math.sqrt((a0 * (1 + bq.a1 + bq.a2)) / 4);
  const kOverQ = (a0 * (1 - bq.a2)) / 2;
  return {
    f0: (sampleRate * Math.atan(k)) / Math.PI,
    q: k / kOverQ,
    vh: (a0 * (bq.b0 - bq.b1 + bq.b2)) / 4,
    vb: (a0 * (bq.b0 - bq.b2)) / (2 * kOverQ),
  };
}

function shelf(p: AnalogPrototype, fs: number): Biquad {
  const k = Math.tan((Math.PI * p.f0) / fs);
  const kq = k / p.q;
  const a0 = 1 + kq + k * k;
  return {
    b0: (p.vh + p.vb * kq + k * k) / a0,
    b1: (2 * (k * k - p.vh)) / a0,
    b2: (p.vh - p.vb * kq + k * k) / a0,
    a1: (2 * (k * k - 1)) / a0,
    a2: (1 - kq + k * k) / a0,
  };
}

function highpass(p: AnalogPrototype, fs: number): Biquad {
  const k = Math.tan((Math.PI * p.f0) / fs);
  const kq = k / p.q;
  const a0 = 1 + kq + k * k;
  // Numerator Vh·(z − 1)²: BS.1770 publishes it as 1, −2, 1 at 48 kHz, i.e. a passband gain Vh ≈ 1.005
  // (+0.043 dB) that its −0.691 offset was calibrated with. Keeping Vh (not the raw 1, −2, 1) keeps
  // that gain, and so the meter's reading, the same at every sample rate.
  const g = p.vh / a0;
  return { b0: g, b1: -2 * g, b2: g, a1: (2 * (k * k - 1)) / a0, a2: (1 - kq + k * k) / a0 };
}

const SHELF_PROTO = analogPrototype(BS1770_48K[0], 48000);
const HIGHPASS_PROTO = analogPrototype(BS1770_48K[1], 48000);

/** The K-weighting prototypes (shelf: f0 ≈ 1681.97 Hz, Q ≈ 0.7072, +4.0 dB; high-pass: f0 ≈ 38.14 Hz, Q ≈ 0.5003). */
export const K_WEIGHTING_PROTOTYPES = { shelf: SHELF_PROTO, highpass: HIGHPASS_PROTO } as const;

/**
 * K-weighting filter coefficients for any sample rate: the analog prototypes implied by the
 * published 48 kHz filters, re-discretised by the bilinear transform pre-warped at each corner.
 * At 48 kHz this reproduces the published coefficients.
 */
export function kWeightingFilters(sampleRate: number): [Biquad, Biquad] {
  checkNumber(sampleRate, 'sampleRate', 1);
  if (sampleRate <= 2 * SHELF_PROTO.f0) {
    throw new AudiogenError(
      'UNSUPPORTED',
      `loudness measurement needs a sample rate above ${Math.ceil(2 * SHELF_PROTO.f0)} Hz, got ${sampleRate}`,
    );
  }
  return [shelf(SHELF_PROTO, sampleRate), highpass(HIGHPASS_PROTO, sampleRate)];
}

/** Magnitude response (linear) of a biquad at frequency f. */
export function biquadMagnitude(bq: Biquad, f: number, sampleRate: number): number {
  const w = (2 * Math.PI * f) / sampleRate;
  const c1 = Math.cos(w);
  const s1 = Math.sin(w);
  const c2 = Math.cos(2 * w);
  const s2 = Math.sin(2 * w);
  const nr = bq.b0 + bq.b1 * c1 + bq.b2 * c2;
  const ni = -(bq.b1 * s1 + bq.b2 * s2);
  const dr = 1 + bq.a1 * c1 + bq.a2 * c2;
  const di = -(bq.a1 * s1 + bq.a2 * s2);
  return Math.sqrt((nr * nr + ni * ni) / (dr * dr + di * di));
}

export interface LoudnessOptions {
  /**
   * Per-channel weights G_i. Default by channel count: 5 → L R C Ls Rs (1, 1, 1, 1.41, 1.41);
   * 6 → L R C LFE Ls Rs (1, 1, 1, 0, 1.41, 1.41); otherwise 1 for every channel.
   */
  channelWeights?: readonly number[];
}

export interface AnalyzeLoudnessOptions extends LoudnessOptions {
  /** Also measure the true peak (4× oversampling; costs about as much as everything else × 10). */
  truePeak?: boolean;
}

export interface LoudnessAnalysis {
  /** Gated integrated loudness (LUFS); −Infinity when no 400 ms block passes the gates. */
  readonly integrated: number;
  /** Highest momentary (400 ms) loudness, LUFS. */
  readonly momentaryMax: number;
  /** Highest short-term (3 s) loudness, LUFS. */
  readonly shortTermMax: number;
  /** Loudness range (EBU Tech 3342), LU; 0 when under two short-term values pass its gates. */
  readonly loudnessRange: number;
  /** Largest absolute sample, dBFS. */
  readonly samplePeakDb: number;
  /** Largest absolute value of the 4×-oversampled signal (BS.1770-4 Annex 2), dBTP; only with truePeak. */
  readonly truePeakDb?: number;
}

function defaultWeights(n: number): number[] {
  if (n === 5) return [1, 1, 1, 1.41, 1.41];
  if (n === 6) return [1, 1, 1, 0, 1.41, 1.41];
  return new Array<number>(n).fill(1);
}

/**
 * K-weighted energy per 100 ms segment and channel. Segment k covers samples
 * [round(k·fs/10), round((k+1)·fs/10)); a gating block is 4 consecutive segments (400 ms, 75 % overlap).
 */
function segmentEnergies(
  clip: AudioClip,
  weights: readonly number[],
): { sums: Float64Array; bounds: number[] } {
  const n = clip.channels[0]!.length;
  const fs = clip.sampleRate;
  const bounds: number[] = [0];
  for (let k = 1; ; k++) {
    const b = Math.round((k * fs) / 10);
    if (b > n) break;
    bounds.push(b);
  }
  const segs = bounds.length - 1;
  const sums = new Float64Array(Math.max(segs, 0));
  const [s1, s2] = kWeightingFilters(fs);
  for (let c = 0; c < clip.channels.length; c++) {
    const g = weights[c]!;
    if (g === 0) continue;
    const x = clip.channels[c]!;
    // Direct form I over both stages, in float64.
    let x1 = 0;
    let x2 = 0;
    let y1 = 0;
    let y2 = 0;
    let z1 = 0;
    let z2 = 0;
    let seg = 0;
    let end = bounds[1] ?? Number.POSITIVE_INFINITY;
    let acc = 0;
    const limit = segs > 0 ? bounds[segs]! : 0;
    for (let i = 0; i < limit; i++) {
      const xi = x[i]!;
      const y = s1.b0 * xi + s1.b1 * x1 + s1.b2 * x2 - s1.a1 * y1 - s1.a2 * y2;
      x2 = x1;
      x1 = xi;
      const z = s2.b0 * y + s2.b1 * y1 + s2.b2 * y2 - s2.a1 * z1 - s2.a2 * z2;
      y2 = y1;
      y1 = y;
      z2 = z1;
      z1 = z;
      acc += z * z;
      if (i + 1 === end) {
        sums[seg] = sums[seg]! + g * acc;
        acc = 0;
        seg++;
        end = bounds[seg + 1] ?? Number.POSITIVE_INFINITY;
      }
    }
  }
  return { sums, bounds };
}

/** Weighted mean-square energy of windows of `len` segments, hopping one segment (100 ms). */
function windowEnergies(sums: Float64Array, bounds: number[], len: number): Float64Array {
  const count = Math.max(0, sums.length - len + 1);
  const out = new Float64Array(count);
  let acc = 0;
  for (let k = 0; k < len - 1 && k < sums.length; k++) acc += sums[k]!;
  for (let j = 0; j < count; j++) {
    acc += sums[j + len - 1]!;
    out[j] = acc / (bounds[j + len]! - bounds[j]!);
    acc -= sums[j]!;
  }
  return out;
}

const lufs = (energy: number) => -0.691 + 10 * Math.log10(energy);

function gatedIntegrated(energies: Float64Array): number {
  // Absolute gate at −70 LUFS, then the relative gate 10 LU below the absolutely-gated loudness.
  let sum = 0;
  let count = 0;
  for (const e of energies) {
    if (lufs(e) > -70) {
      sum += e;
      count++;
    }
  }
  if (count === 0) return Number.NEGATIVE_INFINITY;
  const relGate = lufs(sum / count) - 10;
  sum = 0;
  count = 0;
  for (const e of energies) {
    const l = lufs(e);
    if (l > -70 && l > relGate) {
      sum += e;
      count++;
    }
  }
  return count === 0 ? Number.NEGATIVE_INFINITY : lufs(sum / count);
}

function loudnessRangeOf(shortTerm: Float64Array): number {
  // EBU Tech 3342: short-term values gated at −70 LUFS absolute and 20 LU below their mean energy.
  let sum = 0;
  let count = 0;
  for (const e of shortTerm) {
    if (lufs(e) > -70) {
      sum += e;
      count++;
    }
  }
  if (count === 0) return 0;
  const gate = lufs(sum / count) - 20;
  const kept: number[] = [];
  for (const e of shortTerm) {
    const l = lufs(e);
    if (l > -70 && l > gate) kept.push(l);
  }
  if (kept.length < 2) return 0;
  kept.sort((a, b) => a - b);
  const pct = (p: number) => {
    const pos = (kept.length - 1) * p;
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, kept.length - 1);
    return kept[lo]! + (kept[hi]! - kept[lo]!) * (pos - lo);
  };
  return pct(0.95) - pct(0.1);
}

function prepare(
  clip: AudioClip,
  options: LoudnessOptions,
  fn: string,
): { clip: AudioClip; weights: number[] } {
  const checked = checkClip(clip, fn);
  assertFinite(checked, fn);
  const n = checked.channels.length;
  const weights = options.channelWeights ? [...options.channelWeights] : defaultWeights(n);
  if (weights.length !== n) {
    throw new AudiogenError('INVALID_ARGUMENT', `${fn}: ${weights.length} channel weights for ${n} channels`);
  }
  for (const w of weights) checkNumber(w, 'channel weight', 0);
  return { clip: checked, weights };
}

/**
 * Integrated loudness per ITU-R BS.1770-4 (LUFS / LKFS): K-weighting, 400 ms blocks with 75 % overlap,
 * absolute gate −70 LUFS, relative gate −10 LU. −Infinity for clips shorter than 400 ms or silent ones.
 */
export function measureLoudness(clip: AudioClip, options: LoudnessOptions = {}): number {
  const { clip: c, weights } = prepare(clip, options, 'measureLoudness');
  const { sums, bounds } = segmentEnergies(c, weights);
  return gatedIntegrated(windowEnergies(sums, bounds, 4));
}

/** Integrated loudness plus the other EBU Mode figures (momentary/short-term max, LRA, peaks). */
export function analyzeLoudness(clip: AudioClip, options: AnalyzeLoudnessOptions = {}): LoudnessAnalysis {
  const { clip: c, weights } = prepare(clip, options, 'analyzeLoudness');
  const { sums, bounds } = segmentEnergies(c, weights);
  const momentary = windowEnergies(sums, bounds, 4);
  const shortTerm = windowEnergies(sums, bounds, 30);
  let mMax = 0;
  for (const e of momentary) if (e > mMax) mMax = e;
  let sMax = 0;
  for (const e of shortTerm) if (e > sMax) sMax = e;
  return {
    integrated: gatedIntegrated(momentary),
    momentaryMax: momentary.length ? lufs(mMax) : Number.NEGATIVE_INFINITY,
    shortTermMax: shortTerm.length ? lufs(sMax) : Number.NEGATIVE_INFINITY,
    loudnessRange: loudnessRangeOf(shortTerm),
    samplePeakDb: 20 * Math.log10(samplePeak(c)),
    ...(options.truePeak ? { truePeakDb: 20 * Math.log10(truePeak(c)) } : {}),
  };
}

export interface LoudnessNormalizeOptions extends LoudnessOptions {
  /**
   * Highest sample peak allowed after the gain, dBFS. When the loudness gain would push the peak
   * above it, the gain is lowered so the peak sits at the ceiling (the target is then not reached).
   * Default: no ceiling.
   */
  ceilingDb?: number;
}

/**
 * Scales a clip so its integrated loudness is targetLufs. A clip with no gated loudness (silence or
 * shorter than 400 ms) is returned unchanged (as a copy).
 */
export function loudnessNormalize(
  clip: AudioClip,
  targetLufs: number,
  options: LoudnessNormalizeOptions = {},
): AudioClip {
  checkNumber(targetLufs, 'targetLufs', -100, 20);
  const measured = measureLoudness(clip, options);
  if (!Number.isFinite(measured)) return applyGain(clip, 1);
  let gain = dbToGain(targetLufs - measured);
  if (options.ceilingDb !== undefined) {
    const ceiling = dbToGain(checkNumber(options.ceilingDb, 'ceilingDb', -100, 20));
    const peak = samplePeak(clip);
    if (peak * gain > ceiling) gain = ceiling / peak;
  }
  return applyGain(clip, gain);
}
