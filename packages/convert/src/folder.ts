/**
 * Model folders of the model-folder contract (conditioners.tflite, dit_model.tflite,
 * autoencoder_model.tflite, autoencoder_encoder.tflite, spiece.model, audiogen.json): from seeded
 * random weights, or from a Stable Audio checkpoint (.safetensors) + a Hugging Face t5-base folder.
 * Models are built and written one at a time into a temp folder beside the target, which is then
 * swapped in (core's writeFolderAtomic): an interrupted run leaves the old folder or the new one.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AudiogenError,
  checkHooks,
  checkOutputTarget,
  readInputFile,
  readInputJson,
  statInputFile,
  writeFileAtomic,
  writeFolderAtomic,
} from '@audiogen/core';
import { type Graph, writeTfliteFile } from '@audiogen/core/tflite';
import { opReport } from './builder';
import {
  configFromModelConfig,
  latentLength,
  STABLE_AUDIO_OPEN_SMALL,
  STABLE_AUDIO_TINY,
  type StableAudioConfig,
  t5FromHfConfig,
  validateConfig,
} from './config';
import { readSafetensors, type WeightSource } from './safetensors';
import {
  buildConditioners,
  buildDecoder,
  buildDit,
  buildEncoder,
  type DecoderBuildOptions,
} from './stable-audio';
import {
  checkpointSpec,
  checkWeights,
  DECODER_PREFIX,
  DIT_PREFIX,
  decoderSpec,
  ditSpec,
  ENCODER_PREFIX,
  encoderSpec,
  finiteWeights,
  NUMBER_PREFIX,
  normalizeKeys,
  numberSpec,
  randomWeights,
  t5Spec,
  withPrefix,
} from './weights';

export const FOLDER_FILES = {
  conditioners: 'conditioners.tflite',
  dit: 'dit_model.tflite',
  decoder: 'autoencoder_model.tflite',
  encoder: 'autoencoder_encoder.tflite',
  tokenizer: 'spiece.model',
  manifest: 'audiogen.json',
} as const;

/**
 * Entries of an existing output folder a rebuild replaces or drops: every model and the tokenizer and
 * manifest (so no old model survives next to new ones). Anything else (a README) is carried over.
 */
export function ownsFolderEntry(name: string): boolean {
  return name.endsWith('.tflite') || name === FOLDER_FILES.tokenizer || name === FOLDER_FILES.manifest;
}

/** Where a folder is being built (tmp) and where it will be (dir, reported in results). */
interface Building {
  tmp: string;
  dir: string;
}

export type ProgressFn = (message: string, fraction?: number) => void;

export interface FolderOptions {
  out: string;
  /** Also write the encoder (audio-to-audio). Default true. */
  encoder?: boolean;
  /**
   * Arm's export: the DiT without its global-conditioning term, and a decoder of fixed frames (ours has an
   * open frame dimension, so a shorter clip decodes fewer frames). Default false.
   */
  armCompatible?: boolean;
  /**
   * Latent frames the decoder is planned for (`buildDecoder`'s plannedFrames): fewer than a clip's makes the
   * pipeline decode long clips in windows, with less memory (measured: stable-audio's README). Default: a clip's.
   */
  decoderPlannedFrames?: number;
  /** fp16 weights (DEQUANTIZE to fp32) in the DiT and conditioners. Default false. */
  fp16Weights?: boolean;
  /** SentencePiece model to copy (default: this package's small asset, or the t5 folder's). */
  spiece?: string;
  onProgress?: ProgressFn;
}

export interface FolderResult {
  dir: string;
  files: Record<string, { path: string; bytes: number; ops: number; builtinOps: Record<string, number> }>;
  config: StableAudioConfig;
}

/** A SentencePiece model is under 1 MB (t5-base: 792 kB); anything far larger is not one. */
const MAX_SPIECE_BYTES = 64 * 1024 * 1024;

