import {
  type AcceleratorChoice,
  AudiogenError,
  checkAcceleratorChoice,
  checkHooks,
  defaultPlacementCache,
  type HostCpu,
  type ModelPlacement,
  type ProgressCallback,
  type Runtime,
} from '@audiogen/core';
import type {
  StableAudioConditioner,
  StableAudioDecoder,
  StableAudioDenoiser,
  StableAudioEncoder,
} from './adapters';
import { promptTokenizerOptions } from './family';
import { loadModelFolder, type StableAudioModelFolder } from './folder';
import { describeFolder, limitsOf, ModelLoader, type StageRole } from './load';
import {
  choosePrecision,
  type PrecisionChoice,
  type PrecisionRequest,
  withMeasuredDit,
  withoutDitTiming,
} from './precision';
import { prepareStableAudioRequest, type StableAudioLimits, type StableAudioRequestOptions } from './request';
import {
  keepAllResidency,
  type ModelResidency,
  perStageResidency,
  type ResidencyStrategy,
} from './residency';
import { type RunHooks, runStableAudio, type StableAudioResult } from './run';
import { type SamplerApi, samplerApi } from './sampling';
import { T5Tokenizer } from './tokenizer/t5';

export type { ModelResidency } from './residency';
export type { RunHooks, StableAudioClip, StableAudioResult, StableAudioTimings } from './run';

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
  /**
   * Run the decoder's Snake activations as one op each (runtime-native's kernel). Default: for the int8
   * decoder on CPUs with AVX-512, where it measured faster (`precision.reasons` says why, either way).
   */
  decoderFuseSnake?: boolean;
  /**
   * The autoencoder encoder (audio-to-audio), when the folder has one. Default (undefined): checked at creation
   * from the file's tables, loaded by the first audio-to-audio generate() and kept — a text-to-audio app never
   * pays its memory. `true`: loaded at creation. `false`: never (audio-to-audio is UNSUPPORTED).
   */
  loadEncoder?: boolean;
  /**
   * `'all'` (default) keeps the models loaded; `'stage'` (low memory) loads each model only for its stage
   * of generate(). See ModelResidency.
   */
  residency?: ModelResidency;
  /** Load progress events (with residency 'stage', generate()'s onProgress gets the per-stage load events). */
  onProgress?: ProgressCallback;
  /**
   * Where the models run: one choice for every stage or one per stage (`{ dit: 'auto', decoder: 'cpu' }`);
   * default 'cpu'. 'gpu' fails (ACCELERATOR_UNAVAILABLE) where the runtime cannot run a model on the GPU;
   * 'auto' puts a stage on the GPU only where the runtime can run it whole there and one timed run is faster
   * than on the CPU, measured once per model file, host and precision and cached (`placementCache`).
   * `pipeline.placement` reports each stage's choice.
   */
  accelerator?: AcceleratorChoice | Partial<Record<StageRole, AcceleratorChoice>>;
  /** GPU arithmetic: 'fp16' (default) or 'fp32'. */
  gpuPrecision?: 'fp16' | 'fp32';
  /**
   * The cache file of measured decisions — 'auto' placement, and `precision: 'auto'`'s DiT where int8's speed
   * depends on the core (x86 AVX2 without VNNI) — default `~/.cache/audiogen/placement.json`; false: measure at
   * every load.
   */
  placementCache?: string | false;
  /** Measure 'auto' stages (and a measured DiT precision) again even when a decision is cached. */
  remeasurePlacement?: boolean;
  /** Replaces the sampler functions (tests, custom samplers). Defaults to @audiogen/sampler. */
  samplers?: Partial<SamplerApi>;
  /**
   * Load every model with `profile: true` (runtime-native: LiteRT's profiler records each node of every run), so
   * `pipeline.profiles()` can return the tables. For diagnostics; needs residency 'all' (a stage's model is gone
   * with its stage otherwise).
   */
  profile?: boolean;
}

