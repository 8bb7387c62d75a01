import { resampleClip } from '@audiogen/audio-io';
import {
  type AudioClip,
  AudiogenError,
  audioClip,
  type Conditioner,
  type Conditioning,
  type Decoder,
  formatShape,
  type GeneratedClip,
  type GenerateTimings,
  generate,
  type HostCpu,
  type LoadOptions,
  type Model,
  type ProgressCallback,
  type Runtime,
  randomSeed,
  type SamplerConfig,
  sameShape,
  type Tensor,
  tensor,
  throwIfAborted,
  validateSeed,
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
import { describeModel } from './model-info';
import { choosePrecision, type PrecisionChoice, type PrecisionRequest } from './precision';
import { type SamplerApi, samplerApi } from './sampling';
import { T5Tokenizer } from './tokenizer/t5';

/**
 * Which models a pipeline keeps in memory.
 * - `'all'` (default): createStableAudioPipeline loads every model and keeps it until dispose(); repeated
 *   generations pay no load time.
 * - `'stage'` (low memory): nothing is kept between generations; generate() loads each model right before
 *   its stage and disposes it right after (encoder for audio-to-audio → conditioner → DiT for all steps and
 *   variations → decoder), so peak memory is about the largest stage instead of the sum of all models, at
 *   the cost of loading every model on every generate(). Results are byte-identical to `'all'`.
 */
export type ModelResidency = 'all' | 'stage';

export interface StableAudioPipelineOptions {
  /** A model folder path or the result of loadModelFolder. */
  models: string | StableAudioModelFolder;
  runtime: Runtime;
  /** CPU threads per model (the runtime's default when omitted). */
  threads?: number;
  /**
   * Which precision of the DiT and decoder to run among the folder's files (`dit_model.int8.tflite`,
   * `autoencoder_model.int8.tflite`…), chosen for this CPU: see PrecisionRequest. Default `'auto'`.
   * What was picked and why: `pipeline.precision`.
   */
  precision?: PrecisionRequest;
  /** The CPU to choose precisions for; default `runtime.host` (runtime-native reports it). */
  host?: HostCpu;
  /**
   * Run the decoder with XNNPACK FORCE_FP16 as Arm's sample does. Default: on Arm CPUs with fp16
   * arithmetic (never on an int8 decoder), off elsewhere.
   */
  decoderFp16?: boolean;
  /** Load the encoder (audio-to-audio) when the folder has one. Default true. */
  loadEncoder?: boolean;
  /**
   * `'all'` (default) keeps every model loaded; `'stage'` (low memory) loads each model only for its stage
   * of generate(). See ModelResidency.
   */
  residency?: ModelResidency;
  /** Load progress events (with residency 'stage', generate()'s onProgress gets the per-stage load events). */
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
  /** Progress: encode, step, decode, done; with residency 'stage' also a `load` pair per stage. */
  onProgress?: ProgressCallback;
}

export interface StableAudioClip {
  clip: AudioClip;
  seed: number;
  latents: Float32Array;
}

export interface StableAudioTimings extends GenerateTimings {
  /**
   * Models loaded by this generate() call, label → ms (`conditioners`, `dit`, `decoder`, `encoder`): empty
   * with residency 'all'. encodeMs/denoiseMs/decodeMs never include loads; totalMs is the whole call.
   */
  loadMs: Record<string, number>;
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
  timings: StableAudioTimings;
  /** Things a person should know (clamped duration, truncated prompt). */
  warnings: string[];
}

export interface StableAudioPipeline {
  readonly folder: StableAudioModelFolder;
  readonly tokenizer: T5Tokenizer;
  /**
   * The adapters. With residency 'stage' they are bound to the models' tensor tables only (names, shapes)
   * and cannot run (UNSUPPORTED): generate() loads the real models per stage.
   */
  readonly conditioner: StableAudioConditioner;
  readonly denoiser: StableAudioDenoiser;
  readonly decoder: StableAudioDecoder;
  readonly encoder: StableAudioEncoder | undefined;
  readonly residency: ModelResidency;
  /** The files and precisions this pipeline runs, and why they were chosen for this host. */
  readonly precision: PrecisionChoice;
  readonly sampleRate: number;
  /** Longest clip the decoder writes, in seconds. */
  readonly maxSeconds: number;
  /**
   * Load times at creation, label → ms: every model with residency 'all'; with 'stage' none (the folder is
   * checked from the files' tensor tables) unless a file had to be loaded to be checked. Per-generation
   * loads are in the result's `timings.loadMs`.
   */
  readonly loadMs: Record<string, number>;
  generate(options: StableAudioGenerateOptions): Promise<StableAudioResult>;
  dispose(): void;
}

function checkThreads(threads: number | undefined): void {
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > 1024)) {
    throw new AudiogenError('INVALID_ARGUMENT', `threads must be a positive integer, got ${threads}`);
  }
}

