import {
  type AcceleratorChoice,
  AudiogenError,
  formatShape,
  isAudiogenError,
  type LoadOptions,
  type Model,
  type ModelPlacement,
  type ProgressCallback,
  pickFasterModel,
  placeModel,
  type Runtime,
  sameShape,
} from '@audiogen/core';
import {
  StableAudioConditioner,
  StableAudioDecoder,
  StableAudioDenoiser,
  StableAudioEncoder,
} from './adapters';
import type { StableAudioModelFolder } from './folder';
import { describeModel } from './model-info';
import type { ModelChoice, PrecisionChoice } from './precision';
import type { StableAudioLimits } from './request';

/** The models of a folder, by the label the pipeline loads them under. */
export type StageRole = 'conditioners' | 'dit' | 'decoder' | 'encoder';

export interface StageAdapters {
  conditioners: StableAudioConditioner;
  dit: StableAudioDenoiser;
  decoder: StableAudioDecoder;
  encoder: StableAudioEncoder;
}
export type AnyAdapter = StageAdapters[StageRole];

export interface FolderAdapters {
  conditioners: StableAudioConditioner;
  dit: StableAudioDenoiser;
  decoder: StableAudioDecoder;
  encoder: StableAudioEncoder | undefined;
}

export interface ModelLoaderOptions {
  threads?: number;
  decoderFp16: boolean;
  /** Fuse the decoder's Snake activations (runtime-native's one-pass kernel); default: the runtime's choice. */
  decoderFuseSnake?: boolean;
  /** Load every model with `profile` (per-node times, where the runtime can). */
  profile?: boolean;
  /** Where each stage runs ('cpu' when left out); 'auto' places by measurement (placeModel). */
  accelerators?: Partial<Record<StageRole, AcceleratorChoice>>;
  gpuPrecision?: 'fp16' | 'fp32';
  /** Cache of 'auto' decisions; undefined: measure at every load. */
  placementCache?: string;
  remeasurePlacement?: boolean;
  /** DiT files to time at the first load, keeping the fastest (precision 'auto' where int8 may not pay). */
  ditCandidates?: readonly ModelChoice[];
  /** Load events of the loads made at creation. */
  onProgress?: ProgressCallback;
}

/** Where one load is reported: progress events and the label → ms table. */
export interface LoadReport {
  onProgress?: ProgressCallback;
  loadMs: Record<string, number>;
}

/**
 * Loads (or only describes) the models of a folder and binds adapters to them. Every failure names the file.
 * Knows nothing about when models are loaded or kept: that is the residency strategy's job.
 */
export class ModelLoader {
  /** Load times at creation, label → ms. */
  readonly loadMs: Record<string, number> = {};
  /** Where each loaded stage runs and why (the last load of each). */
  readonly placement: Partial<Record<StageRole, ModelPlacement>> = {};
  /** The DiT picked by measurement among `ditCandidates` (set at its first load; later loads reuse it). */
  ditDecision?: { winner: ModelChoice; measured: NonNullable<PrecisionChoice['ditMeasured']> };

  constructor(
    readonly runtime: Runtime,
    readonly folder: StableAudioModelFolder,
    private readonly options: ModelLoaderOptions,
  ) {}

  path(role: StageRole): string {
    if (role === 'dit' && this.ditDecision) return this.ditDecision.winner.path;
    const f = this.folder.files;
    const p =
      role === 'conditioners'
        ? f.conditioners
        : role === 'dit'
          ? f.dit
          : role === 'decoder'
            ? f.decoder
            : f.encoder;
    if (!p) throw new AudiogenError('INTERNAL', `${this.folder.dir} has no ${role} model`);
    return p;
  }

  loadOptions(role: StageRole): LoadOptions {
    const { threads, decoderFp16, gpuPrecision, decoderFuseSnake, profile } = this.options;
    return {
      ...(threads ? { threads } : {}),
      ...(profile ? { profile } : {}),
      ...(gpuPrecision ? { gpuPrecision } : {}),
      label: role,
      ...(role === 'decoder' && decoderFp16 ? { forceFp16: true } : {}),
      ...(role === 'decoder' && decoderFuseSnake !== undefined ? { fuseSnake: decoderFuseSnake } : {}),
    };
  }

  /** Loads the model of `role` and binds its adapter; reports the load on `report` (default: creation's). */
  async load<K extends StageRole>(
    role: K,
    report: LoadReport = { onProgress: this.options.onProgress, loadMs: this.loadMs },
    keep?: (m: Model) => void,
  ): Promise<StageAdapters[K]> {
    report.onProgress?.({ type: 'load', model: role, done: false });
    const t0 = performance.now();
    // (setup() gives candidates only for a DiT on the CPU.)
    const measureDit = role === 'dit' && !this.ditDecision && !!this.options.ditCandidates?.length;
    const { model: m, placement } = await this.named(role, () =>
      measureDit
        ? this.pickDit()
        : placeModel(this.runtime, this.path(role), this.loadOptions(role), {
            accelerator: this.options.accelerators?.[role] ?? 'cpu',
            cacheFile: this.options.placementCache,
            remeasure: this.options.remeasurePlacement,
            // A decoder with an open frame dimension is measured at its full length (the GPU computes only that).
            probeShape: (i) =>
              role === 'decoder' && i.shape.length === 3
                ? [...i.shape.slice(0, 2), this.folder.config.latentShape[2] ?? 1].map((d) => (d < 0 ? 1 : d))
                : undefined,
          }),
    );
    this.placement[role] = placement;
    keep?.(m);
    const ms = performance.now() - t0;
    report.loadMs[role] = ms;
    report.onProgress?.({ type: 'load', model: role, done: true, ms });
    return this.adapt(role, m, placement.accelerator === 'gpu');
  }

