import type { AudioClip } from '@audiogen/core';
import { designResampler, dot, type ResamplerDesign } from './resample';

const designs = new Map<number, ResamplerDesign>();

/** Oversampling factor for true-peak measurement: 4× below 96 kHz, 2× below 192 kHz, else 1×. */
export function truePeakOversampling(sampleRate: number): number {
  return sampleRate < 96000 ? 4 : sampleRate < 192000 ? 2 : 1;
}

/**
 * Largest absolute value of the band-limited (oversampled) signal, per ITU-R BS.1770-4 Annex 2: the
 * clip is interpolated by 4 (48 kHz) with a 70 dB Kaiser-windowed sinc (passband to 0.85·Nyquist, ripple < 0.003 dB) and the peak of the result
 * taken (linear). Always ≥ the sample peak.
 */
export function truePeak(clip: AudioClip): number {
  const fs = clip.sampleRate;
  const r = truePeakOversampling(fs);
  let peak = 0;
  for (const ch of clip.channels) {
    for (let i = 0; i < ch.length; i++) {
      const a = Math.abs(ch[i]!);
      if (a > peak) peak = a;
    }
  }
  if (r === 1) return peak;
  let design = designs.get(fs);
  if (!design) {
    design = designResampler(fs, fs * r, { stopbandAttenuationDb: 70, passbandEdge: 0.85 });
    designs.set(fs, design);
  }
  const taps = design.taps;
  const d = taps / 2;
  // Phases 1..r−1 (phase 0 is the sample itself, up to the tiny per-phase normalisation), flat.
  const coef = new Float64Array((r - 1) * taps);
  for (let p = 1; p < r; p++) coef.set(design.phase(p), (p - 1) * taps);
  const nph = r - 1;
  for (const ch of clip.channels) {
    const n = ch.length;
    const padded = new Float64Array(n + 2 * taps);
    padded.set(ch, taps);
    let max = peak;
    for (let i = 0; i < n; i++) {
      const base = i - d + 1 + taps;
      for (let p = 0; p < nph; p++) {
        const acc = dot(padded, base, coef, p * taps, taps);
        if (acc > max) max = acc;
        else if (-acc > max) max = -acc;
      }
    }
    peak = max;
  }
  return peak;
}
