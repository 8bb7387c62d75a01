// Per-model placement by measurement: a model goes to the GPU only where it runs faster there on this host.
// Generic over any Runtime whose load() understands LoadOptions.accelerator; the decision is cached in a
// JSON file so that it is measured once per model file, host and precision (or again on request).
import { mkdir, readFile, stat } from 'node:fs/promises';
import { cpus, homedir, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { AudiogenError, isAudiogenError } from './errors';
import type { LoadOptions, Model, Runtime, TensorInfo } from './interfaces';
import { writeFileAtomic } from './output';
import { type Tensor, tensor } from './tensor';

export type AcceleratorChoice = 'cpu' | 'gpu' | 'auto';

/** Where a model was placed and why (reported by pipelines per stage). */
export interface ModelPlacement {
  requested: AcceleratorChoice;
  accelerator: 'cpu' | 'gpu';
  /**
   * 'requested': 'cpu' or 'gpu' as asked; 'measured': 'auto', both timed now; 'cached': 'auto', from an earlier
   * measurement; 'fallback': 'auto', the GPU refused the model (`reason`).
   */
  source: 'requested' | 'measured' | 'cached' | 'fallback';
  /** One warm run of the model's first signature on each (zero inputs), ms; timings of a software GPU mean nothing. */
  cpuMs?: number;
  gpuMs?: number;
  /** The GPU adapter, as the runtime reports it. */
  adapter?: string;
  /** Why the GPU was not used ('fallback'), e.g. the runtime's error message. */
  reason?: string;
}

export interface PlaceModelOptions {
  accelerator: AcceleratorChoice;
  /** JSON file caching 'auto' decisions; undefined: measure every time and cache nothing. */
  cacheFile?: string;
  /** Measure even when the cache has a decision (and update it). */
  remeasure?: boolean;
  /**
   * The shape to measure an input with open (-1) dims at (default: open dims as 1), e.g. a decoder's full
   * length: a GPU delegate may compute only at the shape it was compiled for.
   */
  probeShape?: (input: TensorInfo) => readonly number[] | undefined;
}

interface CacheEntry {
  accelerator: 'cpu' | 'gpu';
  cpuMs: number;
  gpuMs: number;
  adapter?: string;
  /** Set when the GPU's outputs disagreed with the CPU's (then 'cpu'). */
  reason?: string;
  at: string;
}

/** Where placement decisions are cached by default: `$XDG_CACHE_HOME/audiogen/placement.json` (~/.cache/…). */
export function defaultPlacementCache(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'audiogen', 'placement.json');
}

export function checkAcceleratorChoice(v: unknown, what = 'accelerator'): AcceleratorChoice {
  if (v !== 'cpu' && v !== 'gpu' && v !== 'auto')
    throw new AudiogenError('INVALID_ARGUMENT', `${what} must be 'cpu', 'gpu' or 'auto', got ${String(v)}`);
  return v;
}

/**
 * Inputs of a model's first signature (open dims as 1): floats a fixed sine pattern in (-1, 1), integers 0 —
 * the same on both devices, so their outputs can be compared.
 */
function probeInputs(m: Model, probeShape: PlaceModelOptions['probeShape']): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const i of m.inputs) {
    const t = tensor(
      i.dtype,
      (i.shape.some((d) => d < 0) ? probeShape?.(i) : undefined) ?? i.shape.map((d) => (d < 0 ? 1 : d)),
    );
    if (t.data instanceof Float32Array || t.data instanceof Float64Array)
      for (let k = 0; k < t.data.length; k++) t.data[k] = Math.sin(k * 0.731 + 1) * 0.9;
    out[i.name] = t;
  }
  return out;
}

/** One warm-up run, then the best of `rounds` timed runs: ms and the outputs. */
async function timeRuns(
  m: Model,
  probeShape: PlaceModelOptions['probeShape'],
  rounds = 2,
): Promise<{ ms: number; outputs: Record<string, Tensor> }> {
  const inputs = probeInputs(m, probeShape);
  const outputs = await m.run(inputs);
  let ms = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    await m.run(inputs);
    ms = Math.min(ms, performance.now() - t0);
  }
  return { ms, outputs };
}

/** The largest |gpu - cpu| over the float32 outputs, relative to the largest |cpu| of that output. */
function disagreement(gpu: Record<string, Tensor>, cpu: Record<string, Tensor>): number {
  let worst = 0;
  for (const [name, c] of Object.entries(cpu)) {
    const g = gpu[name]?.data;
    if (!(c.data instanceof Float32Array) || !(g instanceof Float32Array)) continue;
    let num = 0;
    let den = 0;
    for (let k = 0; k < c.data.length; k++) {
      num = Math.max(num, Math.abs(g[k]! - c.data[k]!));
      den = Math.max(den, Math.abs(c.data[k]!));
    }
    worst = Math.max(worst, Number.isFinite(num) ? num / (den || 1) : Number.POSITIVE_INFINITY);
  }
  return worst;
}

