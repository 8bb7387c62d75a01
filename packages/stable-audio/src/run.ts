import { resampleClip } from '@audiogen/audio-io';
import {
  type AudioClip,
  AudiogenError,
  audioClip,
  type Conditioner,
  type Conditioning,
  type Decoder,
  type GenerateTimings,
  generate,
  type ProgressCallback,
  type Tensor,
  tensor,
  throwIfAborted,
} from '@audiogen/core';
import { COND_CROSS } from './adapters';
import type { PreparedStableAudioRequest } from './request';
import type { ResidencyStrategy, StageContext } from './residency';
import type { SamplerApi } from './sampling';
import type { T5Tokenizer } from './tokenizer/t5';

export interface StableAudioClip {
  clip: AudioClip;
  seed: number;
  latents: Float32Array;
}

export interface StableAudioTimings extends GenerateTimings {
  /**
   * Models loaded by this generate() call, label → ms (`conditioners`, `dit`, `decoder`, `encoder`): with
   * residency 'all' only a first-use encoder load. encodeMs/denoiseMs/decodeMs never include loads; totalMs is
   * the whole call.
   */
  loadMs: Record<string, number>;
}

export interface StableAudioResult {
  clips: StableAudioClip[];
  /** The first variation's seed. */
  seed: number;
  /** Seconds written per clip. */
  seconds: number;
  /** Seconds asked for (and conditioned on). */
  secondsRequested: number;
  sampleRate: number;
  steps: number;
  sampler: string;
  schedule: string;
  noise: string;
  cfgScale: number;
  promptTruncated: boolean;
  timings: StableAudioTimings;
  /**
   * Latent frames the decoder ran per clip, of `total` (a full decode): a shorter clip needs fewer when the
   * decoder's frame dimension is open (our converter's decoders); a fixed decoder (Arm's export) always runs all.
   */
  decodedFrames: { latent: number; total: number };
  /** Things a person should know (an ignored negative prompt, a truncated prompt). */
  warnings: string[];
}

/** What a run is told about besides its request. */
export interface RunHooks {
  signal?: AbortSignal;
  /** Progress: encode, step, decode, done; a `load` pair before each model loaded by this call. */
  onProgress?: ProgressCallback;
  /**
   * Called with each finished clip (trimmed, final) as soon as it is decoded, before the next one starts
   * (with residency 'stage' the clips are decoded after the DiT has run for all of them). An app writes it
   * here to keep finished clips when a later variation is aborted. Awaited.
   */
  onClip?: (clip: StableAudioClip, index: number) => void | Promise<void>;
}

export interface RunEnvironment {
  residency: ResidencyStrategy;
  tokenizer: T5Tokenizer;
  api: SamplerApi;
  sampleRate: number;
}

/** Brings init audio to the model's rate and channel count (mono duplicated, stereo averaged to mono). */
function fitInitAudio(clip: AudioClip, sampleRate: number, channels: number): AudioClip {
  const c = clip.sampleRate === sampleRate ? clip : resampleClip(clip, sampleRate);
  if (c.channels.length === channels) return c;
  if (c.channels.length === 1)
    return audioClip(
      c.sampleRate,
      Array.from({ length: channels }, () => c.channels[0]!),
    );
  if (channels === 1) {
    const n = c.channels[0]!.length;
    const mono = new Float32Array(n);
    for (const ch of c.channels) for (let i = 0; i < n; i++) mono[i] = mono[i]! + ch[i]! / c.channels.length;
    return audioClip(c.sampleRate, [mono]);
  }
  // prepareStableAudioRequest refuses other channel counts.
  throw new AudiogenError('INTERNAL', `init audio has ${c.channels.length} channels, the model ${channels}`);
}

/** CFG without a negative prompt: stable-audio-tools' unconditional pass uses all-zero cross tokens. */
function zeroCross(positive: Conditioning): Conditioning {
  const out: Record<string, Tensor> = { ...positive };
  out[COND_CROSS] = tensor('float32', positive[COND_CROSS]!.shape);
  return out;
}

/**
 * Runs a prepared request stage by stage — encoder (audio-to-audio) → conditioner → DiT → decoder — through
 * the residency strategy, which decides when models load and how variations are grouped. The sampling itself
 * is core's `generate`, given the conditioning computed here and a decoder that only keeps the latents.
 */
