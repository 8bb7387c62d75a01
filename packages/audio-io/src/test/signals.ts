import type { AudioClip } from '@audiogen/core';
import { randomFloats } from '@audiogen/core/test';

/** A sine of peak amplitude 10^(dbfs/20) (EBU Tech 3341 convention: "−23 dBFS" is the peak level). */
export function sine(
  freq: number,
  dbfs: number,
  seconds: number,
  sampleRate: number,
  phase = 0,
): Float32Array {
  const n = Math.round(seconds * sampleRate);
  const a = 10 ** (dbfs / 20);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = a * Math.sin((2 * Math.PI * freq * i) / sampleRate + phase);
  return out;
}

/** Concatenates segments of [dbfs, seconds] 1 kHz sine, each starting at phase 0. */
export function sineSequence(segments: [number, number][], sampleRate: number, freq = 1000): Float32Array {
  const parts = segments.map(([db, s]) => sine(freq, db, s, sampleRate));
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function stereo(x: Float32Array, sampleRate: number): AudioClip {
  return { sampleRate, channels: [x, x.slice()] };
}

/** Deterministic uniform noise in [-amp, amp) (xorshift32). */
export const noise = randomFloats;

/** Least-squares amplitude of a sinusoid of known frequency in x (and the residual RMS). */
export function fitSine(x: Float32Array, freq: number, sampleRate: number, from = 0, to = x.length) {
  let ss = 0;
  let sc = 0;
  let cc = 0;
  let xs = 0;
  let xc = 0;
  for (let i = from; i < to; i++) {
    const w = (2 * Math.PI * freq * i) / sampleRate;
    const s = Math.sin(w);
    const c = Math.cos(w);
    ss += s * s;
    sc += s * c;
    cc += c * c;
    xs += x[i]! * s;
    xc += x[i]! * c;
  }
  const det = ss * cc - sc * sc;
  const a = (xs * cc - xc * sc) / det;
  const b = (xc * ss - xs * sc) / det;
  let res = 0;
  for (let i = from; i < to; i++) {
    const w = (2 * Math.PI * freq * i) / sampleRate;
    const r = x[i]! - a * Math.sin(w) - b * Math.cos(w);
    res += r * r;
  }
  return { amplitude: Math.hypot(a, b), residualRms: Math.sqrt(res / (to - from)) };
}
