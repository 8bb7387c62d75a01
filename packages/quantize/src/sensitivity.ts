/**
 * Per-layer sensitivity: how much a model's outputs move when only one of the ops a recipe quantizes is
 * quantized. Needs one model run per op but no intermediate outputs, so it works on models whose
 * activations would not fit in memory as debug outputs (the Stable Audio decoder's add up to ~23 GB).
 * The layers that hurt most are the ones a mixed-precision recipe keeps in float (`keepFloat`).
 */
import { AudiogenError, type Runtime, type Tensor, toFloat32 } from '@audiogen/core';
import { type Graph, readTflite, writeTflite } from '@audiogen/core/tflite';
import { type ComparisonResult, plannedInputShapes, randomInputs, type TensorMetrics } from './compare';
import { computeMetrics, METRICS, type MetricName } from './metrics';
import {
  compilePythonRegex,
  parseRecipe,
  type Recipe,
  type RecipeJson,
  recipeToJson,
  toRecipe,
} from './recipe';
import { quantizeGraph } from './transform';

export interface LayerSensitivity {
  /** Operator index in the first subgraph and its type. */
  index: number;
  op: string;
  /** AEQ scope of the op (its output tensor names, each followed by ';'). */
  scope: string;
  /** The op's first output tensor name (the key in overlays and charts). */
  tensor: string;
  /** Metrics of the model outputs with only this op quantized (averaged over outputs and samples). */
  metrics: TensorMetrics;
  /** 10·log10(snr): output signal-to-noise ratio in dB. */
  snrDb: number;
}

export interface SensitivityOptions {
  threads?: number;
  metrics?: readonly MetricName[];
  /** Only these op types (default: every op the recipe quantizes). */
  ops?: readonly string[];
  onProgress?: (message: string, fraction?: number) => void;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `recipe` restricted to the op whose scope is exactly `scope` (everything else float): each entry whose
 * regex matches that scope is kept with the scope itself as its regex (in order, so the same entry wins);
 * the others are dropped.
 */
export function recipeForScope(recipe: Recipe, scope: string): Recipe {
  const exact = `^${escapeRegex(scope)}$`;
  return parseRecipe(
    recipeToJson(recipe)
      .filter((e) => compilePythonRegex(String(e.regex)).test(scope))
      .map((e) => ({ ...e, regex: exact })),
  );
}

/** `recipe` with the ops of the given scopes left in float (entries appended: later entries win). */
export function keepFloat(recipe: Recipe | RecipeJson, scopes: readonly string[]): Recipe {
  const json = Array.isArray(recipe) ? (recipe as RecipeJson) : recipeToJson(recipe as Recipe);
  if (!scopes.length) return parseRecipe(json);
  return parseRecipe([
    ...json,
    {
      regex: `^(?:${scopes.map(escapeRegex).join('|')})$`,
      operation: '*',
      algorithm_key: 'no_quantize',
    },
  ]);
}

const asGraph = (m: Uint8Array | Graph) => (m instanceof Uint8Array ? readTflite(m) : m);

/**
 * Quantizes each op the recipe would quantize on its own and compares the outputs with the float model
 * on the same inputs with AEQ's metrics (compare() on the outputs only; the float model runs once). Sorted from the most to the least harmful.
 * `comparison` carries the same numbers keyed by each op's output tensor, for Model Explorer overlays and
 * the HTML chart.
 */
export async function layerSensitivity(
  floatModel: Uint8Array | Graph,
  recipe: Recipe | unknown,
  inputs: Readonly<Record<string, Tensor>> | readonly Readonly<Record<string, Tensor>>[] | 'random',
  runtime: Runtime,
  options: SensitivityOptions = {},
): Promise<{ layers: LayerSensitivity[]; comparison: ComparisonResult; signature: string }> {
  const graph = asGraph(floatModel);
  const r = toRecipe(recipe);
  const { report } = quantizeGraph(graph, r);
  const ops = report.quantized.filter(
    (q) => q.subgraph === 0 && (!options.ops || options.ops.includes(q.op)),
  );
  if (!ops.length)
    throw new AudiogenError(
      'INVALID_RECIPE',
      'the recipe quantizes no op of this model (nothing to analyse)',
    );
  const metricNames = options.metrics ?? METRICS;
  const signature = graph.signatures[0]?.signature_key;
  if (!signature) throw new AudiogenError('INVALID_MODEL', 'the float model has no signature');
  const load = (g: Graph, label: string) =>
    runtime.load(writeTflite(g), { label, ...(options.threads ? { threads: options.threads } : {}) });
  // The float model runs once per sample; each one-layer model is then compared with those outputs.
  const fm = await load(graph, 'float');
  let samples: readonly Readonly<Record<string, Tensor>>[];
  const reference: Record<string, Tensor>[] = [];
  try {
    samples =
      inputs === 'random'
        ? [randomInputs(fm, 0, signature, plannedInputShapes(graph, signature))]
        : Array.isArray(inputs)
          ? inputs
          : [inputs as Readonly<Record<string, Tensor>>];
    if (!samples.length) throw new AudiogenError('MISSING_INPUT', 'at least one input sample is needed');
    for (const s of samples) reference.push(await fm.run(s, { signature }));
  } finally {
    fm.dispose();
  }
  const layers: LayerSensitivity[] = [];
  const per: Record<string, TensorMetrics> = {};
  for (const [i, q] of ops.entries()) {
    options.onProgress?.(`layer ${i + 1}/${ops.length}: ${q.scope}`, i / ops.length);
    const { graph: one } = quantizeGraph(graph, recipeForScope(r, q.scope));
    const qm = await load(one, `int8 ${q.scope}`);
    const metrics: TensorMetrics = {};
    let n = 0;
    try {
      for (const [k, s] of samples.entries()) {
        const out = await qm.run(s, { signature });
        for (const [name, ref] of Object.entries(reference[k]!)) {
          const t = out[name];
          if (!t || ref.dtype === 'bool') continue;
          n++;
          for (const [m, v] of Object.entries(computeMetrics(toFloat32(t), toFloat32(ref), metricNames)))
            metrics[m] = (metrics[m] ?? 0) + v;
        }
      }
    } finally {
      qm.dispose();
    }
    for (const m of Object.keys(metrics)) metrics[m]! /= Math.max(1, n);
    const tensor = q.scope.split(';')[0]!;
    per[tensor] = metrics;
    layers.push({
      index: q.index,
      op: q.op,
      scope: q.scope,
      tensor,
      metrics,
      snrDb: metrics.snr === undefined ? Number.NaN : 10 * Math.log10(metrics.snr),
    });
  }
  options.onProgress?.('done', 1);
  layers.sort((a, b) => a.snrDb - b.snrDb);
  const comparison = {
    reduced_size_bytes: 0,
    reduced_size_percentage: 0,
    [signature]: { input_tensors: {}, output_tensors: {}, constant_tensors: {}, intermediate_tensors: per },
  } as ComparisonResult;
  return { layers, comparison, signature };
}
