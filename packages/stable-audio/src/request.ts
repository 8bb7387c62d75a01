import {
  type AudioClip,
  AudiogenError,
  type AudiogenErrorCode,
  isAudiogenError,
  randomSeed,
  type SamplerConfig,
} from '@audiogen/core';
import { DEFAULT_SECONDS } from './family';
import type { SamplerApi } from './sampling';

/** Noise generators: counter-based Philox (default) or Arm's std::mt19937 + normal_distribution<float>. */
export type StableAudioNoise = 'philox' | 'arm-mt19937';
/**
 * Time schedules: `'rf'` (default) is stable-audio-tools' rectified-flow schedule in float64; `'arm-f32'`
 * is the same schedule computed as Arm's C++ `fill_sigmas` does, in float32 (differs by at most one float ulp).
 */
export type StableAudioSchedule = 'rf' | 'arm-f32';
export const STABLE_AUDIO_NOISES: readonly StableAudioNoise[] = ['philox', 'arm-mt19937'];
export const STABLE_AUDIO_SCHEDULES: readonly StableAudioSchedule[] = ['rf', 'arm-f32'];

/** What a request is checked against: facts of a model folder, known from its files' tables (no weights). */
export interface StableAudioLimits {
  sampleRate: number;
  /** Frames the decoder writes (524,288 for SAO-small). */
  decoderFrames: number;
  /** Longest clip, decoderFrames / sampleRate (11.89 s for SAO-small). */
  maxSeconds: number;
  /** Family defaults (from the folder's config). */
  steps: number;
  sampler: string;
  cfgScale: number;
  /** Channels the autoencoder encoder takes; undefined when the folder (or the pipeline) has no encoder. */
  encoderChannels: number | undefined;
  /** The folder, for messages. */
  dir: string;
}

/** The request options (what generate() takes besides its signal and callbacks). */
export interface StableAudioRequestOptions {
  prompt: string;
  /** Unconditional prompt for CFG (used only when cfgScale ≠ 1; a warning says so otherwise). */
  negativePrompt?: string;
  /**
   * Clip length in seconds, conditioned on and written: in (0, maxSeconds] (11.89 s for SAO-small), at least
   * one audio frame; anything else is an INVALID_ARGUMENT (no clamping). Default 10 (or maxSeconds if shorter).
   */
  seconds?: number;
  /**
   * Write the decoder's whole output (maxSeconds, 524,288 frames for SAO-small) while conditioning on `seconds`,
   * as Arm's app does (conditioned on 10 s, writes 11.89 s). Default false: output trimmed to `seconds`.
   */
  fullLength?: boolean;
  /** Default from the family (8). */
  steps?: number;
  /** Sampler name or configuration. Default from the family ('pingpong'). */
  sampler?: string | SamplerConfig;
  /** Time schedule; default 'rf'. 'arm-f32' = Arm's float32 `fill_sigmas`. */
  schedule?: StableAudioSchedule;
  /** Classifier-free guidance scale. Default from the family (1 = off). */
  cfgScale?: number;
  /** uint32 seed; random (and reported) when omitted. Variation v uses seed + v. */
  seed?: number;
  /** Number of clips, 1–64. Default 1. */
  variations?: number;
  /** Audio-to-audio: the clip to start from (needs the encoder). */
  initAudio?: AudioClip;
  /** How much noise to add to the init audio, in (0, 1]; default 0.7. Needs initAudio. */
  initNoiseLevel?: number;
  /** Noise generator kind; default 'philox'. */
  noise?: StableAudioNoise;
}

export type StableAudioOptionName = keyof StableAudioRequestOptions;

/**
 * A checked, normalised request: every default filled in, every value in range, the seed drawn. Running it
 * cannot fail on an argument; only the models, the files and the signal can stop it.
 */
export interface PreparedStableAudioRequest {
  readonly prompt: string;
  /** undefined when guidance is off or no negative prompt was given (then CFG uses zero cross tokens). */
  readonly negativePrompt: string | undefined;
  /** Seconds the conditioner is given. */
  readonly seconds: number;
  readonly secondsRequested: number;
  /** Frames written per clip. */
  readonly frames: number;
  readonly steps: number;
  readonly sampler: SamplerConfig;
  readonly schedule: StableAudioSchedule;
  readonly cfgScale: number;
  readonly seed: number;
  readonly variations: number;
  readonly noise: StableAudioNoise;
  readonly init: { readonly audio: AudioClip; readonly noiseLevel: number } | undefined;
  /** Things a person should know (an ignored negative prompt…). */
  readonly warnings: readonly string[];
}

