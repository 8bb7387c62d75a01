import { resampleClip } from '@audiogen/audio-io';
import {
  type AudioClip,
  AudiogenError,
  audioClip,
  type Conditioner,
  type Conditioning,
  formatShape,
  type GenerateTimings,
  generate,
  type Model,
  type ProgressCallback,
  type Runtime,
  type SamplerConfig,
  sameShape,
  type Tensor,
  tensor,
} from '@audiogen/core';
import {
  COND_CROSS,
  StableAudioConditioner,
  StableAudioDecoder,
  StableAudioDenoiser,
  StableAudioEncoder,
} from './adapters';
import { DEFAULT_SECONDS } from './family';
import { loadModelFolder, type StableAudioModelFolder } from './folder';
import { type SamplerApi, samplerApi } from './sampling';
import { T5Tokenizer } from './tokenizer/t5';

export interface StableAudioPipelineOptions {
  /** A model folder path or the result of loadModelFolder. */
  models: string | StableAudioModelFolder;
  runtime: Runtime;
  /** CPU threads per model (the runtime's default when omitted). */
  threads?: number;
  /** Run the decoder with XNNPACK FORCE_FP16 as Arm's sample does. Default: true on arm64, false elsewhere. */
  decoderFp16?: boolean;
  /** Load the encoder (audio-to-audio) when the folder has one. Default true. */
  loadEncoder?: boolean;
  /** Load progress events. */
  onProgress?: ProgressCallback;
  /** Replaces the sampler functions (tests, custom samplers). Defaults to @audiogen/sampler. */
  samplers?: Partial<SamplerApi>;
}

export interface StableAudioGenerateOptions {
  prompt: string;
  /** Unconditional prompt for CFG (used only when cfgScale ≠ 1). */
  negativePrompt?: string;
  /** Clip length; clamped to the model's maximum (11.89 s for SAO-small), conditioned on, output trimmed to it. Default 10. */
  seconds?: number;
  /** Default from the family (8). */
  steps?: number;
  /** Sampler name or configuration. Default from the family ('pingpong'). */
  sampler?: string | SamplerConfig;
  /** Classifier-free guidance scale. Default from the family (1 = off). */
  cfgScale?: number;
  /** uint32 seed; random (and reported) when omitted. Variation v uses seed + v. */
  seed?: number;
  variations?: number;
  /** Audio-to-audio: the clip to start from (needs the encoder). */
  initAudio?: AudioClip;
  /** How much noise to add to the init audio, in (0, 1]; default 0.7. */
  initNoiseLevel?: number;
  /** Noise generator kind; default 'philox'. */
  noise?: 'philox' | 'arm-mt19937';
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

export interface StableAudioClip {
  clip: AudioClip;
  seed: number;
  latents: Float32Array;
}

export interface StableAudioResult {
  clips: StableAudioClip[];
  /** The first variation's seed. */
  seed: number;
  /** Seconds conditioned on and written. */
  seconds: number;
  secondsRequested: number;
  sampleRate: number;
  steps: number;
  sampler: string;
  cfgScale: number;
  promptTruncated: boolean;
  timings: GenerateTimings;
  /** Things a person should know (clamped duration, truncated prompt). */
  warnings: string[];
}

export interface StableAudioPipeline {
  readonly folder: StableAudioModelFolder;
  readonly tokenizer: T5Tokenizer;
  readonly conditioner: StableAudioConditioner;
  readonly denoiser: StableAudioDenoiser;
  readonly decoder: StableAudioDecoder;
  readonly encoder: StableAudioEncoder | undefined;
  readonly sampleRate: number;
  /** Longest clip the decoder writes, in seconds. */
  readonly maxSeconds: number;
  readonly loadMs: Record<string, number>;
  generate(options: StableAudioGenerateOptions): Promise<StableAudioResult>;
  dispose(): void;
}

function checkThreads(threads: number | undefined): void {
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > 1024)) {
    throw new AudiogenError('INVALID_ARGUMENT', `threads must be a positive integer, got ${threads}`);
  }
}

