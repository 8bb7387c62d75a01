import { type AudioClip, AudiogenError } from '@audiogen/core';
import { truePeak } from './truepeak';
import { applyGain, checkClip, checkNumber, dbToGain, samplePeak } from './util';

export interface TrimOptions {
  /** Start, seconds from the beginning (default 0). */
  start?: number;
  /** Length to keep, seconds (default: to the end). Longer than what is left keeps what is left. */
  duration?: number;
}

/** Cuts a clip to [start, start + duration) (rounded to whole frames); returns copies of the samples. */
export function trimClip(clip: AudioClip, options: TrimOptions): AudioClip {
  const c = checkClip(clip, 'trimClip');
  const n = c.channels[0]!.length;
  const start = checkNumber(options?.start ?? 0, 'trim start', 0);
  const from = Math.min(n, Math.round(start * c.sampleRate));
  let to = n;
  if (options?.duration !== undefined) {
    const duration = checkNumber(options.duration, 'trim duration', 0);
    to = Math.min(n, from + Math.round(duration * c.sampleRate));
  }
  return { sampleRate: c.sampleRate, channels: c.channels.map((ch) => ch.slice(from, to)) };
}

export type FadeShape = 'linear' | 'cosine' | 'equal-power';

export interface FadeOptions {
  /** Fade-in length, seconds (default 0). */
  in?: number;
  /** Fade-out length, seconds (default 0). */
  out?: number;
  /** Gain curve: 'cosine' (raised cosine, default), 'linear', or 'equal-power' (quarter sine). */
  shape?: FadeShape;
}

function curve(shape: FadeShape): (t: number) => number {
  switch (shape) {
    case 'linear':
      return (t) => t;
    case 'cosine':
      return (t) => 0.5 - 0.5 * Math.cos(Math.PI * t);
    case 'equal-power':
      return (t) => Math.sin((Math.PI / 2) * t);
    default:
      throw new AudiogenError('INVALID_ARGUMENT', `unknown fade shape ${JSON.stringify(shape)}`);
  }
}

/**
 * Applies a fade-in to the first and a fade-out to the last samples. The first sample of a fade-in and
 * the last sample of a fade-out are exactly 0. Fades longer than the clip are shortened to it.
 */
export function fadeClip(clip: AudioClip, options: FadeOptions): AudioClip {
  const c = checkClip(clip, 'fadeClip');
  const n = c.channels[0]!.length;
  const g = curve(options?.shape ?? 'cosine');
  const nIn = Math.min(n, Math.round(checkNumber(options?.in ?? 0, 'fade in', 0) * c.sampleRate));
  const nOut = Math.min(n, Math.round(checkNumber(options?.out ?? 0, 'fade out', 0) * c.sampleRate));
  return {
    sampleRate: c.sampleRate,
    channels: c.channels.map((ch) => {
      const out = ch.slice();
      for (let i = 0; i < nIn; i++) out[i] = out[i]! * g(i / nIn);
      for (let k = 0; k < nOut; k++) out[n - 1 - k] = out[n - 1 - k]! * g(k / nOut);
      return out;
    }),
  };
}

export interface PeakNormalizeOptions {
  /** Peak level to reach, dBFS (default −1). */
  peakDb?: number;
  /** false: only turn down clips whose peak is above peakDb (peak protection). Default true. */
  boost?: boolean;
  /** Measure the true (4× oversampled) peak instead of the sample peak. Default false. */
  truePeak?: boolean;
}

/** Scales a clip so its peak is at peakDb (default −1 dBFS). A silent clip comes back unchanged. */
export function peakNormalize(clip: AudioClip, options: PeakNormalizeOptions = {}): AudioClip {
  const c = checkClip(clip, 'peakNormalize');
  const target = dbToGain(checkNumber(options.peakDb ?? -1, 'peakDb', -200, 20));
  const peak = options.truePeak ? truePeak(c) : samplePeak(c);
  if (!(peak > 0) || !Number.isFinite(peak)) return applyGain(c, 1);
  const gain = target / peak;
  return applyGain(c, options.boost === false ? Math.min(1, gain) : gain);
}

export interface MixOptions {
  /**
   * Explicit mixing matrix, matrix[out][in]; overrides the defaults. Must be target × source in size.
   */
  matrix?: readonly (readonly number[])[];
}

const M3DB = Math.SQRT1_2;

/**
 * Default up/down-mix matrix (rows: outputs, columns: inputs), for channels in WAV/SMPTE order
 * (L R C LFE Ls Rs …). 1→2 copies; 2→1 averages; 5.0/5.1→2 is ITU-R BS.775 (C and surrounds at −3 dB,
 * LFE dropped); n→1 averages (LFE dropped for 6); 1→n (n ≥ 3) feeds C (index 2); 2→n feeds L, R.
 * Other pairs need an explicit matrix.
 */
export function defaultMixMatrix(from: number, to: number): number[][] {
  const m = Array.from({ length: to }, () => new Array<number>(from).fill(0));
  if (from === to) {
    for (let i = 0; i < to; i++) m[i]![i] = 1;
    return m;
  }
  if (to === 1) {
    const use = from === 6 ? [0, 1, 2, 4, 5] : [...Array(from).keys()];
    for (const i of use) m[0]![i] = 1 / use.length;
    return m;
  }
  if (from === 1) {
    if (to === 2 || to === 4) {
      m[0]![0] = 1;
      m[1]![0] = 1;
    } else {
      m[2]![0] = 1;
    }
    return m;
  }
  if (from === 2) {
    m[0]![0] = 1;
    m[1]![1] = 1;
    return m;
  }
  if (to === 2 && (from === 5 || from === 6)) {
    const [ls, rs] = from === 5 ? [3, 4] : [4, 5];
    m[0]![0] = 1;
    m[0]![2] = M3DB;
    m[0]![ls] = M3DB;
    m[1]![1] = 1;
    m[1]![2] = M3DB;
    m[1]![rs] = M3DB;
    return m;
  }
  throw new AudiogenError(
    'UNSUPPORTED',
    `no default mix from ${from} to ${to} channels; pass options.matrix (${to} rows × ${from} columns)`,
  );
}

/**
 * Up/down-mixes a clip to `channels` channels with a matrix (default: defaultMixMatrix). Down-mixes can
 * exceed full scale; run the output policy afterwards.
 */
export function mixChannels(clip: AudioClip, channels: number, options: MixOptions = {}): AudioClip {
  const c = checkClip(clip, 'mixChannels');
  if (!Number.isInteger(channels) || channels < 1 || channels > 1024) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `channel count must be an integer 1–1024, got ${String(channels)}`,
    );
  }
  const from = c.channels.length;
  const matrix = options.matrix ?? defaultMixMatrix(from, channels);
  if (matrix.length !== channels || matrix.some((row) => !Array.isArray(row) || row.length !== from)) {
    throw new AudiogenError('INVALID_ARGUMENT', `mix matrix must be ${channels} rows × ${from} columns`);
  }
  for (const row of matrix) for (const v of row) checkNumber(v, 'mix matrix entry');
  const n = c.channels[0]!.length;
  return {
    sampleRate: c.sampleRate,
    channels: matrix.map((row) => {
      const out = new Float32Array(n);
      const acc = new Float64Array(n);
      for (let j = 0; j < from; j++) {
        const w = row[j]!;
        if (w === 0) continue;
        const x = c.channels[j]!;
        for (let i = 0; i < n; i++) acc[i] = acc[i]! + w * x[i]!;
      }
      out.set(acc);
      return out;
    }),
  };
}
