/**
 * AEQ's five validation metrics (ai_edge_quantizer/utils/validation_utils.py), called as
 * fn(target = quantized, reference = float). Inputs are flattened; NaN → 1e-9, -inf → -1e9,
 * +inf → 1e9; sizes must match; empty → 0.
 */
import { AudiogenError } from '@audiogen/core';

export const METRICS = ['mse', 'median_diff_ratio', 'cosine_similarity', 'kl_divergence', 'snr'] as const;
export type MetricName = (typeof METRICS)[number];

function clean(a: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = Math.fround(a[i]!);
    out[i] = Number.isNaN(v)
      ? 1e-9
      : v === Number.POSITIVE_INFINITY
        ? 1e9
        : v === Number.NEGATIVE_INFINITY
          ? -1e9
          : v;
  }
  return out;
}

function prep(t: ArrayLike<number>, r: ArrayLike<number>): [Float64Array, Float64Array] {
  if (t.length !== r.length) {
    throw new AudiogenError('INVALID_ARGUMENT', `metric inputs differ in size: ${t.length} vs ${r.length}`);
  }
  return [clean(t), clean(r)];
}

export function mse(target: ArrayLike<number>, reference: ArrayLike<number>): number {
  const [t, r] = prep(target, reference);
  if (!t.length) return 0;
  let s = 0;
  for (let i = 0; i < t.length; i++) s += (t[i]! - r[i]!) ** 2;
  return s / t.length;
}

export function medianDiffRatio(
  target: ArrayLike<number>,
  reference: ArrayLike<number>,
  tolerance = 1e-6,
): number {
  const [t, r] = prep(target, reference);
  if (!t.length) return 0;
  const ratios = new Float64Array(t.length);
  for (let i = 0; i < t.length; i++) ratios[i] = Math.abs(t[i]! - r[i]!) / (Math.abs(r[i]!) + tolerance);
  ratios.sort();
  const n = ratios.length;
  return n % 2 ? ratios[(n - 1) / 2]! : (ratios[n / 2 - 1]! + ratios[n / 2]!) / 2;
}

export function cosineSimilarity(target: ArrayLike<number>, reference: ArrayLike<number>): number {
  const [t, r] = prep(target, reference);
  if (!t.length) return 0;
  let dot = 0;
  let nt = 0;
  let nr = 0;
  for (let i = 0; i < t.length; i++) {
    dot += t[i]! * r[i]!;
    nt += t[i]! * t[i]!;
    nr += r[i]! * r[i]!;
  }
  if (nt === 0 && nr === 0) return 1;
  if (nt === 0 || nr === 0) return 0;
  return dot / (Math.sqrt(nt) * Math.sqrt(nr));
}

/** KL(P‖Q) with P = max(reference, 0), Q = max(target, 0), ε = 1e-9. */
export function klDivergence(
  target: ArrayLike<number>,
  reference: ArrayLike<number>,
  epsilon = 1e-9,
): number {
  const [t, r] = prep(target, reference);
  if (!t.length) return 0;
  let s = 0;
  for (let i = 0; i < t.length; i++) {
    const p = Math.max(0, r[i]!);
    const q = Math.max(0, t[i]!);
    s += p * Math.log((p + epsilon) / (q + epsilon));
  }
  return s;
}

/** Linear SNR: mean(reference²) / (mse + 1e-9). */
export function snr(target: ArrayLike<number>, reference: ArrayLike<number>, epsilon = 1e-9): number {
  const [, r] = prep(target, reference);
  if (!r.length) return 0;
  let p = 0;
  for (let i = 0; i < r.length; i++) p += r[i]! * r[i]!;
  return p / r.length / (mse(target, reference) + epsilon);
}

export const METRIC_FUNCTIONS: Record<MetricName, (t: ArrayLike<number>, r: ArrayLike<number>) => number> = {
  mse,
  median_diff_ratio: medianDiffRatio,
  cosine_similarity: cosineSimilarity,
  kl_divergence: klDivergence,
  snr,
};

export function computeMetrics(
  target: ArrayLike<number>,
  reference: ArrayLike<number>,
  metrics: readonly MetricName[] = METRICS,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of metrics) out[m] = METRIC_FUNCTIONS[m](target, reference);
  return out;
}