interface FolderAdapters {
  conditioner: StableAudioConditioner;
  denoiser: StableAudioDenoiser;
  decoder: StableAudioDecoder;
  encoder: StableAudioEncoder | undefined;
}

/** Cross-model checks: every mismatch names both files. */
function checkCrossShapes(f: StableAudioModelFolder['files'], a: FolderAdapters): void {
  const { conditioner, denoiser, decoder, encoder } = a;
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
}

type AnyAdapter = StableAudioConditioner | StableAudioDenoiser | StableAudioDecoder | StableAudioEncoder;

/** What the pipeline relies on of an adapter (bound names, dtypes and shapes), as one comparable string. */
function bindingOf(a: AnyAdapter): string {
  const t = (i: { name: string; dtype: string; shape: readonly number[] } | undefined) =>
    i ? `${i.name}:${i.dtype}[${i.shape.join(',')}]` : '-';
  if (a instanceof StableAudioConditioner)
    return [a.tokenLength, ...Object.values(a.inputs).map(t), ...Object.values(a.outputs).map(t)].join(' ');
  if (a instanceof StableAudioDenoiser) return [...Object.values(a.inputs).map(t), t(a.output)].join(' ');
  return [t(a.input), t(a.output), a.channels, a.frames].join(' ');
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
  const residency: ModelResidency = options.residency ?? 'all';
  if (residency !== 'all' && residency !== 'stage') {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `residency must be 'all' or 'stage', got ${JSON.stringify(residency)}`,
    );
  }
  const folder = typeof options.models === 'string' ? await loadModelFolder(options.models) : options.models;
  const precision = choosePrecision(
    folder.files,
    options.precision ?? 'auto',
    options.host ?? runtime.host,
    options.decoderFp16 === undefined ? {} : { decoderFp16: options.decoderFp16 },
  );
  const decoderFp16 = precision.decoder.forceFp16;
  const api: SamplerApi = { ...samplerApi(), ...options.samplers };
  const cfg = folder.config;
  const f = { ...folder.files, dit: precision.dit.path, decoder: precision.decoder.path };
  const withEncoder = f.encoder !== undefined && options.loadEncoder !== false;

  const loadOptions = (label: string, forceFp16 = false): LoadOptions => ({
    ...(threads ? { threads } : {}),
    label,
    ...(forceFp16 ? { forceFp16 } : {}),
  });
  /** Models kept for the pipeline's life (residency 'all'). */
  const loaded: Model[] = [];
  /** Models loaded for a stage of a running generate() (residency 'stage'). */
  const active = new Set<Model>();
  const loadMs: Record<string, number> = {};
  let disposed = false;

  const release = (m: Model) => {
    active.delete(m);
    if (!m.disposed) m.dispose();
  };

  const load = async (label: string, path: string, forceFp16 = false): Promise<Model> => {
    onProgress?.({ type: 'load', model: label, done: false });
    const t0 = performance.now();
    const m = await runtime.load(path, loadOptions(label, forceFp16));
    loaded.push(m);
    loadMs[label] = performance.now() - t0;
    onProgress?.({ type: 'load', model: label, done: true, ms: loadMs[label] });
    return m;
  };
  /** Residency 'stage': the tensor tables only (a load-check-dispose when the tables cannot be read). */
  const describe = (label: string, path: string, forceFp16 = false) =>
    describeModel(runtime, path, label, loadOptions(label, forceFp16), (ms) => {
      if (ms === undefined) onProgress?.({ type: 'load', model: label, done: false });
      else {
        loadMs[label] = ms;
        onProgress?.({ type: 'load', model: label, done: true, ms });
      }
    });

  try {
    const get = residency === 'all' ? load : describe;
    const conditioner = new StableAudioConditioner(await get('conditioners', f.conditioners), {
      tokenLength: cfg.tokenLength,
    });
    const denoiser = new StableAudioDenoiser(await get('dit', f.dit));
    const decoder = new StableAudioDecoder(await get('decoder', f.decoder, decoderFp16), cfg.sampleRate);
    const encoder = withEncoder
      ? new StableAudioEncoder(await get('encoder', f.encoder!), cfg.sampleRate)
      : undefined;
    const adapters: FolderAdapters = { conditioner, denoiser, decoder, encoder };
    checkCrossShapes(f, adapters);
    const tokenizer = await T5Tokenizer.fromFile(f.tokenizer, { maxLength: conditioner.tokenLength });
    const sampleRate = cfg.sampleRate;
    const maxSeconds = decoder.frames / sampleRate;

    /**
     * Residency 'stage': loads one model for a stage, builds its adapter, checks it still matches what the
     * pipeline checked at creation, runs `body`, and disposes the model however `body` ends.
     */
    const stage = async <A extends AnyAdapter, R>(
      label: 'conditioners' | 'dit' | 'decoder' | 'encoder',
      path: string,
      make: (m: Model) => A,
      checked: A,
      ctx: { signal?: AbortSignal; onProgress?: ProgressCallback; loadMs: Record<string, number> },
      body: (adapter: A) => Promise<R>,
    ): Promise<R> => {
      if (disposed) throw new AudiogenError('DISPOSED', 'this pipeline was disposed');
      throwIfAborted(ctx.signal, 'generation');
      ctx.onProgress?.({ type: 'load', model: label, done: false });
      const t0 = performance.now();
      const m = await runtime.load(path, loadOptions(label, label === 'decoder' && decoderFp16));
      active.add(m);
      try {
        const ms = performance.now() - t0;
        ctx.loadMs[label] = ms;
        ctx.onProgress?.({ type: 'load', model: label, done: true, ms });
        if (disposed) throw new AudiogenError('DISPOSED', 'this pipeline was disposed');
        throwIfAborted(ctx.signal, 'generation');
        const adapter = make(m);
        const was = bindingOf(checked);
        const now = bindingOf(adapter);
        if (was !== now) {
          throw new AudiogenError(
            'MODEL_MISMATCH',
            `${path} changed since the pipeline was created (tensors ${now}, were ${was}); create the pipeline again`,
            { details: { path } },
          );
        }
        return await body(adapter);
      } finally {
        release(m);
      }
    };

    const pipeline: StableAudioPipeline = {
      folder,
      tokenizer,
      conditioner,
      denoiser,
      decoder,
      encoder,
      residency,
      precision,
      sampleRate,
      maxSeconds,
      loadMs,
      dispose() {
        if (disposed) return;
        disposed = true;
        for (const m of loaded) if (!m.disposed) m.dispose();
        for (const m of [...active]) release(m);
      },
      async generate(o: StableAudioGenerateOptions): Promise<StableAudioResult> {
        if (disposed) throw new AudiogenError('DISPOSED', 'this pipeline was disposed');
        if (!o || typeof o.prompt !== 'string')
          throw new AudiogenError('INVALID_ARGUMENT', 'prompt must be a string');
        const t0 = performance.now();
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

        let initClip: AudioClip | undefined;
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
          initClip = prepareInitAudio(o.initAudio, sampleRate, encoder.channels);
        } else if (o.initNoiseLevel !== undefined) {
          throw new AudiogenError('INVALID_ARGUMENT', 'initNoiseLevel needs initAudio');
        }
        const schedule = api.rfSchedule({ steps, sigmaMax });
        const noiseKind = o.noise ?? 'philox';
        const noise = (seed: number) => api.createNoiseSource(seed, { kind: noiseKind });
        const guidance = cfgScale !== 1 ? api.cfgGuidance({ scale: cfgScale }) : undefined;
        // CFG without a negative prompt: stable-audio-tools uses all-zero cross tokens for the unconditional
        // pass and the same global vector. Core's generate conditions the prompt first, then the negative one.
        const zeroUncond = cfgScale !== 1 && !o.negativePrompt;
        const zeroCross = (positive: Conditioning): Conditioning => {
          const out: Record<string, Tensor> = { ...positive };
          out[COND_CROSS] = tensor('float32', positive[COND_CROSS]!.shape);
          return out;
        };
        const request = {
          prompt: o.prompt,
          negativePrompt: o.negativePrompt ?? '',
          seconds,
          variations: o.variations,
          signal: o.signal,
        };

        let result: Awaited<ReturnType<typeof generate>>;
        const genLoadMs: Record<string, number> = {};
        if (residency === 'all') {
          let initLatents: Float32Array | undefined;
          if (initClip) {
            o.onProgress?.({ type: 'encode', done: false });
            initLatents = await encoder!.encode(initClip, { signal: o.signal });
          }
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
                  return zeroCross(positive!);
                },
              }
            : conditioner;
          result = await generate(
            { ...request, seed: o.seed, initLatents, onProgress: o.onProgress },
            { tokenizer, conditioner: cond, denoiser, decoder, sampler, schedule, noise, guidance },
          );
        } else {
          result = await generateStaged();
        }

        /** Residency 'stage': encoder → conditioner → DiT (all variations) → decoder, one model at a time. */
        async function generateStaged(): Promise<Awaited<ReturnType<typeof generate>>> {
          const { signal } = o;
          const emit = o.onProgress;
          const ctx = { signal, onProgress: emit, loadMs: genLoadMs };
          // Core's generate checks these only after conditioning: check before any model is loaded.
          const seed = validateSeed(o.seed ?? randomSeed());
          const variations = o.variations ?? 1;
          if (!Number.isInteger(variations) || variations < 1 || variations > 64) {
            throw new AudiogenError(
              'INVALID_ARGUMENT',
              `variations must be an integer in [1, 64], got ${variations}`,
            );
          }
          let initLatents: Float32Array | undefined;
          if (initClip) {
            initLatents = await stage(
              'encoder',
              f.encoder!,
              (m) => new StableAudioEncoder(m, sampleRate),
              encoder!,
              ctx,
              async (enc) => {
                emit?.({ type: 'encode', done: false });
                return enc.encode(initClip!, { signal });
              },
            );
          }
          // The conditioning, computed exactly as core's generate does (same tokens, same calls, same order).
          const conditioned = await stage(
            'conditioners',
            f.conditioners,
            (m) => new StableAudioConditioner(m, { tokenLength: cfg.tokenLength }),
            conditioner,
            ctx,
            async (c) => {
              emit?.({ type: 'encode', done: false });
              const e0 = performance.now();
              const tokens = tokenizer.encode(request.prompt);
              const cond = await c.condition(tokens, { seconds, signal });
              let uncond: Conditioning | undefined;
              if (guidance && guidance.scale !== 1) {
                uncond = zeroUncond
                  ? zeroCross(cond)
                  : await c.condition(tokenizer.encode(request.negativePrompt), { seconds, signal });
              }
              const ms = performance.now() - e0;
              emit?.({ type: 'encode', done: true, truncated: tokens.truncated, tokens: tokens.length, ms });
              return { cond, uncond, ms };
            },
          );
          // The DiT stage runs core's generate (the very same sampling code as residency 'all') with the
          // conditioning above and a decoder that only keeps the latents; decoding is the next stage.
          const denoised = await stage(
            'dit',
            f.dit,
            (m) => new StableAudioDenoiser(m),
            denoiser,
            ctx,
            async (den) => {
              let calls = 0;
              const cached: Conditioner = {
                async condition() {
                  calls++;
                  return calls === 1 ? conditioned.cond : conditioned.uncond!;
                },
              };
              const keepLatents: Decoder = {
                sampleRate,
                async decode() {
                  return { sampleRate, channels: [] };
                },
              };
              return generate(
                {
                  ...request,
                  seed,
                  variations,
                  initLatents,
                  onProgress: emit && ((e) => e.type === 'step' && emit(e)),
                },
                {
                  tokenizer,
                  conditioner: cached,
                  denoiser: den,
                  decoder: keepLatents,
                  sampler,
                  schedule,
                  noise,
                  guidance,
                },
              );
            },
          );
          let decodeMs = 0;
          const clips = await stage(
            'decoder',
            f.decoder,
            (m) => new StableAudioDecoder(m, sampleRate),
            decoder,
            ctx,
            async (dec) => {
              const out: GeneratedClip[] = [];
              for (const [v, c] of denoised.clips.entries()) {
                throwIfAborted(signal, 'generation');
                emit?.({ type: 'decode', variation: v, done: false });
                const d0 = performance.now();
                const clip = await dec.decode(c.latents, { signal });
                const ms = performance.now() - d0;
                decodeMs += ms;
                emit?.({ type: 'decode', variation: v, done: true, ms });
                out.push({ ...c, clip });
              }
              return out;
            },
          );
          const totalMs = performance.now() - t0;
          emit?.({ type: 'done', ms: totalMs });
          return {
            clips,
            seed: denoised.seed,
            promptTruncated: denoised.promptTruncated,
            timings: { ...denoised.timings, encodeMs: conditioned.ms, decodeMs, totalMs },
          };
        }

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
          timings: {
            ...result.timings,
            ...(residency === 'stage' ? { totalMs: performance.now() - t0 } : {}),
            loadMs: genLoadMs,
          },
          warnings,
        };
      },
    };
    return pipeline;
  } catch (e) {
    for (const m of loaded) if (!m.disposed) m.dispose();
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
