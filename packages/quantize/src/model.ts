/** File- and bytes-level quantization over core's .tflite reader and writer. */
import { promises as fs } from 'node:fs';
import {
  AudiogenError,
  checkHooks,
  checkOutputTarget,
  isAudiogenError,
  type QuantizeResult,
  type Quantizer,
  readInputFile,
  readInputText,
  writeFolderAtomic,
} from '@audiogen/core';
import { type Graph, readTflite, writeTflite, writeTfliteFile } from '@audiogen/core/tflite';
import { parseRecipe, type Recipe, toRecipe } from './recipe';
import { isNamedRecipe, namedRecipe } from './recipes';
import { type QuantizeGraphOptions, type QuantizeReport, quantizeGraph } from './transform';

/** Recipes are a few kB of JSON; a file far larger is not one. */
const MAX_RECIPE_FILE_BYTES = 16 * 1024 * 1024;

/** A recipe from a built-in name, a path to an AEQ recipe .json file, JSON text, or parsed JSON. */
export async function loadRecipe(spec: string | Recipe | unknown): Promise<Recipe> {
  if (typeof spec !== 'string') return toRecipe(spec);
  if (isNamedRecipe(spec)) return namedRecipe(spec);
  const trimmed = spec.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) return parseRecipe(trimmed);
  let text: string;
  try {
    text = await readInputText(spec, {
      what: 'recipe file',
      maxBytes: MAX_RECIPE_FILE_BYTES,
      tooLargeCode: 'INVALID_RECIPE',
    });
  } catch (e) {
    if (!isAudiogenError(e, 'MISSING_FILE')) throw e;
    throw new AudiogenError(
      'INVALID_RECIPE',
      `"${spec}" is neither a built-in recipe name nor a readable recipe file`,
      {
        cause: e,
        details: { recipe: spec },
      },
    );
  }
  return parseRecipe(text);
}

export interface QuantizeModelResult {
  model: Uint8Array;
  graph: Graph;
  report: QuantizeReport & { floatBytes: number; quantizedBytes: number; sizeRatio: number };
}

/** Quantizes .tflite bytes (or an already-read Graph) with a recipe; returns the new .tflite bytes. */
export function quantizeModel(
  model: Uint8Array | Graph,
  recipe: Recipe | unknown,
  options: QuantizeGraphOptions = {},
): QuantizeModelResult {
  const graph = model instanceof Uint8Array ? readTflite(model) : model;
  const { graph: out, report } = quantizeGraph(graph, recipe, options);
  const bytes = writeTflite(out);
  const floatBytes = model instanceof Uint8Array ? model.byteLength : writeTflite(graph).byteLength;
  return {
    model: bytes,
    graph: out,
    report: {
      ...report,
      floatBytes,
      quantizedBytes: bytes.byteLength,
      sizeRatio: bytes.byteLength / floatBytes,
    },
  };
}

/** Reads `input`, quantizes, writes `output` atomically (large models use the offset layout). */
export async function quantizeFile(
  input: string,
  output: string,
  recipe: Recipe | string | unknown,
  options: QuantizeGraphOptions = {},
): Promise<QuantizeReport & { floatBytes: number; quantizedBytes: number; sizeRatio: number }> {
  checkHooks(options);
  // Before any work: a writable output that is not the input (`--out in.tflite` used to overwrite it).
  await checkOutputTarget(output, { inputs: [input] });
  const r = await loadRecipe(recipe);
  const bytes = await readInputFile(input, { what: 'model file' });
  options.onProgress?.(`read ${input} (${bytes.byteLength} bytes)`, 0);
  const graph = readTflite(bytes);
  const { graph: out, report } = quantizeGraph(graph, r, options);
  options.onProgress?.(`writing ${output}`, 1);
  await writeTfliteFile(output, out, { inputs: [input] });
  const quantizedBytes = (await fs.stat(output)).size;
  return {
    ...report,
    floatBytes: bytes.byteLength,
    quantizedBytes,
    sizeRatio: quantizedBytes / bytes.byteLength,
  };
}

/** The core `Quantizer` interface over AEQ recipes. */
export class AeqQuantizer implements Quantizer<Recipe | string | unknown, QuantizeReport> {
  async quantize(
    model: Uint8Array,
    recipe: Recipe | string | unknown,
    options: { onProgress?: (message: string, fraction?: number) => void } = {},
  ): Promise<QuantizeResult<QuantizeReport>> {
    const r = await loadRecipe(recipe);
    const { model: bytes, report } = quantizeModel(model, r, options);
    return { model: bytes, report };
  }
}

