import { type AudioClip, AudiogenError, audioClip } from '@audiogen/core';

/** Throws NON_FINITE_AUDIO (with channel and frame in details) if any sample is NaN or ±Infinity. */
export function assertFinite(clip: AudioClip, what = 'audio'): void {
  for (let c = 0; c < clip.channels.length; c++) {
    const ch = clip.channels[c]!;
    for (let i = 0; i < ch.length; i++) {
      const v = ch[i]!;
      // v - v is 0 for finite numbers and NaN for NaN/±Inf: one test covers both.
      if (v - v !== 0) {
        throw new AudiogenError(
          'NON_FINITE_AUDIO',
          `${what} has a non-finite sample (${v}) in channel ${c} at frame ${i} (${(i / clip.sampleRate).toFixed(3)} s)`,
          { details: { channel: c, frame: i, value: String(v) } },
        );
      }
    }
  }
}

/** Validates a clip argument of a public function (INVALID_ARGUMENT on anything malformed). */
export function checkClip(clip: AudioClip, fn: string): AudioClip {
  if (clip === null || typeof clip !== 'object' || !Array.isArray(clip.channels)) {
    throw new AudiogenError('INVALID_ARGUMENT', `${fn} expects an AudioClip { sampleRate, channels }`);
  }
  return audioClip(clip.sampleRate, clip.channels);
}

export function dbToGain(db: number): number {
  return 10 ** (db / 20);
}

export function gainToDb(gain: number): number {
  return 20 * Math.log10(gain);
}

/** Largest absolute sample over all channels (0 for an empty clip). */
export function samplePeak(clip: AudioClip): number {
  let peak = 0;
  for (const ch of clip.channels) {
    for (let i = 0; i < ch.length; i++) {
      const a = Math.abs(ch[i]!);
      if (a > peak) peak = a;
    }
  }
  return peak;
}

/** A new clip with every sample multiplied by gain. */
export function applyGain(clip: AudioClip, gain: number): AudioClip {
  return {
    sampleRate: clip.sampleRate,
    channels: clip.channels.map((ch) => {
      const out = new Float32Array(ch.length);
      for (let i = 0; i < ch.length; i++) out[i] = ch[i]! * gain;
      return out;
    }),
  };
}

export function checkNumber(value: unknown, name: string, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `${name} must be a finite number${min > -Infinity ? ` ≥ ${min}` : ''}${max < Infinity ? ` ≤ ${max}` : ''}, got ${String(value)}`,
    );
  }
  return value;
}