export interface StableAudioGenerateOptions extends StableAudioRequestOptions, RunHooks {}

export interface StableAudioPipeline {
  readonly folder: StableAudioModelFolder;
  readonly tokenizer: T5Tokenizer;
  /**
   * The adapters. With residency 'stage' (and the encoder before its first use) they are bound to the models'
   * tensor tables only (names, shapes) and cannot run (UNSUPPORTED): generate() loads the real models.
   */
  readonly conditioner: StableAudioConditioner;
  readonly denoiser: StableAudioDenoiser;
  readonly decoder: StableAudioDecoder;
  readonly encoder: StableAudioEncoder | undefined;
  readonly residency: ModelResidency;
  /**
   * The files and precisions this pipeline runs, and why they were chosen for this host. Where the DiT is
   * picked by timing (`ditCandidates`), the pick is here once the DiT was first loaded (at creation with
   * residency 'all', at the first generate() with 'stage').
   */
  readonly precision: PrecisionChoice;
  readonly sampleRate: number;
  /** Longest clip the decoder writes, in seconds. */
  readonly maxSeconds: number;
  /** What generate() checks its options against (see prepareStableAudioRequest). */
  readonly limits: StableAudioLimits;
  /**
   * Load times at creation, label → ms: the loaded models with residency 'all'; with 'stage' none (the folder
   * is checked from the files' tensor tables) unless a file had to be loaded to be checked. Per-generation
   * loads are in the result's `timings.loadMs`.
   */
  readonly loadMs: Record<string, number>;
  /** Where each loaded stage runs and why ('auto': with the measured times). */
  readonly placement: Partial<Record<StageRole, ModelPlacement>>;
  /** Checks every option (prepareStableAudioRequest) before any work, then runs. */
  generate(options: StableAudioGenerateOptions): Promise<StableAudioResult>;
  /**
   * Created with `profile: true`: each loaded model's table of node times over every generate() so far (the
   * runtime's own format: runtime-native prints LiteRT's, with XNNPACK's operators by name), by stage. Stages
   * whose runtime does not profile are left out.
   */
  profiles(): Promise<Partial<Record<StageRole, string>>>;
  dispose(): void;
}

const STAGES: readonly StageRole[] = ['conditioners', 'dit', 'decoder', 'encoder'];

/** The pipeline's `accelerator` option as one choice per stage (checked). */
function acceleratorsOf(
  v: StableAudioPipelineOptions['accelerator'],
): Partial<Record<StageRole, AcceleratorChoice>> {
  if (v === undefined) return {};
  if (typeof v === 'string') {
    const c = checkAcceleratorChoice(v);
    return Object.fromEntries(STAGES.map((s) => [s, c]));
  }
  if (!v || typeof v !== 'object')
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      "accelerator must be 'cpu', 'gpu', 'auto' or an object per stage",
    );
  const out: Partial<Record<StageRole, AcceleratorChoice>> = {};
  for (const [k, c] of Object.entries(v)) {
    if (!(STAGES as readonly string[]).includes(k))
      throw new AudiogenError(
        'INVALID_ARGUMENT',
        `accelerator: unknown stage '${k}' (stages: ${STAGES.join(', ')})`,
      );
    out[k as StageRole] = checkAcceleratorChoice(c, `accelerator.${k}`);
  }
  return out;
}

interface Setup {
  runtime: Runtime;
  folder: StableAudioModelFolder;
  precision: PrecisionChoice;
  loader: ModelLoader;
  api: SamplerApi;
  residency: ModelResidency;
  encoder: 'eager' | 'lazy' | 'none';
}

