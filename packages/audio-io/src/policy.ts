import { type AudioClip, AudiogenError } from '@audiogen/core';
import { fadeClip, trimClip } from './edit';
import { measureLoudness } from './loudness';
import { truePeak } from './truepeak';
import { applyGain, assertFinite, checkClip, checkNumber, dbToGain, gainToDb, samplePeak } from './util';

/**
 * How generated audio is made safe before it is written. Defaults: peak protection to −1 dBFS (turn
 * down only, never clip, never boost), no loudness target, no trim, no fades.
 */
export interface OutputPolicy {
  /** Skip all gain changes (peak and loudness); trims and fades still apply. */
  raw?: boolean;
  /**
   * 'protect' (default): turn the clip down if its peak exceeds the ceiling; 'normalize': scale the
   * peak to the ceiling (up or down); 'off': leave peaks alone (PCM encoding then clamps overs).
   */
  peak?: 'protect' | 'normalize' | 'off';
  /** Peak ceiling, dBFS (default −1). */
  ceilingDb?: number;
  /** Measure peaks 4× oversampled (true peak, dBTP) instead of sample peaks. Default false. */
  truePeak?: boolean;
  /**
   * Integrated loudness target (ITU-R BS.1770-4), LUFS, e.g. −14 or −23. Applied before the peak
   * stage, so with peak 'protect' the ceiling wins when both cannot hold (the report says so).
   */
  loudnessLufs?: number;
  /** Keep [start, start + duration) seconds. */
  trim?: { start?: number; duration?: number };
  /** Fade-in length, seconds (default 0; 0.01 s when a trim cut the clip's start, to avoid a click). */
  fadeIn?: number;
  /** Fade-out length, seconds (default 0; 0.01 s when a trim cut the clip's end, to avoid a click). */
  fadeOut?: number;
}

/** What applyOutputPolicy did. */
export interface OutputPolicyReport {
  readonly clip: AudioClip;
  /** Total gain applied, dB (0 for raw). */
  readonly gainDb: number;
  /** Peak of the (trimmed) input, dBFS or dBTP. */
  readonly inputPeakDb: number;
  /** Peak of the output, dBFS or dBTP (before fades, which only lower it). */
  readonly outputPeakDb: number;
  /** Integrated loudness before/after (LUFS); only measured when a loudness target is set. */
  readonly inputLoudness?: number;
  readonly outputLoudness?: number;
  /** True when the peak ceiling lowered the gain (a loudness target was then not reached). */
  readonly limitedByCeiling: boolean;
}

/** Default fade (in or out) where a trim cut audio off, seconds. */
export const TRIM_FADE_OUT = 0.01;

/**
 * Applies an output policy (or 'raw': no gain changes at all) and reports what it did. NaN/±Inf samples
 * always throw NON_FINITE_AUDIO — even in raw mode: they would become full-scale noise or break
 * downstream tools.
 */
export function applyOutputPolicyDetailed(
  clip: AudioClip,
  policy: OutputPolicy | 'raw' | 'default' = 'default',
): OutputPolicyReport {
  const p: OutputPolicy = policy === 'raw' ? { raw: true } : policy === 'default' ? {} : policy;
  if (p === null || typeof p !== 'object') {
    throw new AudiogenError('INVALID_ARGUMENT', `output policy must be an object, 'raw' or 'default'`);
  }
  let c = checkClip(clip, 'applyOutputPolicy');
  assertFinite(c, 'generated audio');
  const peakMode = p.peak ?? 'protect';
  if (!['protect', 'normalize', 'off'].includes(peakMode)) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `peak must be 'protect', 'normalize' or 'off', got ${String(peakMode)}`,
    );
  }
  if (peakMode === 'normalize' && p.loudnessLufs !== undefined) {
    throw new AudiogenError('INVALID_ARGUMENT', "peak 'normalize' and loudnessLufs are exclusive targets");
  }
  const ceiling = dbToGain(checkNumber(p.ceilingDb ?? -1, 'ceilingDb', -100, 20));
  if (p.loudnessLufs !== undefined) checkNumber(p.loudnessLufs, 'loudnessLufs', -100, 20);

  const frames = c.channels[0]!.length;
  let cutEnd = false;
  let cutStart = false;
  if (p.trim !== undefined) {
    c = trimClip(c, p.trim);
    const start = Math.round((p.trim.start ?? 0) * c.sampleRate);
    cutStart = start > 0 && c.channels[0]!.length > 0;
    cutEnd = start + c.channels[0]!.length < frames;
  }
  const peakOf = (x: AudioClip) => (p.truePeak ? truePeak(x) : samplePeak(x));
  const inputPeak = peakOf(c);
  let gain = 1;
  let limited = false;
  let inputLoudness: number | undefined;
  if (!p.raw) {
    if (p.loudnessLufs !== undefined) {
      inputLoudness = measureLoudness(c);
      if (Number.isFinite(inputLoudness)) gain = dbToGain(p.loudnessLufs - inputLoudness);
    }
    if (peakMode === 'normalize' && inputPeak > 0) gain = ceiling / inputPeak;
    if (peakMode === 'protect' && inputPeak * gain > ceiling) {
      gain = ceiling / inputPeak;
      limited = true;
    }
  }
  // Always hand back fresh sample arrays (gain 1 copies), never the caller's.
  if (gain !== 1 || c.channels[0] === clip.channels[0]) c = applyGain(c, gain);
  const outputPeak = inputPeak * gain;
  const fadeOut = p.fadeOut ?? (cutEnd ? TRIM_FADE_OUT : 0);
  const fadeIn = p.fadeIn ?? (cutStart ? TRIM_FADE_OUT : 0);
  if (fadeIn > 0 || fadeOut > 0) c = fadeClip(c, { in: fadeIn, out: fadeOut });
  return {
    clip: c,
    gainDb: gainToDb(gain),
    inputPeakDb: gainToDb(inputPeak),
    outputPeakDb: gainToDb(outputPeak),
    ...(inputLoudness !== undefined ? { inputLoudness, outputLoudness: inputLoudness + gainToDb(gain) } : {}),
    limitedByCeiling: limited,
  };
}

/** applyOutputPolicyDetailed, returning only the clip. */
export function applyOutputPolicy(
  clip: AudioClip,
  policy: OutputPolicy | 'raw' | 'default' = 'default',
): AudioClip {
  return applyOutputPolicyDetailed(clip, policy).clip;
}