/**
 * Quantizes a Stable Audio model folder with a per-component preset (see STABLE_AUDIO_PRESETS):
 * every model file the preset names is quantized into `outDir`; other files are copied as they are.
 */
export async function quantizeModelFolder(
  dir: string,
  outDir: string,
  preset: string | Record<string, string> = 'default',
  options: QuantizeGraphOptions = {},
): Promise<
  Record<string, QuantizeReport & { floatBytes: number; quantizedBytes: number; sizeRatio: number }>
> {
  checkHooks(options);
  const { STABLE_AUDIO_PRESETS } = await import('./recipes');
  const map = typeof preset === 'string' ? STABLE_AUDIO_PRESETS[preset] : preset;
  if (!map) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `unknown preset "${String(preset)}" (known: ${Object.keys(STABLE_AUDIO_PRESETS).join(', ')})`,
    );
  }
  const { join } = await import('node:path');
  await checkOutputTarget(outDir, { kind: 'folder', inputs: [dir] });
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch (e) {
    throw new AudiogenError('MISSING_FILE', `cannot read model folder ${dir}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const reports: Record<
    string,
    QuantizeReport & { floatBytes: number; quantizedBytes: number; sizeRatio: number }
  > = {};
  // Built beside outDir and swapped in: an interrupted run leaves the old folder or the new one.
  await writeFolderAtomic(
    outDir,
    async (tmp) => {
      for (const name of entries) {
        const src = join(dir, name);
        if (!(await fs.stat(src)).isFile()) continue;
        const recipe =
          map[name] ?? (name === 'conditioners_float32.tflite' ? map['conditioners.tflite'] : undefined);
        if (recipe) {
          options.onProgress?.(`${name}: ${recipe}`);
          reports[name] = await quantizeFile(src, join(tmp, name), recipe, options);
        } else {
          await fs.copyFile(src, join(tmp, name));
        }
      }
    },
    { inputs: [dir], owns: (name) => entries.includes(name) || name.endsWith('.tflite') },
  );
  return reports;
}

export interface VariantReport {
  source: string;
  out: string;
  recipe: string;
  /** 'written', or why not: the variant is newer than its source, or the source is not float. */
  status: 'written' | 'up-to-date' | 'source-not-float' | 'no-source';
  report?: QuantizeReport & { floatBytes: number; quantizedBytes: number; sizeRatio: number };
}

/**
 * Writes a variant preset's extra precisions into a Stable Audio folder, beside the float files (see
 * STABLE_AUDIO_VARIANT_PRESETS): e.g. `dit_model.int8.tflite` next to `dit_model.tflite`. A variant newer
 * than its source is kept (`force` rewrites it); a source whose weights are not float (Arm's int8
 * `dit_model.tflite`) is left alone.
 */
export async function quantizeFolderVariants(
  dir: string,
  preset: string,
  options: QuantizeGraphOptions & { force?: boolean } = {},
): Promise<VariantReport[]> {
  const { STABLE_AUDIO_VARIANT_PRESETS } = await import('./recipes');
  const map = STABLE_AUDIO_VARIANT_PRESETS[preset];
  if (!map) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `unknown folder preset "${preset}" (known: ${Object.keys(STABLE_AUDIO_VARIANT_PRESETS).join(', ')})`,
    );
  }
  const { join } = await import('node:path');
  const { inspectTfliteFile, weightPrecision } = await import('@audiogen/core/tflite');
  const st = await fs.stat(dir).catch((e) => {
    throw new AudiogenError('MISSING_FILE', `model folder ${dir} does not exist`, { cause: e });
  });
  if (!st.isDirectory()) throw new AudiogenError('INVALID_ARGUMENT', `${dir} is not a folder`);
  const out: VariantReport[] = [];
  for (const [name, v] of Object.entries(map)) {
    const source = join(dir, name);
    const target = join(dir, v.out);
    const row: VariantReport = { source, out: target, recipe: v.recipe, status: 'written' };
    out.push(row);
    const s = await fs.stat(source).catch(() => undefined);
    if (!s) {
      row.status = 'no-source';
      continue;
    }
    if (weightPrecision(inspectTfliteFile(source)) !== 'fp32') {
      row.status = 'source-not-float';
      continue;
    }
    const t = await fs.stat(target).catch(() => undefined);
    if (t && !options.force && t.mtimeMs >= s.mtimeMs) {
      row.status = 'up-to-date';
      continue;
    }
    options.onProgress?.(`${name} → ${v.out}: ${v.recipe}`);
    row.report = await quantizeFile(source, target, v.recipe, options);
  }
  return out;
}