/** Checks the pipeline options and finds the folder; nothing is loaded. */
async function setup(options: StableAudioPipelineOptions, what: string): Promise<Setup> {
  if (!options || typeof options !== 'object')
    throw new AudiogenError('INVALID_ARGUMENT', `${what} needs an options object`);
  checkHooks(options);
  const { runtime, threads, onProgress } = options;
  if (!runtime || typeof runtime.load !== 'function') {
    throw new AudiogenError('INVALID_ARGUMENT', `${what} needs a runtime (e.g. createNativeRuntime())`);
  }
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > 1024)) {
    throw new AudiogenError('INVALID_ARGUMENT', `threads must be a positive integer, got ${threads}`);
  }
  const residency: ModelResidency = options.residency ?? 'all';
  if (residency !== 'all' && residency !== 'stage') {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `residency must be 'all' or 'stage', got ${JSON.stringify(residency)}`,
    );
  }
  if (options.loadEncoder !== undefined && typeof options.loadEncoder !== 'boolean')
    throw new AudiogenError('INVALID_ARGUMENT', 'loadEncoder must be true, false or left out');
  for (const k of ['decoderFp16', 'decoderFuseSnake'] as const)
    if (options[k] !== undefined && typeof options[k] !== 'boolean')
      throw new AudiogenError('INVALID_ARGUMENT', `${k} must be true or false`);
  const accelerators = acceleratorsOf(options.accelerator);
  if (
    options.gpuPrecision !== undefined &&
    options.gpuPrecision !== 'fp16' &&
    options.gpuPrecision !== 'fp32'
  )
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `gpuPrecision must be 'fp16' or 'fp32', got ${String(options.gpuPrecision)}`,
    );
  const pc = options.placementCache;
  if (pc !== undefined && pc !== false && (typeof pc !== 'string' || pc === ''))
    throw new AudiogenError('INVALID_ARGUMENT', 'placementCache must be a file path or false');
  const folder = typeof options.models === 'string' ? await loadModelFolder(options.models) : options.models;
  const chosenPrecision = choosePrecision(
    folder.files,
    options.precision ?? 'auto',
    options.host ?? runtime.host,
    {
      ...(options.decoderFp16 === undefined ? {} : { decoderFp16: options.decoderFp16 }),
      ...(options.decoderFuseSnake === undefined ? {} : { decoderFuseSnake: options.decoderFuseSnake }),
    },
  );
  // The DiTs are timed on the CPU only: a DiT asked to run elsewhere keeps the float default.
  const ditOn = accelerators.dit ?? 'cpu';
  const precision =
    ditOn === 'cpu'
      ? chosenPrecision
      : withoutDitTiming(
          chosenPrecision,
          `the DiT's accelerator is '${ditOn}', and the int8/fp32 timing runs on the CPU only`,
        );
  // The loader sees the chosen files as the folder's DiT and decoder.
  const chosen: StableAudioModelFolder = {
    ...folder,
    files: { ...folder.files, dit: precision.dit.path, decoder: precision.decoder.path },
  };
  if (options.profile !== undefined && typeof options.profile !== 'boolean')
    throw new AudiogenError('INVALID_ARGUMENT', 'profile must be true or false');
  if (options.profile && residency !== 'all')
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      "profile needs residency 'all' (with 'stage' each model is disposed with its stage, and its profile with it)",
    );
  const loader = new ModelLoader(runtime, chosen, {
    threads,
    ...(options.profile ? { profile: true } : {}),
    decoderFp16: precision.decoder.forceFp16,
    decoderFuseSnake: precision.decoder.fuseSnake,
    onProgress,
    accelerators,
    gpuPrecision: options.gpuPrecision,
    placementCache: pc === false ? undefined : (pc ?? defaultPlacementCache()),
    remeasurePlacement: options.remeasurePlacement === true,
    ...(precision.ditCandidates ? { ditCandidates: precision.ditCandidates } : {}),
  });
  const encoder =
    folder.files.encoder === undefined || options.loadEncoder === false
      ? 'none'
      : options.loadEncoder === true
        ? 'eager'
        : 'lazy';
  return {
    runtime,
    folder,
    precision,
    loader,
    api: { ...samplerApi(), ...options.samplers },
    residency,
    encoder,
  };
}