/** Loads the models of a Stable Audio folder through any Runtime and returns a ready pipeline. */
export async function createStableAudioPipeline(
  options: StableAudioPipelineOptions,
): Promise<StableAudioPipeline> {
  const { runtime, threads, onProgress } = options;
  if (!runtime || typeof runtime.load !== 'function') {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      'createStableAudioPipeline needs a runtime (e.g. createNativeRuntime())',
    );
  }
  checkThreads(threads);
  const folder = typeof options.models === 'string' ? await loadModelFolder(options.models) : options.models;
  const decoderFp16 = options.decoderFp16 ?? process.arch === 'arm64';
  const api: SamplerApi = { ...samplerApi(), ...options.samplers };
  const cfg = folder.config;

  const loaded: Model[] = [];
  const loadMs: Record<string, number> = {};
  const load = async (label: string, path: string, forceFp16 = false): Promise<Model> => {
    onProgress?.({ type: 'load', model: label, done: false });
    const t0 = performance.now();
    const m = await runtime.load(path, {
      ...(threads ? { threads } : {}),
      label,
      ...(forceFp16 ? { forceFp16 } : {}),
    });
    loaded.push(m);
    loadMs[label] = performance.now() - t0;
    onProgress?.({ type: 'load', model: label, done: true, ms: loadMs[label] });
    return m;
  };
  try {
    const f = folder.files;
    const conditioner = new StableAudioConditioner(await load('conditioners', f.conditioners), {
      tokenLength: cfg.tokenLength,
    });
    const denoiser = new StableAudioDenoiser(await load('dit', f.dit));
    const decoder = new StableAudioDecoder(await load('decoder', f.decoder, decoderFp16), cfg.sampleRate);
    const encoder =
      f.encoder && options.loadEncoder !== false
        ? new StableAudioEncoder(await load('encoder', f.encoder), cfg.sampleRate)
        : undefined;
    // Cross-model checks: every mismatch names both files.
    const cross = conditioner.outputs.cross!.shape;
    if (!sameShape(cross, denoiser.inputs.cross!.shape)) {
      throw new AudiogenError(
        'MODEL_MISMATCH',
        `${f.conditioners} gives cross tokens ${formatShape(cross)} but ${f.dit} takes ${formatShape(denoiser.inputs.cross!.shape)}: the files come from different models`,
      );
    }
    const g = conditioner.outputs.global;
    const gi = denoiser.inputs.global;
    if (g && gi && !sameShape(g.shape, gi.shape)) {
      throw new AudiogenError(
        'MODEL_MISMATCH',
        `${f.conditioners} gives a global vector ${formatShape(g.shape)} but ${f.dit} takes ${formatShape(gi.shape)}`,
      );
    }
    if (!sameShape(decoder.latentShape, denoiser.latentShape)) {
      throw new AudiogenError(
        'MODEL_MISMATCH',
        `${f.decoder} takes latents ${formatShape(decoder.latentShape)} but ${f.dit} makes ${formatShape(denoiser.latentShape)}`,
      );
    }
    if (encoder && !sameShape(encoder.latentShape, denoiser.latentShape)) {
      throw new AudiogenError(
        'MODEL_MISMATCH',
        `${f.encoder} makes latents ${formatShape(encoder.latentShape)} but ${f.dit} takes ${formatShape(denoiser.latentShape)}`,
      );
    }
    const tokenizer = await T5Tokenizer.fromFile(f.tokenizer, { maxLength: conditioner.tokenLength });
    const sampleRate = cfg.sampleRate;
    const maxSeconds = decoder.frames / sampleRate;
    let disposed = false;

    const pipeline: StableAudioPipeline = {
      folder,
      tokenizer,
      conditioner,
      denoiser,
      decoder,
      encoder,
      sampleRate,
      maxSeconds,
      loadMs,
      dispose() {
        if (disposed) return;
        disposed = true;
        for (const m of loaded) m.dispose();
      },
      async generate(o: StableAudioGenerateOptions): Promise<StableAudioResult> {
        if (disposed) throw new AudiogenError('DISPOSED', 'this pipeline was disposed');
        if (!o || typeof o.prompt !== 'string')
          throw new AudiogenError('INVALID_ARGUMENT', 'prompt must be a string');
        const warnings: string[] = [];
        const requested = o.seconds ?? Math.min(DEFAULT_SECONDS, maxSeconds);
        if (
          typeof requested !== 'number' ||
          !Number.isFinite(requested) ||
          requested <= 0 ||
          requested > cfg.secondsMax
        ) {
          throw new AudiogenError(
            'INVALID_ARGUMENT',
            `seconds must be in (0, ${maxSeconds.toFixed(2)}] for this model, got ${requested}`,
          );
        }
        let seconds = requested;
        if (seconds > maxSeconds) {
          seconds = maxSeconds;
          warnings.push(
            `${requested} s is longer than the model makes; clamped to ${maxSeconds.toFixed(2)} s`,
          );
        }
        const frames = Math.min(decoder.frames, Math.round(seconds * sampleRate));
        if (frames < 1)
          throw new AudiogenError('INVALID_ARGUMENT', `seconds ${requested} gives no audio frames`);
        const steps = o.steps ?? cfg.steps;
        if (!Number.isInteger(steps) || steps < 1 || steps > 1000) {
          throw new AudiogenError('INVALID_ARGUMENT', `steps must be an integer in [1, 1000], got ${steps}`);
        }
        const cfgScale = o.cfgScale ?? cfg.cfgScale;
        if (typeof cfgScale !== 'number' || !Number.isFinite(cfgScale) || cfgScale < 0 || cfgScale > 100) {
          throw new AudiogenError(
            'INVALID_ARGUMENT',
            `cfgScale must be a number in [0, 100], got ${cfgScale}`,
          );
        }
        const samplerConfig: SamplerConfig =
          typeof o.sampler === 'object' && o.sampler !== null
            ? { ...o.sampler, steps }
            : { name: o.sampler ?? cfg.sampler, steps };
        const sampler = api.createSampler(samplerConfig);

        let initLatents: Float32Array | undefined;
        let sigmaMax = 1;
        if (o.initAudio !== undefined) {
          if (!encoder) {
            throw new AudiogenError(
              'UNSUPPORTED',
              `audio-to-audio needs the autoencoder encoder, and ${folder.dir} has no autoencoder_encoder.tflite; ` +
                '`audiogen convert` builds one',
              { details: { path: folder.dir } },
            );
          }
          sigmaMax = o.initNoiseLevel ?? 0.7;
          if (typeof sigmaMax !== 'number' || !(sigmaMax > 0 && sigmaMax <= 1)) {
            throw new AudiogenError('INVALID_ARGUMENT', `initNoiseLevel must be in (0, 1], got ${sigmaMax}`);
          }
          const clip = prepareInitAudio(o.initAudio, sampleRate, encoder.channels);
          o.onProgress?.({ type: 'encode', done: false });
          initLatents = await encoder.encode(clip, { signal: o.signal });
        } else if (o.initNoiseLevel !== undefined) {
          throw new AudiogenError('INVALID_ARGUMENT', 'initNoiseLevel needs initAudio');
        }
        const schedule = api.rfSchedule({ steps, sigmaMax });
        const noiseKind = o.noise ?? 'philox';
        // CFG without a negative prompt: stable-audio-tools uses all-zero cross tokens for the unconditional
        // pass and the same global vector. Core's generate conditions the prompt first, then the negative one.
        const zeroUncond = cfgScale !== 1 && !o.negativePrompt;
        let calls = 0;
        let positive: Conditioning | undefined;
        const cond: Conditioner = zeroUncond
          ? {
              async condition(tokens, params) {
                calls++;
                if (calls === 1) {
                  positive = await conditioner.condition(tokens, params);
                  return positive;
                }
                const out: Record<string, Tensor> = { ...positive! };
                const c = positive![COND_CROSS]!;
                out[COND_CROSS] = tensor('float32', c.shape);
                return out;
              },
            }
          : conditioner;
        const result = await generate(
          {
            prompt: o.prompt,
            negativePrompt: o.negativePrompt ?? '',
            seed: o.seed,
            seconds,
            variations: o.variations,
            initLatents,
            signal: o.signal,
            onProgress: o.onProgress,
          },
          {
            tokenizer,
            conditioner: cond,
            denoiser,
            decoder,
            sampler,
            schedule,
            noise: (seed) => api.createNoiseSource(seed, { kind: noiseKind }),
            guidance: cfgScale !== 1 ? api.cfgGuidance({ scale: cfgScale }) : undefined,
          },
        );
        if (result.promptTruncated) {
          warnings.push(`the prompt is longer than ${tokenizer.maxLength} tokens and was truncated`);
        }
        const clips = result.clips.map((c) => ({
          seed: c.seed,
          latents: c.latents,
          clip: audioClip(
            c.clip.sampleRate,
            c.clip.channels.map((ch) => ch.slice(0, frames)),
          ),
        }));
        return {
          clips,
          seed: result.seed,
          seconds: frames / sampleRate,
          secondsRequested: requested,
          sampleRate,
          steps,
          sampler: samplerConfig.name,
          cfgScale,
          promptTruncated: result.promptTruncated,
          timings: result.timings,
          warnings,
        };
      },
    };
    return pipeline;
  } catch (e) {
    for (const m of loaded) m.dispose();
    throw e;
  }
}

/** Brings init audio to the model's rate and channel count (mono duplicated, stereo kept). */
function prepareInitAudio(clip: AudioClip, sampleRate: number, channels: number): AudioClip {
  if (!clip || !Array.isArray(clip.channels) || clip.channels.length === 0) {
    throw new AudiogenError('INVALID_ARGUMENT', 'initAudio must be an AudioClip');
  }
  let c = clip;
  if (c.sampleRate !== sampleRate) {
    c = resampleClip(c, sampleRate);
  }
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
  throw new AudiogenError(
    'INVALID_ARGUMENT',
    `init audio has ${c.channels.length} channels, the model takes ${channels}`,
  );
}