export async function runStableAudio(
  req: PreparedStableAudioRequest,
  env: RunEnvironment,
  hooks: RunHooks = {},
): Promise<StableAudioResult> {
  const t0 = performance.now();
  const { residency, tokenizer, api, sampleRate } = env;
  const { signal, onProgress: emit, onClip } = hooks;
  const loadMs: Record<string, number> = {};
  const ctx: StageContext = { signal, onProgress: emit, loadMs };
  throwIfAborted(signal, 'generation');

  let initLatents: Float32Array | undefined;
  if (req.init) {
    const { audio } = req.init;
    initLatents = await residency.use('encoder', ctx, async (enc) => {
      emit?.({ type: 'encode', done: false });
      return enc.encode(fitInitAudio(audio, sampleRate, enc.channels), { signal });
    });
  }

  // Conditioning once for all variations, exactly as core's generate would (same tokens, calls and order).
  const guided = req.cfgScale !== 1;
  const conditioned = await residency.use('conditioners', ctx, async (c) => {
    emit?.({ type: 'encode', done: false });
    const e0 = performance.now();
    const tokens = tokenizer.encode(req.prompt);
    const cond = await c.condition(tokens, { seconds: req.seconds, signal });
    let uncond: Conditioning | undefined;
    if (guided) {
      uncond =
        req.negativePrompt === undefined
          ? zeroCross(cond)
          : await c.condition(tokenizer.encode(req.negativePrompt), { seconds: req.seconds, signal });
    }
    const ms = performance.now() - e0;
    emit?.({ type: 'encode', done: true, truncated: tokens.truncated, tokens: tokens.length, ms });
    return { cond, uncond, ms, truncated: tokens.truncated };
  });

  const sampler = api.createSampler(req.sampler);
  const schedule = api.rfSchedule({
    steps: req.steps,
    sigmaMax: req.init?.noiseLevel ?? 1,
    ...(req.schedule === 'arm-f32' ? { float32: true } : {}),
  });
  const guidance = guided ? api.cfgGuidance({ scale: req.cfgScale }) : undefined;
  const noise = (seed: number) => api.createNoiseSource(seed, { kind: req.noise });
  // Core's generate conditions the prompt first, then (with guidance) the negative prompt: hand it ours.
  const cachedConditioning = (): Conditioner => {
    let calls = 0;
    return {
      async condition() {
        calls++;
        return calls === 1 ? conditioned.cond : conditioned.uncond!;
      },
    };
  };
  const keepLatents: Decoder = {
    sampleRate,
    async decode() {
      return { sampleRate, channels: [] };
    },
  };

  const clips: StableAudioClip[] = [];
  const stepMs: number[][] = [];
  let denoiseMs = 0;
  let decodeMs = 0;
  let decoded = { latent: 0, total: 0 };
  for (const group of residency.groups(req.variations)) {
    const first = group[0]!;
    const denoised = await residency.use('dit', ctx, async (den) => {
      return generate(
        {
          prompt: req.prompt,
          negativePrompt: req.negativePrompt ?? '',
          seconds: req.seconds,
          seed: (req.seed + first) >>> 0,
          variations: group.length,
          initLatents,
          signal,
          onProgress: emit && ((e) => e.type === 'step' && emit({ ...e, variation: e.variation + first })),
        },
        {
          tokenizer,
          conditioner: cachedConditioning(),
          denoiser: den,
          decoder: keepLatents,
          sampler,
          schedule,
          noise,
          guidance,
        },
      );
    });
    stepMs.push(...denoised.timings.stepMs);
    denoiseMs += denoised.timings.denoiseMs;
    await residency.use('decoder', ctx, async (dec) => {
      for (const [i, c] of denoised.clips.entries()) {
        const v = first + i;
        throwIfAborted(signal, 'generation');
        emit?.({ type: 'decode', variation: v, done: false });
        const d0 = performance.now();
        decoded = { latent: dec.latentFramesFor(req.frames), total: dec.latentFrames };
        const full = await dec.decode(c.latents, { signal, frames: req.frames });
        const ms = performance.now() - d0;
        decodeMs += ms;
        emit?.({ type: 'decode', variation: v, done: true, ms });
        const clip: StableAudioClip = {
          seed: c.seed,
          latents: c.latents,
          clip: full, // already req.frames long
        };
        clips.push(clip);
        await onClip?.(clip, v);
      }
    });
  }

  const totalMs = performance.now() - t0;
  emit?.({ type: 'done', ms: totalMs });
  const warnings = [...req.warnings];
  if (conditioned.truncated)
    warnings.push(`the prompt is longer than ${tokenizer.maxLength} tokens and was truncated`);
  return {
    clips,
    seed: req.seed,
    seconds: Math.min(req.frames, clips[0]?.clip.channels[0]?.length ?? req.frames) / sampleRate,
    secondsRequested: req.secondsRequested,
    sampleRate,
    steps: req.steps,
    sampler: req.sampler.name,
    schedule: req.schedule,
    noise: req.noise,
    cfgScale: req.cfgScale,
    promptTruncated: conditioned.truncated,
    timings: { encodeMs: conditioned.ms, stepMs, denoiseMs, decodeMs, totalMs, loadMs },
    decodedFrames: decoded,
    warnings,
  };
}
