import { access, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AudiogenError, cleanStaleOutputTemps, readInputJson, statInputFile } from '@audiogen/core';
import { inspectTfliteFile, weightPrecision } from '@audiogen/core/tflite';
import { STABLE_AUDIO_OPEN_SMALL_FAMILY, type StableAudioFamilyConfig } from './family';

/**
 * Accepted file names, first match wins. Our converter writes the first name of each list;
 * Arm's export scripts write `conditioners_float32.tflite` and the others as listed.
 */
export const MODEL_FILE_NAMES = {
  conditioners: ['conditioners.tflite', 'conditioners_float32.tflite'],
  dit: ['dit_model.tflite'],
  decoder: ['autoencoder_model.tflite'],
  encoder: ['autoencoder_encoder.tflite'],
  tokenizer: ['spiece.model'],
  manifest: ['audiogen.json'],
} as const;

/** How a model file stores its weights (what `--precision` chooses between). */
export type WeightPrecision = 'fp32' | 'fp16' | 'int8';

/**
 * Extra precisions of a model that a folder may carry beside the default file (written by
 * `audiogen quantize <folder> --preset …` and `audiogen convert --dit-int8`); the pipeline picks one per host.
 */
export const MODEL_VARIANT_NAMES = {
  dit: { int8: 'dit_model.int8.tflite' },
  decoder: { int8: 'autoencoder_model.int8.tflite', fp16: 'autoencoder_model.fp16.tflite' },
} as const;

/** The files of one model by weight precision (the default file under the precision it holds). */
export type ModelVariants = Partial<Record<WeightPrecision, string>>;

export interface StableAudioModelFiles {
  conditioners: string;
  dit: string;
  decoder: string;
  tokenizer: string;
  /** Present only when the folder can do audio-to-audio. */
  encoder?: string;
  manifest?: string;
  /**
   * Every precision of the DiT and the decoder found in the folder (the default files included, under the
   * precision their weights are stored in: Arm's `dit_model.tflite` is int8). `dit`/`decoder` above are the
   * default files; the pipeline's `precision` option picks among these.
   */
  variants?: { dit: ModelVariants; decoder: ModelVariants };
}

/** Our manifest (`audiogen.json`); every field is optional. */
export interface StableAudioManifest {
  family?: string;
  config?: Partial<StableAudioFamilyConfig> & Record<string, unknown>;
  [key: string]: unknown;
}