/**
 * How far the GPU's outputs may be from the CPU's before 'auto' refuses the GPU, relative to the largest
 * CPU value: fp32 differs only in summation order; fp16 rounds activations and weights (11-bit significand).
 */
export const PLACEMENT_TOLERANCE = { fp32: 1e-3, fp16: 5e-2 } as const;

async function cacheKey(path: string, options: LoadOptions): Promise<string> {
  const st = await stat(path);
  return JSON.stringify([
    path,
    st.size,
    Math.round(st.mtimeMs),
    options.gpuPrecision ?? 'fp16',
    options.threads ?? 'default',
    hostname(),
    cpus()[0]?.model ?? '',
  ]);
}

async function readCache<E = CacheEntry>(file: string): Promise<Record<string, E>> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, E>) : {};
  } catch {
    return {}; // missing or unreadable: measure again
  }
}

/** Adds one entry to the cache file (re-read first: another process may have added entries meanwhile). */
async function writeCacheEntry(file: string, key: string, entry: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const fresh = await readCache<unknown>(file);
  fresh[key] = entry;
  await writeFileAtomic(file, new TextEncoder().encode(`${JSON.stringify(fresh, null, 1)}\n`));
}

const gpuAdapter = (m: Model): string | undefined =>
  (m as { placement?: { adapter?: string } }).placement?.adapter;

/**
 * Loads `path` where `accelerator` says: 'cpu'/'gpu' as asked (a GPU refusal is the runtime's typed error);
 * 'auto': on the GPU only if the runtime can run it there whole and it is faster there than on the CPU, by one
 * measurement per model file, host and precision, cached in `cacheFile`.
 */
export async function placeModel(
  runtime: Runtime,
  path: string,
  options: LoadOptions,
  place: PlaceModelOptions,
): Promise<{ model: Model; placement: ModelPlacement }> {
  const requested = checkAcceleratorChoice(place.accelerator);
  // The CPU is every runtime's default: its loads carry the caller's options unchanged.
  const { accelerator: _, ...onCpu } = options;
  if (requested !== 'auto') {
    const model = await runtime.load(
      path,
      requested === 'cpu' ? onCpu : { ...options, accelerator: requested },
    );
    const adapter = requested === 'gpu' ? gpuAdapter(model) : undefined;
    return {
      model,
      placement: { requested, accelerator: requested, source: 'requested', ...(adapter ? { adapter } : {}) },
    };
  }
  const key = place.cacheFile ? await cacheKey(path, options) : '';
  const cache = place.cacheFile ? await readCache(place.cacheFile) : {};
  const hit = place.remeasure ? undefined : cache[key];
  if (hit?.accelerator === 'cpu') {
    const model = await runtime.load(path, onCpu);
    return {
      model,
      placement: {
        requested,
        accelerator: 'cpu',
        source: 'cached',
        cpuMs: hit.cpuMs,
        gpuMs: hit.gpuMs,
        ...(hit.reason ? { reason: hit.reason } : {}),
      },
    };
  }
  let gpu: Model;
  try {
    gpu = await runtime.load(path, { ...options, accelerator: 'gpu' });
  } catch (e) {
    if (!isAudiogenError(e, 'ACCELERATOR_UNAVAILABLE') && !isAudiogenError(e, 'UNSUPPORTED')) throw e;
    const model = await runtime.load(path, onCpu);
    return { model, placement: { requested, accelerator: 'cpu', source: 'fallback', reason: e.message } };
  }
  const adapter = gpuAdapter(gpu);
  if (hit?.accelerator === 'gpu') {
    return {
      model: gpu,
      placement: {
        requested,
        accelerator: 'gpu',
        source: 'cached',
        cpuMs: hit.cpuMs,
        gpuMs: hit.gpuMs,
        adapter,
      },
    };
  }
  let onGpuRun: { ms: number; outputs: Record<string, Tensor> };
  try {
    onGpuRun = await timeRuns(gpu, place.probeShape);
  } catch (e) {
    // A GPU that takes the model but fails to run it (a driver fault, a timeout) is a reason for the CPU too.
    gpu.dispose();
    if (isAudiogenError(e, 'ABORTED') || isAudiogenError(e, 'DISPOSED')) throw e;
    const model = await runtime.load(path, onCpu);
    const reason = `the GPU run failed: ${e instanceof Error ? e.message : String(e)}`;
    return {
      model,
      placement: {
        requested,
        accelerator: 'cpu',
        source: 'fallback',
        reason,
        ...(adapter ? { adapter } : {}),
      },
    };
  }
  let cpu: Model | undefined;
  try {
    cpu = await runtime.load(path, onCpu);
    const onCpuRun = await timeRuns(cpu, place.probeShape);
    const [gpuMs, cpuMs] = [onGpuRun.ms, onCpuRun.ms];
    // A GPU that computes something else is never the faster choice: compare the same inputs' outputs first.
    const precision = options.gpuPrecision ?? 'fp16';
    const off = disagreement(onGpuRun.outputs, onCpuRun.outputs);
    const wrong =
      off > PLACEMENT_TOLERANCE[precision]
        ? `the GPU's outputs differ from the CPU's by ${off.toPrecision(3)} of the largest value (allowed ${PLACEMENT_TOLERANCE[precision]} at ${precision})`
        : undefined;
    const onGpu = !wrong && gpuMs < cpuMs;
    const [keep, drop] = onGpu ? [gpu, cpu] : [cpu, gpu];
    drop.dispose();
    if (place.cacheFile) {
      const entry: CacheEntry = {
        accelerator: onGpu ? 'gpu' : 'cpu',
        cpuMs,
        gpuMs,
        ...(adapter ? { adapter } : {}),
        ...(wrong ? { reason: wrong } : {}),
        at: new Date().toISOString(),
      };
      await writeCacheEntry(place.cacheFile, key, entry);
    }
    return {
      model: keep,
      placement: {
        requested,
        accelerator: onGpu ? 'gpu' : 'cpu',
        source: 'measured',
        cpuMs,
        gpuMs,
        ...(adapter ? { adapter } : {}),
        ...(wrong ? { reason: wrong } : {}),
      },
    };
  } catch (e) {
    if (!gpu.disposed) gpu.dispose();
    if (cpu && !cpu.disposed) cpu.dispose();
    throw e;
  }
}