/** The small SentencePiece model shipped with this package (`assets/spiece.model`). */
export function defaultSpiecePath(): string | undefined {
  const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
  for (const p of [
    join(here, '..', 'assets', 'spiece.model'),
    join(here, '..', '..', 'assets', 'spiece.model'),
  ]) {
    if (existsSync(p)) return p;
  }
  return undefined;
}

/**
 * The decoder's build options, checked before any work: Arm's fixed frames with --arm-compatible, else open
 * frames, planned for `decoderPlannedFrames` (a window: at most a clip's frames).
 */
function decoderOptions(opts: FolderOptions, cfg: StableAudioConfig): DecoderBuildOptions {
  const n = opts.decoderPlannedFrames;
  if (n === undefined) return { openFrames: !opts.armCompatible };
  if (!Number.isInteger(n) || n < 1 || n > latentLength(cfg) || opts.armCompatible)
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `the decoder's planned frames must be an integer in [1, ${latentLength(cfg)}], without --arm-compatible (got ${n})`,
    );
  return { openFrames: true, plannedFrames: n };
}

/** The audiogen.json manifest the stable-audio package reads. */
export function manifestFor(
  cfg: StableAudioConfig,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    family: cfg.name === 'stable-audio-open-small' ? 'stable-audio-open-small' : cfg.name,
    config: {
      sampleRate: cfg.sampleRate,
      channels: cfg.vae.ioChannels,
      sampleSize: cfg.sampleSize,
      maxSeconds: cfg.sampleSize / cfg.sampleRate,
      latentShape: [1, cfg.vae.latentDim, latentLength(cfg)],
      secondsMin: cfg.seconds.min,
      secondsMax: cfg.seconds.max,
      tokenLength: cfg.tokens,
      sampler: 'pingpong',
      steps: 8,
      cfgScale: 1,
      decoderStrides: [...cfg.vae.strides],
    },
    converter: { name: '@audiogen/convert', created: new Date().toISOString() },
    ...extra,
  };
}

async function writeModel(
  name: keyof typeof FOLDER_FILES,
  at: Building,
  build: () => Graph,
  result: FolderResult,
  progress: ProgressFn | undefined,
): Promise<void> {
  progress?.(`${name}: building`);
  let graph: Graph | undefined = build();
  const rep = opReport(graph);
  const path = join(at.tmp, FOLDER_FILES[name]);
  progress?.(`${name}: writing ${(rep.constantBytes / 1e6).toFixed(1)} MB`);
  await writeTfliteFile(path, graph);
  graph = undefined;
  const bytes = (await stat(path)).size;
  result.files[name] = {
    path: join(at.dir, FOLDER_FILES[name]),
    bytes,
    ops: rep.operators,
    builtinOps: rep.builtin,
  };
  progress?.(
    `${name}: wrote ${FOLDER_FILES[name]} (${(bytes / 1e6).toFixed(1)} MB, ${rep.operators} ops)`,
    1,
  );
}

