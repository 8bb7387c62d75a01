import { AudiogenError, type Guidance } from '@audiogen/core';

export interface CfgOptions {
  /** Guidance scale; 1 = no guidance (and no unconditional model call). */
  scale: number;
  /**
   * CFG rescale φ in [0, 1] (stable-audio-tools `scale_phi`, Lin et al. 2023); default 0 (off):
   * out = φ·cfg·(std(cond)/std(cfg)) + (1 − φ)·cfg, std unbiased (n − 1), taken over dim 1 of
   * `shape` (the channel axis of [batch, channels, frames]) or over the whole tensor without `shape`.
   */
  rescale?: number;
  /** Guidance applies only when interval[0] ≤ t ≤ interval[1]; default [0, 1]. */
  interval?: readonly [number, number];
  /** Latent shape, e.g. [1, 64, 256], for the rescale statistics over dim 1. */
  shape?: readonly number[];
}

/**
 * Classifier-free guidance: out = uncond + (cond − uncond)·scale, optionally rescaled, inside a t
 * interval. Outside the interval (or with scale 1) needsUncond is false and combine returns cond.
 */
export function cfgGuidance(options: CfgOptions): Guidance {
  const scale = options?.scale;
  if (typeof scale !== 'number' || !Number.isFinite(scale)) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `guidance scale must be a finite number, got ${String(scale)}`,
    );
  }
  const phi = options.rescale ?? 0;
  if (typeof phi !== 'number' || !(phi >= 0 && phi <= 1)) {
    throw new AudiogenError('INVALID_ARGUMENT', `guidance rescale must be in [0, 1], got ${String(phi)}`);
  }
  const [lo, hi] = options.interval ?? [0, 1];
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi)) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `guidance interval must be [lo, hi] with lo ≤ hi, got [${lo}, ${hi}]`,
    );
  }
  const shape = options.shape;
  if (shape !== undefined) {
    if (!Array.isArray(shape) || shape.length < 2 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new AudiogenError(
        'INVALID_ARGUMENT',
        `guidance shape must list ≥ 2 positive integers, got ${JSON.stringify(shape)}`,
      );
    }
  }
  const active = (t: number) => scale !== 1 && t >= lo && t <= hi;
  return {
    scale,
    needsUncond: active,
    combine(cond, uncond, t) {
      if (cond.length !== uncond.length) {
        throw new AudiogenError(
          'MODEL_MISMATCH',
          `cond has ${cond.length} values but uncond has ${uncond.length}`,
        );
      }
      if (!active(t)) return cond;
      const n = cond.length;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = uncond[i]! + (cond[i]! - uncond[i]!) * scale;
      if (phi === 0) return out;
      // groups: for shape [B, C, ...rest], std over C for each (b, rest) position
      let B = 1;
      let C = n;
      let R = 1;
      if (shape) {
        const total = shape.reduce((a, b) => a * b, 1);
        if (total !== n) {
          throw new AudiogenError(
            'MODEL_MISMATCH',
            `guidance shape ${JSON.stringify(shape)} has ${total} values, the model output has ${n}`,
          );
        }
        B = shape[0]!;
        C = shape[1]!;
        R = total / (B * C);
      }
      const res = new Float32Array(n);
      for (let b = 0; b < B; b++) {
        for (let r = 0; r < R; r++) {
          const base = b * C * R + r;
          const sc = stdStrided(cond, base, C, R);
          const so = stdStrided(out, base, C, R);
          // A constant output (std 0) would give NaN in the reference; keep it unscaled instead.
          const k = so === 0 ? 1 : sc / so;
          for (let c = 0; c < C; c++) {
            const idx = base + c * R;
            const o = out[idx]!;
            res[idx] = phi * (o * k) + (1 - phi) * o;
          }
        }
      }
      return res;
    },
  };
}

/** Unbiased standard deviation of a[base + c·stride], c = 0..count−1 (NaN for count 1, as torch). */
function stdStrided(a: Float32Array, base: number, count: number, stride: number): number {
  let mean = 0;
  for (let c = 0; c < count; c++) mean += a[base + c * stride]!;
  mean /= count;
  let ss = 0;
  for (let c = 0; c < count; c++) {
    const d = a[base + c * stride]! - mean;
    ss += d * d;
  }
  return Math.sqrt(ss / (count - 1));
}