// ------------------------------------------------------------------ the faster of several files

/** One file that can play a role, e.g. the float and the int8 DiT. */
export interface ModelCandidate {
  /** What the caller calls it ('fp32', 'int8'…); reported back as the winner. */
  id: string;
  path: string;
}

/** Which candidate was kept and on what evidence. */
export interface FasterChoice {
  id: string;
  /** 'measured': every candidate timed now; 'cached': an earlier measurement on this host. */
  source: 'measured' | 'cached';
  /** The best warm run of each candidate's first signature, ms (as measured then, for 'cached'). */
  ms: Record<string, number>;
  /** When it was measured (ISO time). */
  at: string;
  /** Why the decision could not be cached (it is measured again next time). */
  cacheError?: string;
}

interface FasterEntry {
  kind: 'faster';
  id: string;
  ms: Record<string, number>;
  at: string;
}

/**
 * Loads every candidate, times one warm run of each on the same inputs, and keeps the fastest (on a tie the
 * earlier one, so list the safe default first); the others are disposed. The decision is cached in
 * `cacheFile` per set of files (path, size, mtime), threads and host (name, CPU model and the features the
 * runtime reports), so it is measured once per machine.
 */
export async function pickFasterModel(
  runtime: Runtime,
  candidates: readonly ModelCandidate[],
  options: LoadOptions,
  pick: Pick<PlaceModelOptions, 'cacheFile' | 'remeasure' | 'probeShape'> = {},
): Promise<{ model: Model; choice: FasterChoice }> {
  if (candidates.length === 0)
    throw new AudiogenError('INVALID_ARGUMENT', 'pickFasterModel needs a candidate');
  const { accelerator: _, ...onCpu } = options;
  let key = '';
  if (pick.cacheFile) {
    const files = await Promise.all(candidates.map((c) => cacheKey(c.path, onCpu)));
    key = JSON.stringify(['faster', candidates.map((c) => c.id), files, runtime.host?.features ?? {}]);
    const hit = pick.remeasure ? undefined : (await readCache<FasterEntry>(pick.cacheFile))[key];
    const winner = hit?.kind === 'faster' ? candidates.find((c) => c.id === hit.id) : undefined;
    if (hit && winner) {
      const model = await runtime.load(winner.path, onCpu);
      return { model, choice: { id: winner.id, source: 'cached', ms: hit.ms, at: hit.at } };
    }
  }
  const ms: Record<string, number> = {};
  let best: { c: ModelCandidate; model: Model; ms: number } | undefined;
  try {
    for (const c of candidates) {
      const model = await runtime.load(c.path, onCpu);
      let t: number;
      try {
        t = (await timeRuns(model, pick.probeShape)).ms;
      } catch (e) {
        model.dispose();
        throw e;
      }
      ms[c.id] = t;
      if (!best || t < best.ms) {
        best?.model.dispose();
        best = { c, model, ms: t };
      } else model.dispose();
    }
  } catch (e) {
    if (best && !best.model.disposed) best.model.dispose();
    throw e;
  }
  const at = new Date().toISOString();
  const choice: FasterChoice = { id: best!.c.id, source: 'measured', ms, at };
  if (pick.cacheFile) {
    const entry: FasterEntry = { kind: 'faster', id: choice.id, ms, at };
    try {
      await writeCacheEntry(pick.cacheFile, key, entry);
    } catch (e) {
      // The model is loaded and chosen; a cache that cannot be written only means measuring again next time.
      choice.cacheError = e instanceof Error ? e.message : String(e);
    }
  }
  return { model: best!.model, choice };
}