async function finishFolder(
  at: Building,
  cfg: StableAudioConfig,
  spiece: string | undefined,
  manifestExtra: Record<string, unknown>,
  result: FolderResult,
  progress: ProgressFn | undefined,
): Promise<void> {
  if (spiece) {
    const bytes = await readInputFile(spiece, { what: 'spiece.model', maxBytes: MAX_SPIECE_BYTES });
    await writeFileAtomic(join(at.tmp, FOLDER_FILES.tokenizer), bytes);
  } else {
    progress?.('tokenizer: no spiece.model found; copy one into the folder');
  }
  const manifest = manifestFor(cfg, manifestExtra);
  await writeFileAtomic(
    join(at.tmp, FOLDER_FILES.manifest),
    new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`),
  );
  result.files.manifest = { path: join(at.dir, FOLDER_FILES.manifest), bytes: 0, ops: 0, builtinOps: {} };
}

/**
 * Writes a complete model folder with seeded random weights (real key names and shapes). The
 * result runs end to end but produces noise, not music: it is a smoke test and a source of test and
 * benchmark models.
 */
export async function writeRandomStableAudioFolder(
  opts: FolderOptions & { tiny?: boolean; seed?: number; config?: StableAudioConfig },
): Promise<FolderResult> {
  checkHooks(opts);
  const cfg = opts.config ?? (opts.tiny ? STABLE_AUDIO_TINY : STABLE_AUDIO_OPEN_SMALL);
  validateConfig(cfg);
  const decoderOpts = decoderOptions(opts, cfg);
  const seed = opts.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new AudiogenError('INVALID_ARGUMENT', `seed must be a non-negative integer (got ${seed})`);
  }
  const spiece = opts.spiece ?? defaultSpiecePath();
  await checkOutputTarget(opts.out, { kind: 'folder', inputs: [spiece] });
  const dir = resolve(opts.out);
  const result: FolderResult = { dir, files: {}, config: cfg };
  const p = opts.onProgress;
  const common = { fp16Weights: !!opts.fp16Weights, ...(p ? { onProgress: p } : {}) };
  const sub = (spec: Map<string, number[]>, salt: number) => randomWeights(spec, seed * 16 + salt);
  await writeFolderAtomic(
    dir,
    async (tmp) => {
      const at = { tmp, dir };
      await writeModel(
        'conditioners',
        at,
        () => buildConditioners(cfg, sub(t5Spec(cfg.t5), 1), sub(numberSpec(cfg), 2), common),
        result,
        p,
      );
      await writeModel(
        'dit',
        at,
        () => buildDit(cfg, sub(ditSpec(cfg), 3), { ...common, armCompatible: !!opts.armCompatible }),
        result,
        p,
      );
      await writeModel(
        'decoder',
        at,
        () => buildDecoder(cfg, sub(decoderSpec(cfg), 4), { ...common, ...decoderOpts }),
        result,
        p,
      );
      if (opts.encoder !== false) {
        await writeModel('encoder', at, () => buildEncoder(cfg, sub(encoderSpec(cfg), 5), common), result, p);
      }
      await finishFolder(
        at,
        cfg,
        spiece,
        {
          randomWeights: { seed, note: 'random weights: output is noise' },
          armCompatible: !!opts.armCompatible,
        },
        result,
        p,
      );
    },
    { owns: ownsFolderEntry, inputs: [spiece] },
  );
  return result;
}

/** The same seeded random weights `writeRandomStableAudioFolder` uses, as named sources. */
export function randomStableAudioWeights(
  cfg: StableAudioConfig,
  seed: number,
): {
  t5: WeightSource;
  checkpoint: Record<string, WeightSource>;
} {
  const sub = (spec: Map<string, number[]>, salt: number) => randomWeights(spec, seed * 16 + salt);
  return {
    t5: sub(t5Spec(cfg.t5), 1),
    checkpoint: {
      [NUMBER_PREFIX]: sub(numberSpec(cfg), 2),
      [DIT_PREFIX]: sub(ditSpec(cfg), 3),
      [DECODER_PREFIX]: sub(decoderSpec(cfg), 4),
      [ENCODER_PREFIX]: sub(encoderSpec(cfg), 5),
    },
  };
}

export interface CheckpointOptions extends FolderOptions {
  /** The Stable Audio checkpoint (`model.safetensors`). */
  checkpoint: string;
  /** Its `model_config.json` (default: Stable Audio Open Small). */
  config?: string;
  /** A Hugging Face t5-base folder (model.safetensors + config.json, spiece.model optional). */
  t5: string;
  /** Keys in the checkpoint that no model uses are an error unless this is set. */
  ignoreExtraKeys?: boolean;
  /** More facts about where the inputs came from, recorded in audiogen.json's `source` (e.g. Hub repo, commit, licence). */
  source?: Record<string, unknown>;
}

/** Converts a Stable Audio checkpoint + HF T5 encoder weights to a model folder. */
export async function convertStableAudioCheckpoint(opts: CheckpointOptions): Promise<FolderResult> {
  checkHooks(opts);
  const p = opts.onProgress;
  // Output checked before anything is read or built; inputs inside the output folder are refused.
  const inputs = [opts.checkpoint, opts.config, opts.t5, opts.spiece];
  await checkOutputTarget(opts.out, { kind: 'folder', inputs });
  const dir = resolve(opts.out);
  // The checkpoint is a regular file (a directory or FIFO is refused now, not after the T5 weights).
  await statInputFile(opts.checkpoint, { what: 'checkpoint', maxBytes: Number.MAX_SAFE_INTEGER });
  let t5Cfg: unknown;
  const t5ConfigPath = join(opts.t5, 'config.json');
  if (existsSync(t5ConfigPath))
    t5Cfg = await readInputJson(t5ConfigPath, 'INVALID_MODEL', { what: 'T5 config' });
  // Inputs read at the end are checked now, before minutes of conversion.
  const t5Spiece = join(opts.t5, 'spiece.model');
  const spiece = opts.spiece ?? (existsSync(t5Spiece) ? t5Spiece : undefined);
  if (spiece) await statInputFile(spiece, { what: 'spiece.model', maxBytes: MAX_SPIECE_BYTES });
  let cfg: StableAudioConfig;
  if (opts.config) {
    const json = await readInputJson(opts.config, 'INVALID_MODEL', { what: 'model config' });
    cfg = configFromModelConfig(json, t5Cfg ? { t5Config: t5Cfg } : {});
  } else {
    cfg = t5Cfg ? { ...STABLE_AUDIO_OPEN_SMALL, t5: t5FromHfConfig(t5Cfg) } : STABLE_AUDIO_OPEN_SMALL;
  }
  validateConfig(cfg); // bounded before the checkpoint is read or anything is allocated
  const decoderOpts = decoderOptions(opts, cfg);
  const t5File = ['model.safetensors', 'pytorch_model.safetensors']
    .map((n) => join(opts.t5, n))
    .find((f) => existsSync(f));
  if (!t5File) {
    throw new AudiogenError('MISSING_FILE', `no model.safetensors in the T5 folder ${opts.t5}`);
  }
  const ckptFile = readSafetensors(opts.checkpoint);
  const t5File_ = readSafetensors(t5File);
  const ckpt = finiteWeights(normalizeKeys(ckptFile), opts.checkpoint);
  const t5 = finiteWeights(normalizeKeys(t5File_), t5File);
  try {
    // Check the whole checkpoint up front: one error listing every problem.
    const withEncoder = opts.encoder !== false;
    const spec = checkpointSpec(cfg, { encoder: withEncoder });
    checkWeights(ckpt, spec, {
      what: opts.checkpoint,
      allowExtra: !!opts.ignoreExtraKeys,
      ignore: (k) => !withEncoder && k.startsWith(ENCODER_PREFIX),
    });
    const result: FolderResult = { dir, files: {}, config: cfg };
    const common = { fp16Weights: !!opts.fp16Weights, ...(p ? { onProgress: p } : {}) };
    await writeFolderAtomic(
      dir,
      async (tmp) => {
        const at = { tmp, dir };
        await writeModel(
          'conditioners',
          at,
          () => buildConditioners(cfg, t5, withPrefix(ckpt, NUMBER_PREFIX), common),
          result,
          p,
        );
        await writeModel(
          'dit',
          at,
          () =>
            buildDit(cfg, withPrefix(ckpt, DIT_PREFIX), { ...common, armCompatible: !!opts.armCompatible }),
          result,
          p,
        );
        await writeModel(
          'decoder',
          at,
          () => buildDecoder(cfg, withPrefix(ckpt, DECODER_PREFIX), { ...common, ...decoderOpts }),
          result,
          p,
        );
        if (withEncoder)
          await writeModel(
            'encoder',
            at,
            () => buildEncoder(cfg, withPrefix(ckpt, ENCODER_PREFIX), common),
            result,
            p,
          );
        await finishFolder(
          at,
          cfg,
          spiece,
          { source: { checkpoint: opts.checkpoint, ...opts.source }, armCompatible: !!opts.armCompatible },
          result,
          p,
        );
      },
      { owns: ownsFolderEntry, inputs },
    );
    return result;
  } finally {
    ckptFile.close();
    t5File_.close();
  }
}