/** A model folder checked without loading it: what a request can be checked against before any load. */
export interface StableAudioFolderInfo {
  readonly folder: StableAudioModelFolder;
  readonly limits: StableAudioLimits;
  /** The files and precisions a pipeline with these options runs here, and why. */
  readonly precision: PrecisionChoice;
  /** Load times of files that had to be loaded to be checked (not a .tflite core's reader takes), label → ms. */
  readonly loadMs: Record<string, number>;
}

/**
 * Step 1 for a caller that wants every error before any load (the CLI): finds the folder, reads its models'
 * tensor tables (no weights) and checks that the files fit together. Then `prepareStableAudioRequest(options,
 * info.limits, …)` checks a request, and `createStableAudioPipeline` loads.
 */
export async function describeStableAudioFolder(
  options: StableAudioPipelineOptions,
): Promise<StableAudioFolderInfo> {
  const s = await setup(options, 'describeStableAudioFolder');
  const adapters = await describeFolder(s.loader, s.encoder !== 'none');
  return {
    folder: s.folder,
    limits: limitsOf(s.folder, adapters),
    precision: s.precision,
    loadMs: s.loader.loadMs,
  };
}

/**
 * Loads the models of a Stable Audio folder through any Runtime (when, by `residency`) and returns a ready
 * pipeline. Its generate() prepares the request (every option checked before any work), then runs it.
 */
export async function createStableAudioPipeline(
  options: StableAudioPipelineOptions,
): Promise<StableAudioPipeline> {
  const {
    folder,
    precision,
    loader,
    api,
    residency: kind,
    encoder,
  } = await setup(options, 'createStableAudioPipeline');
  const residency: ResidencyStrategy =
    kind === 'all'
      ? await keepAllResidency(loader, encoder)
      : await perStageResidency(loader, encoder !== 'none');
  try {
    const a = residency.adapters;
    const tokenizer = await T5Tokenizer.fromFile(
      folder.files.tokenizer,
      promptTokenizerOptions(folder.config, a.conditioners.tokenLength),
    );
    const limits = limitsOf(folder, a);
    const sampleRate = folder.config.sampleRate;
    let disposed = false;
    let measured: PrecisionChoice | undefined;
    return {
      folder,
      tokenizer,
      get conditioner() {
        return a.conditioners;
      },
      get denoiser() {
        return a.dit;
      },
      get decoder() {
        return a.decoder;
      },
      get encoder() {
        return a.encoder;
      },
      residency: kind,
      // Where the DiT is picked by measurement, the choice as made at its first load (made once).
      get precision() {
        const d = loader.ditDecision;
        if (d && !measured) measured = withMeasuredDit(precision, d.winner, d.measured);
        return measured ?? precision;
      },
      sampleRate,
      maxSeconds: limits.maxSeconds,
      limits,
      loadMs: loader.loadMs,
      placement: loader.placement,
      async generate(o: StableAudioGenerateOptions): Promise<StableAudioResult> {
        if (disposed) throw new AudiogenError('DISPOSED', 'this pipeline was disposed');
        checkHooks(o, ['onProgress', 'onClip']);
        const request = prepareStableAudioRequest(o, limits, { api });
        return runStableAudio(request, { residency, tokenizer, api, sampleRate }, o);
      },
      async profiles() {
        if (disposed) throw new AudiogenError('DISPOSED', 'this pipeline was disposed');
        if (!options.profile)
          throw new AudiogenError(
            'INVALID_ARGUMENT',
            'create the pipeline with profile: true to read profiles',
          );
        const out: Partial<Record<StageRole, string>> = {};
        for (const role of STAGES) {
          const model = role === 'encoder' ? a.encoder?.model : a[role].model;
          if (model && !model.disposed && model.profileSummary) out[role] = await model.profileSummary();
        }
        return out;
      },
      dispose() {
        disposed = true;
        residency.dispose();
      },
    };
  } catch (e) {
    residency.dispose();
    throw e;
  }
}
