import { AudiogenError } from './errors';

/** Planar audio: one Float32Array per channel, all the same length, nominal range [-1, 1]. */
export interface AudioClip {
  readonly sampleRate: number;
  readonly channels: readonly Float32Array[];
}

export function audioClip(sampleRate: number, channels: readonly Float32Array[]): AudioClip {
  if (!Number.isFinite(sampleRate) || sampleRate <= 0 || !Number.isInteger(sampleRate)) {
    throw new AudiogenError('INVALID_ARGUMENT', `sample rate must be a positive integer, got ${sampleRate}`);
  }
  if (channels.length === 0)
    throw new AudiogenError('INVALID_ARGUMENT', 'an audio clip needs at least one channel');
  const n = channels[0]!.length;
  for (const [i, c] of channels.entries()) {
    if (!(c instanceof Float32Array)) {
      throw new AudiogenError('INVALID_ARGUMENT', `channel ${i} must be a Float32Array`);
    }
    if (c.length !== n) {
      throw new AudiogenError('INVALID_ARGUMENT', `channel ${i} has ${c.length} samples, channel 0 has ${n}`);
    }
  }
  return { sampleRate, channels };
}

export function clipFrames(clip: AudioClip): number {
  return clip.channels[0]?.length ?? 0;
}

export function clipDuration(clip: AudioClip): number {
  return clipFrames(clip) / clip.sampleRate;
}