  /** Loads each DiT candidate, times a warm step of each and keeps the fastest (cached per machine). */
  private async pickDit(): Promise<{ model: Model; placement: ModelPlacement }> {
    const candidates = this.options.ditCandidates!;
    const { model, choice } = await pickFasterModel(
      this.runtime,
      candidates.map((c) => ({ id: c.precision, path: c.path })),
      this.loadOptions('dit'),
      { cacheFile: this.options.placementCache, remeasure: this.options.remeasurePlacement },
    );
    const winner = candidates.find((c) => c.precision === choice.id)!;
    this.ditDecision = { winner, measured: { source: choice.source, ms: choice.ms, at: choice.at } };
    return { model, placement: { requested: 'cpu', accelerator: 'cpu', source: 'requested' } };
  }

  /** The adapter of `role` bound to the file's tensor tables only (a load-check-dispose if they cannot be read). */
  async describe<K extends StageRole>(role: K): Promise<StageAdapters[K]> {
    const { onProgress } = this.options;
    const m = await this.named(role, () =>
      describeModel(this.runtime, this.path(role), role, this.loadOptions(role), (ms) => {
        if (ms === undefined) onProgress?.({ type: 'load', model: role, done: false });
        else {
          this.loadMs[role] = ms;
          onProgress?.({ type: 'load', model: role, done: true, ms });
        }
      }),
    );
    return this.adapt(role, m);
  }

  /** Binds the adapter of `role` to a model (loaded or table-only); a mismatch names the file. */
  adapt<K extends StageRole>(role: K, m: Model, onGpu = false): StageAdapters[K] {
    const sampleRate = this.folder.config.sampleRate;
    return this.named(role, () => {
      switch (role) {
        case 'conditioners':
          return new StableAudioConditioner(m, { tokenLength: this.folder.config.tokenLength });
        case 'dit':
          return new StableAudioDenoiser(m);
        case 'decoder':
          // LiteRT's GPU delegate computes only at the compiled shape: full decodes there.
          return new StableAudioDecoder(m, sampleRate, {
            strides: this.folder.config.decoderStrides,
            partial: !onGpu,
            latentFrames: this.folder.config.latentShape[2],
          });
        default:
          return new StableAudioEncoder(m, sampleRate);
      }
    }) as StageAdapters[K];
  }

  /** Runs fn; a typed error that does not name the file yet gets the file's path in front. */
  private named<T>(role: StageRole, fn: () => T): T {
    const path = this.path(role);
    const rename = (e: unknown): never => {
      if (!isAudiogenError(e) || e.message.includes(path)) throw e;
      throw new AudiogenError(e.code, `${path}: ${e.message}`, {
        cause: e,
        details: { ...e.details, path },
      });
    };
    try {
      const r = fn();
      return (r instanceof Promise ? r.catch(rename) : r) as T;
    } catch (e) {
      return rename(e);
    }
  }
}

/** Cross-model checks: every mismatch names both files. */
export function checkCrossShapes(f: StableAudioModelFolder['files'], a: FolderAdapters): void {
  const { conditioners: conditioner, dit: denoiser, decoder, encoder } = a;
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

/** What the pipeline relies on of an adapter (bound names, dtypes and shapes), as one comparable string. */
export function bindingOf(a: AnyAdapter): string {
  const t = (i: { name: string; dtype: string; shape: readonly number[] } | undefined) =>
    i ? `${i.name}:${i.dtype}[${i.shape.join(',')}]` : '-';
  if (a instanceof StableAudioConditioner)
    return [a.tokenLength, ...Object.values(a.inputs).map(t), ...Object.values(a.outputs).map(t)].join(' ');
  if (a instanceof StableAudioDenoiser) return [...Object.values(a.inputs).map(t), t(a.output)].join(' ');
  return [t(a.input), t(a.output), a.channels, a.frames].join(' ');
}

/** The facts a request is checked against, from the folder's config and its (described or loaded) models. */
export function limitsOf(folder: StableAudioModelFolder, a: FolderAdapters): StableAudioLimits {
  const sampleRate = folder.config.sampleRate;
  return {
    sampleRate,
    decoderFrames: a.decoder.frames,
    maxSeconds: a.decoder.frames / sampleRate,
    steps: folder.config.steps,
    sampler: folder.config.sampler,
    cfgScale: folder.config.cfgScale,
    encoderChannels: a.encoder?.channels,
    dir: folder.dir,
  };
}

/**
 * Describes every model of a folder from its files' tables (no weights loaded for .tflite files) and runs
 * the cross-model checks: what a caller needs to check a request before anything loads.
 */
export async function describeFolder(loader: ModelLoader, withEncoder: boolean): Promise<FolderAdapters> {
  const a: FolderAdapters = {
    conditioners: await loader.describe('conditioners'),
    dit: await loader.describe('dit'),
    decoder: await loader.describe('decoder'),
    encoder: withEncoder ? await loader.describe('encoder') : undefined,
  };
  checkCrossShapes(loader.folder.files, a);
  return a;
}