export interface PrepareOptions {
  /** The sampler registry to check names against (default @audiogen/sampler's). */
  api: Pick<SamplerApi, 'createSampler'>;
  /** How options are called in messages (a CLI passes its flag names). Default: the option names. */
  names?: Partial<Record<StableAudioOptionName, string>>;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Turns user options into a checked request, before any model is loaded or run: every problem is a typed
 * AudiogenError naming the option (in the caller's words, see `names`). Pure apart from drawing a random seed
 * when none is given.
 */
export function prepareStableAudioRequest(
  options: StableAudioRequestOptions,
  limits: StableAudioLimits,
  { api, names = {} }: PrepareOptions,
): PreparedStableAudioRequest {
  const n = (k: StableAudioOptionName) => names[k] ?? k;
  const fail = (k: StableAudioOptionName, message: string, code: AudiogenErrorCode = 'INVALID_ARGUMENT') =>
    new AudiogenError(code, `${n(k)} ${message}`, { details: { option: k } });
  if (!options || typeof options !== 'object')
    throw new AudiogenError('INVALID_ARGUMENT', 'generate needs an options object');
  const o = options;
  if (typeof o.prompt !== 'string') throw fail('prompt', 'must be a string');
  const warnings: string[] = [];

  // One rule for the length: (0, maxSeconds], at least one frame; never clamped.
  const max = limits.maxSeconds;
  const requested = o.seconds ?? Math.min(DEFAULT_SECONDS, max);
  if (!isNum(requested) || requested <= 0 || requested > max) {
    // The bound is printed rounded down, so the number shown is itself accepted (11.89 would not be).
    const shown = (Math.floor(max * 1e4) / 1e4).toFixed(4);
    throw fail(
      'seconds',
      `must be in (0, ${shown}] for this model (its longest clip: ${limits.decoderFrames} frames at ${limits.sampleRate} Hz), got ${String(requested)}`,
    );
  }
  const trimmed = Math.min(limits.decoderFrames, Math.round(requested * limits.sampleRate));
  if (trimmed < 1) {
    throw fail(
      'seconds',
      `${requested} gives no audio frame at ${limits.sampleRate} Hz (the shortest clip is 1/${limits.sampleRate} s)`,
    );
  }
  if (o.fullLength !== undefined && typeof o.fullLength !== 'boolean')
    throw fail('fullLength', 'must be true or false');
  const frames = o.fullLength ? limits.decoderFrames : trimmed;

  const steps = o.steps ?? limits.steps;
  if (!Number.isInteger(steps) || steps < 1 || steps > 1000)
    throw fail('steps', `must be an integer in [1, 1000], got ${String(steps)}`);

  const cfgScale = o.cfgScale ?? limits.cfgScale;
  if (!isNum(cfgScale) || cfgScale < 0 || cfgScale > 100)
    throw fail('cfgScale', `must be a number in [0, 100], got ${String(cfgScale)}`);
  if (o.negativePrompt !== undefined && typeof o.negativePrompt !== 'string')
    throw fail('negativePrompt', 'must be a string');
  let negativePrompt = o.negativePrompt || undefined;
  if (negativePrompt !== undefined && cfgScale === 1) {
    warnings.push(
      `${n('negativePrompt')} is ignored: ${n('cfgScale')} is 1 (guidance off); set ${n('cfgScale')} above 1 to use it`,
    );
    negativePrompt = undefined;
  }

  let sampler: SamplerConfig;
  if (typeof o.sampler === 'object' && o.sampler !== null) sampler = { ...o.sampler, steps };
  else if (o.sampler === undefined || typeof o.sampler === 'string')
    sampler = { name: o.sampler ?? limits.sampler, steps };
  else throw fail('sampler', 'must be a sampler name or configuration');
  try {
    api.createSampler(sampler);
  } catch (e) {
    if (!isAudiogenError(e)) throw e;
    throw new AudiogenError(e.code, `${n('sampler')}: ${e.message}`, {
      cause: e,
      details: { ...e.details, option: 'sampler' },
    });
  }

  const schedule = o.schedule ?? 'rf';
  if (!STABLE_AUDIO_SCHEDULES.includes(schedule))
    throw fail('schedule', `must be one of ${STABLE_AUDIO_SCHEDULES.join(', ')}, got ${String(schedule)}`);
  const noise = o.noise ?? 'philox';
  if (!STABLE_AUDIO_NOISES.includes(noise))
    throw fail('noise', `must be one of ${STABLE_AUDIO_NOISES.join(', ')}, got ${String(noise)}`);

  const seed = o.seed ?? randomSeed();
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw fail('seed', `must be an integer in [0, 2^32), got ${String(seed)}`);
  const variations = o.variations ?? 1;
  if (!Number.isInteger(variations) || variations < 1 || variations > 64)
    throw fail('variations', `must be an integer in [1, 64], got ${String(variations)}`);

  let init: PreparedStableAudioRequest['init'];
  if (o.initAudio !== undefined) {
    const clip = o.initAudio;
    if (
      !clip ||
      !Array.isArray(clip.channels) ||
      clip.channels.length === 0 ||
      !isNum(clip.sampleRate) ||
      clip.sampleRate <= 0
    ) {
      throw fail('initAudio', 'must be an AudioClip (sampleRate and at least one channel)');
    }
    const want = limits.encoderChannels;
    if (want === undefined) {
      throw fail(
        'initAudio',
        `(audio-to-audio) needs the autoencoder encoder, and ${limits.dir} has none (autoencoder_encoder.tflite) ` +
          'or the pipeline was made without it; `audiogen convert` builds one',
        'UNSUPPORTED',
      );
    }
    // NaN in, NaN out: refused rather than returning NaN audio.
    let nonFinite = 0;
    for (const ch of clip.channels)
      for (let i = 0; i < ch.length; i++) if (!Number.isFinite(ch[i]!)) nonFinite++;
    if (nonFinite > 0) throw fail('initAudio', `has ${nonFinite} samples that are NaN or infinite`);
    const have = clip.channels.length;
    if (have !== want && have !== 1 && want !== 1)
      throw fail('initAudio', `has ${have} channels, the model takes ${want} (or mono)`);
    const noiseLevel = o.initNoiseLevel ?? 0.7;
    if (!isNum(noiseLevel) || !(noiseLevel > 0 && noiseLevel <= 1))
      throw fail('initNoiseLevel', `must be a number in (0, 1], got ${String(noiseLevel)}`);
    init = { audio: clip, noiseLevel };
  } else if (o.initNoiseLevel !== undefined) {
    throw fail('initNoiseLevel', `needs ${n('initAudio')}`);
  }

  return {
    prompt: o.prompt,
    negativePrompt: cfgScale === 1 ? undefined : negativePrompt,
    seconds: requested,
    secondsRequested: requested,
    frames,
    steps,
    sampler,
    schedule,
    cfgScale,
    seed,
    variations,
    noise,
    init,
    warnings,
  };
}