export interface StableAudioModelFolder {
  readonly dir: string;
  readonly files: StableAudioModelFiles;
  readonly manifest: StableAudioManifest | undefined;
  /** Family defaults overlaid with the manifest's config. Shapes are still taken from the models. */
  readonly config: StableAudioFamilyConfig;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The precision a .tflite stores its weights in, from its tables (no weights read); `undefined` when
 * the file cannot be read as .tflite.
 */
export function weightPrecisionOf(path: string): WeightPrecision | undefined {
  try {
    return weightPrecision(inspectTfliteFile(path));
  } catch {
    return undefined;
  }
}

async function variantsOf(
  dir: string,
  base: string | undefined,
  extra: Readonly<Partial<Record<WeightPrecision, string>>>,
): Promise<ModelVariants> {
  const v: ModelVariants = {};
  for (const [p, name] of Object.entries(extra) as [WeightPrecision, string][]) {
    const path = join(dir, name);
    if (await exists(path)) v[p] = path;
  }
  // The default file counts under what it holds (fp32 when unreadable: the runtime will say why).
  if (base) {
    const p = weightPrecisionOf(base) ?? 'fp32';
    if (!v[p]) v[p] = base;
  }
  return v;
}

async function findFile(dir: string, names: readonly string[]): Promise<string | undefined> {
  for (const n of names) {
    const p = join(dir, n);
    if (await exists(p)) return p;
  }
  return undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * Bounds of the manifest's numbers (integer or not): far above Stable Audio Open Small's, far below what
 * would exhaust memory when the pipeline sizes its buffers from them.
 */
const MANIFEST_LIMITS = {
  sampleRate: [1, 384_000, true],
  channels: [1, 16, true],
  sampleSize: [1, 2 ** 23, true],
  secondsMin: [0, 86_400, false],
  secondsMax: [0, 86_400, false],
  steps: [1, 1000, true],
  cfgScale: [-100, 100, false],
  tokenLength: [1, 4096, true],
  promptTokens: [2, 4096, true],
  maxSeconds: [0, 86_400, false],
} as const;
/** Largest latent (elements) a manifest's latentShape may declare. */
const MAX_LATENT_ELEMENTS = 2 ** 28;

/** Reads a manifest config with care: wrong types are errors, unknown keys are kept. */
function mergeConfig(manifest: StableAudioManifest | undefined, path: string): StableAudioFamilyConfig {
  const base = STABLE_AUDIO_OPEN_SMALL_FAMILY;
  if (!manifest) return base;
  const c = (manifest.config ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = { ...base };
  if (typeof manifest.family === 'string') out.family = manifest.family;
  for (const key of [
    'sampleRate',
    'channels',
    'sampleSize',
    'secondsMin',
    'secondsMax',
    'steps',
    'cfgScale',
    'tokenLength',
    'promptTokens',
  ] as const) {
    if (c[key] === undefined) continue;
    const v = num(c[key]);
    const [lo, hi, integer] = MANIFEST_LIMITS[key];
    if (v === undefined || v < lo || v > hi || (integer && !Number.isInteger(v))) {
      throw new AudiogenError(
        'INVALID_MODEL',
        `${path}: config.${key} must be ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}] (got ${JSON.stringify(c[key])?.slice(0, 40)})`,
        { details: { path, key } },
      );
    }
    out[key] = v;
  }
  if (c.sampler !== undefined) {
    if (typeof c.sampler !== 'string')
      throw new AudiogenError('INVALID_MODEL', `${path}: config.sampler must be a string`);
    out.sampler = c.sampler;
  }
  if (c.latentShape !== undefined) {
    if (
      !Array.isArray(c.latentShape) ||
      c.latentShape.length > 8 ||
      !c.latentShape.every((d) => Number.isInteger(d) && d > 0) ||
      c.latentShape.reduce((a: number, d: number) => a * d, 1) > MAX_LATENT_ELEMENTS
    ) {
      throw new AudiogenError(
        'INVALID_MODEL',
        `${path}: config.latentShape must be at most 8 positive integers, ${MAX_LATENT_ELEMENTS} elements in all`,
      );
    }
    out.latentShape = c.latentShape;
  }
  if (c.decoderStrides !== undefined) {
    const v = c.decoderStrides;
    if (
      !Array.isArray(v) ||
      v.length < 1 ||
      v.length > 16 ||
      !v.every((d) => Number.isInteger(d) && d >= 1 && d <= 1024)
    )
      throw new AudiogenError(
        'INVALID_MODEL',
        `${path}: config.decoderStrides must be 1 to 16 integers in [1, 1024]`,
      );
    out.decoderStrides = v;
  }
  // A maxSeconds in the manifest fixes sampleSize when sampleSize is absent.
  const maxSeconds = num(c.maxSeconds);
  if (maxSeconds !== undefined && (maxSeconds < 0 || maxSeconds > MANIFEST_LIMITS.maxSeconds[1]))
    throw new AudiogenError('INVALID_MODEL', `${path}: config.maxSeconds must be in [0, 86400]`);
  if (maxSeconds !== undefined && c.sampleSize === undefined) {
    out.sampleSize = Math.round(maxSeconds * (out.sampleRate as number));
    if ((out.sampleSize as number) > MANIFEST_LIMITS.sampleSize[1])
      throw new AudiogenError(
        'INVALID_MODEL',
        `${path}: config.maxSeconds × sampleRate is over ${MANIFEST_LIMITS.sampleSize[1]} samples`,
      );
  }
  return out as unknown as StableAudioFamilyConfig;
}

/**
 * Finds the files of a Stable Audio model folder. Throws MISSING_FILE naming every missing file
 * and the folder looked in; INVALID_MODEL when `audiogen.json` is unreadable.
 */
export async function loadModelFolder(dir: string): Promise<StableAudioModelFolder> {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new AudiogenError('INVALID_ARGUMENT', 'the model folder path must be a non-empty string');
  }
  const abs = resolve(dir);
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(abs);
  } catch (e) {
    // A convert/quantize killed between the two renames of its folder swap left the old folder set aside
    // beside it: put it back (the output layer's own recovery) rather than report the folder missing.
    const restored = await cleanStaleOutputTemps(abs);
    st = await stat(abs).catch(() => {
      throw new AudiogenError('MISSING_FILE', `model folder ${abs} does not exist`, {
        cause: e,
        details: { path: abs, ...(restored.length ? { cleaned: restored } : {}) },
      });
    });
  }
  if (!st.isDirectory()) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `${abs} is not a folder; pass the folder holding the models`,
      {
        details: { path: abs },
      },
    );
  }
  const found: Partial<Record<keyof typeof MODEL_FILE_NAMES, string>> = {};
  for (const key of Object.keys(MODEL_FILE_NAMES) as (keyof typeof MODEL_FILE_NAMES)[]) {
    const p = await findFile(abs, MODEL_FILE_NAMES[key]);
    if (p) found[key] = p;
  }
  const variants = {
    dit: await variantsOf(abs, found.dit, MODEL_VARIANT_NAMES.dit),
    decoder: await variantsOf(abs, found.decoder, MODEL_VARIANT_NAMES.decoder),
  };
  // A folder may carry only a variant (e.g. `convert --dit-int8` without the fp32 DiT).
  found.dit ??= variants.dit.fp32 ?? variants.dit.int8;
  found.decoder ??= variants.decoder.fp32 ?? variants.decoder.fp16 ?? variants.decoder.int8;
  const required = ['conditioners', 'dit', 'decoder', 'tokenizer'] as const;
  const missing = required.filter((k) => !found[k]);
  if (missing.length > 0) {
    const list = missing.map((k) => MODEL_FILE_NAMES[k].join(' or ')).join(', ');
    throw new AudiogenError(
      'MISSING_FILE',
      `model folder ${abs} is missing ${list}. A folder needs conditioners.tflite (or conditioners_float32.tflite), ` +
        "dit_model.tflite, autoencoder_model.tflite and spiece.model; make one with `audiogen convert` or Arm's export scripts",
      { details: { path: abs, missing: missing.map((k) => MODEL_FILE_NAMES[k][0]) } },
    );
  }
  // Every file is a regular file (a FIFO or device is refused now, not when a stage reads it).
  for (const p of Object.values(found))
    await statInputFile(p, { what: 'model folder file', maxBytes: Number.MAX_SAFE_INTEGER });
  let manifest: StableAudioManifest | undefined;
  if (found.manifest) {
    manifest = (await readInputJson(found.manifest, 'INVALID_MODEL', {
      what: 'manifest',
    })) as StableAudioManifest;
    if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
      throw new AudiogenError('INVALID_MODEL', `${found.manifest} must hold a JSON object`);
    }
  }
  const files: StableAudioModelFiles = {
    conditioners: found.conditioners!,
    dit: found.dit!,
    decoder: found.decoder!,
    tokenizer: found.tokenizer!,
    ...(found.encoder ? { encoder: found.encoder } : {}),
    ...(found.manifest ? { manifest: found.manifest } : {}),
    variants,
  };
  return { dir: abs, files, manifest, config: mergeConfig(manifest, found.manifest ?? abs) };
}
