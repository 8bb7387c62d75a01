/**
 * Error analysis as AEQ's model_validator.compare_model does it: run the float and the quantized
 * model on the same inputs and compute the five metrics for every tensor the two share by name
 * (inputs, outputs, intermediates, constants). Intermediates are read by running debug copies of
 * both models in which every float activation is an extra subgraph/signature output. Constants are
 * compared offline (float weights vs. dequantized quantized weights).
 */
import { AudiogenError, halfToFloat, type Model, type Runtime, type Tensor, toFloat32 } from '@audiogen/core';
import { type Graph, type GraphTensor, readTflite, writeTflite } from '@audiogen/core/tflite';
import { unpackQuantized } from './math';
import { computeMetrics, METRICS, type MetricName } from './metrics';
import { detRandn } from './test-models';

export type TensorMetrics = Record<string, number>;

export interface SignatureComparison {
  input_tensors: Record<string, TensorMetrics>;
  output_tensors: Record<string, TensorMetrics>;
  constant_tensors: Record<string, TensorMetrics>;
  intermediate_tensors: Record<string, TensorMetrics>;
}

/** AEQ's `<model>_comparison_result.json` layout: sizes, then one entry per signature key. */
export type ComparisonResult = {
  reduced_size_bytes: number;
  reduced_size_percentage: number;
} & { [signature: string]: SignatureComparison | number };

export interface CompareOptions {
  metrics?: readonly MetricName[];
  /** Signature key (default: the first). */
  signature?: string;
  /** Compare intermediate activations too (default true; needs debug copies of the models). */
  intermediates?: boolean;
  /** Compare constant tensors (default true). */
  constants?: boolean;
  threads?: number;
  /** Seed for `'random'` inputs. */
  seed?: number;
  onProgress?: (message: string, fraction?: number) => void;
}

type Inputs = Readonly<Record<string, Tensor>>;

const FLOAT_TYPES = new Set(['FLOAT32', 'FLOAT16']);

/**
 * A copy of the graph whose signature also outputs every float tensor produced by an op in its
 * subgraph. Returns the copy and the map signature-output-name → tensor name.
 */
export function withIntermediateOutputs(
  graph: Graph,
  signatureKey?: string,
): { graph: Graph; names: Map<string, string> } {
  const sigIndex =
    signatureKey === undefined ? 0 : graph.signatures.findIndex((s) => s.signature_key === signatureKey);
  const sig = graph.signatures[sigIndex];
  if (!sig) throw new AudiogenError('NOT_FOUND', `signature ${signatureKey ?? '(first)'} not found`);
  const sg = graph.subgraphs[sig.subgraph_index];
  if (!sg)
    throw new AudiogenError('INVALID_MODEL', `signature ${sig.signature_key} points to a missing subgraph`);
  const outputs = [...sg.outputs];
  const sigOutputs = [...sig.outputs];
  const used = new Set(sigOutputs.map((o) => o.name));
  const names = new Map<string, string>();
  for (const o of sig.outputs) names.set(o.name, sg.tensors[o.tensor_index]?.name ?? o.name);
  const produced = new Set<number>();
  for (const op of sg.operators) for (const o of op.outputs) if (o >= 0) produced.add(o);
  for (const ti of [...produced].sort((a, b) => a - b)) {
    const t = sg.tensors[ti]!;
    if (!FLOAT_TYPES.has(t.type) || sg.outputs.includes(ti) || t.data) continue;
    let key = `dbg:${t.name}`;
    for (let k = 1; used.has(key); k++) key = `dbg:${t.name}#${k}`;
    used.add(key);
    names.set(key, t.name);
    outputs.push(ti);
    sigOutputs.push({ name: key, tensor_index: ti });
  }
  const subgraphs = graph.subgraphs.map((s, i) => (i === sig.subgraph_index ? { ...s, outputs } : s));
  const signatures = graph.signatures.map((s, i) => (i === sigIndex ? { ...s, outputs: sigOutputs } : s));
  return { graph: { ...graph, subgraphs, signatures }, names };
}

/** Float values of a constant tensor (dequantizing int8/int4/int2/int16, fp16, blockwise). */
export function constantValues(g: Graph, sgIndex: number, t: GraphTensor): Float32Array | undefined {
  if (!t.data?.byteLength) return undefined;
  const n = t.shape.reduce((a, b) => a * b, 1);
  const d = t.data;
  if (t.type === 'FLOAT32') return new Float32Array(d.slice().buffer, 0, n);
  if (t.type === 'FLOAT16') {
    const u = new Uint16Array(d.slice().buffer, 0, n);
    return Float32Array.from(u, (h) => halfToFloat(h));
  }
  const bits = { INT2: 2, INT4: 4, INT8: 8, INT16: 16, INT32: 32 }[t.type as string];
  if (!bits) return undefined;
  const q = unpackQuantized(d, bits, n);
  const qp = t.quantization;
  if (!qp) return Float32Array.from(q);
  const out = new Float32Array(n);
  const details = qp.details;
  if (details?.type === 'BlockwiseQuantization') {
    const st = g.subgraphs[sgIndex]!.tensors[details.scales];
    const sv = st ? constantValues(g, sgIndex, st) : undefined;
    if (!sv) return undefined;
    const cols = t.shape[t.shape.length - 1]!;
    const bs = details.block_size;
    for (let i = 0; i < n; i++) {
      const row = Math.floor(i / cols);
      const col = i % cols;
      out[i] = q[i]! * sv[row * (cols / bs) + Math.floor(col / bs)]!;
    }
    return out;
  }
  const scale = qp.scale ?? [1];
  const zp = qp.zero_point ?? [0];
  const dim = qp.quantized_dimension ?? 0;
  let inner = 1;
  for (let k = dim + 1; k < t.shape.length; k++) inner *= t.shape[k]!;
  const channels = t.shape[dim] ?? 1;
  for (let i = 0; i < n; i++) {
    const c = scale.length > 1 ? Math.floor(i / inner) % channels : 0;
    out[i] = (q[i]! - (zp[zp.length > 1 ? c : 0] ?? 0)) * scale[c]!;
  }
  return out;
}

/** Input name → the shape a graph's tables plan for it (the size of its open dims before any resize). */
export function plannedInputShapes(graph: Graph, signature?: string): Record<string, readonly number[]> {
  const sig = signature ? graph.signatures.find((s) => s.signature_key === signature) : graph.signatures[0];
  const sg = sig ? graph.subgraphs[sig.subgraph_index] : undefined;
  const out: Record<string, readonly number[]> = {};
  for (const i of sig?.inputs ?? []) {
    const t = sg?.tensors[i.tensor_index];
    if (t) out[i.name] = t.shape;
  }
  return out;
}

/**
 * One random sample (normal floats, small non-negative ints) for a model's signature inputs. Open (-1) dims
 * take their size from `planned` (plannedInputShapes: e.g. a decoder's full frame count), else 1.
 */
export function randomInputs(
  model: Model,
  seed = 0,
  signature?: string,
  planned: Readonly<Record<string, readonly number[]>> = {},
): Record<string, Tensor> {
  const sig = signature ? model.signatures.find((s) => s.key === signature) : model.signatures[0];
  const infos = sig?.inputs ?? model.inputs;
  const out: Record<string, Tensor> = {};
  infos.forEach((info, k) => {
    const given = planned[info.name];
    const shape = info.shape.map((d, j) => (d < 0 ? (given?.[j] ?? 1) : d));
    const n = shape.reduce((a, b) => a * b, 1);
    const r = detRandn(n, seed * 1000 + k + 1, 1);
    let data: Tensor['data'];
    switch (info.dtype) {
      case 'float32':
        data = r;
        break;
      case 'int32':
        data = Int32Array.from(r, (v) => Math.abs(Math.round(v * 4)) % 16);
        break;
      case 'int64':
        data = BigInt64Array.from(r, (v) => BigInt(Math.abs(Math.round(v * 4)) % 16));
        break;
      default:
        throw new AudiogenError(
          'UNSUPPORTED',
          `random inputs for ${info.dtype} input ${info.name} are not supported; pass inputs`,
        );
    }
    out[info.name] = { dtype: info.dtype, shape, data } as Tensor;
  });
  return out;
}

function asGraph(m: Uint8Array | Graph): { graph: Graph; bytes: Uint8Array } {
  return m instanceof Uint8Array ? { graph: readTflite(m), bytes: m } : { graph: m, bytes: writeTflite(m) };
}

/**
 * Compares a quantized model with its float original through a runtime. `inputs` is one sample,
 * a list of samples (metrics are averaged over samples, as AEQ does), or 'random'.
 */
export async function compare(
  floatModel: Uint8Array | Graph,
  quantModel: Uint8Array | Graph,
  inputs: Inputs | readonly Inputs[] | 'random',
  runtime: Runtime,
  options: CompareOptions = {},
): Promise<ComparisonResult> {
  const metrics = options.metrics ?? METRICS;
  const f = asGraph(floatModel);
  const q = asGraph(quantModel);
  const sigKey = options.signature ?? f.graph.signatures[0]?.signature_key;
  if (!sigKey) throw new AudiogenError('INVALID_MODEL', 'the float model has no signature');
  const intermediates = options.intermediates ?? true;
  const fd = intermediates ? withIntermediateOutputs(f.graph, sigKey) : undefined;
  const qd = intermediates ? withIntermediateOutputs(q.graph, sigKey) : undefined;
  options.onProgress?.('loading models', 0);
  const load = (bytes: Uint8Array, label: string) =>
    runtime.load(bytes, { label, ...(options.threads ? { threads: options.threads } : {}) });
  const fm = await load(fd ? writeTflite(fd.graph) : f.bytes, 'float');
  const qm = await load(qd ? writeTflite(qd.graph) : q.bytes, 'quantized');
  const sig = f.graph.signatures.find((s) => s.signature_key === sigKey)!;
  const fsg = f.graph.subgraphs[sig.subgraph_index]!;
  const outputNames = new Set(sig.outputs.map((o) => fsg.tensors[o.tensor_index]!.name));
  const inputNames = new Map(sig.inputs.map((i) => [i.name, fsg.tensors[i.tensor_index]!.name]));
  const samples: readonly Inputs[] =
    inputs === 'random'
      ? [randomInputs(fm, options.seed ?? 0, sigKey, plannedInputShapes(f.graph, sigKey))]
      : Array.isArray(inputs)
        ? inputs
        : [inputs as Inputs];
  if (!samples.length) throw new AudiogenError('MISSING_INPUT', 'compare needs at least one input sample');
  const acc = new Map<string, { kind: keyof SignatureComparison; values: Record<string, number[]> }>();
  const add = (kind: keyof SignatureComparison, name: string, t: ArrayLike<number>, r: ArrayLike<number>) => {
    if (t.length !== r.length || !r.length) return;
    let e = acc.get(name);
    if (!e) {
      e = { kind, values: {} };
      acc.set(name, e);
    }
    const m = computeMetrics(t, r, metrics);
    for (const [k, v] of Object.entries(m)) {
      const list = e.values[k] ?? [];
      list.push(v);
      e.values[k] = list;
    }
  };
  try {
    for (let s = 0; s < samples.length; s++) {
      options.onProgress?.(`running sample ${s + 1}/${samples.length}`, s / samples.length);
      const sample = samples[s]!;
      const ro = await fm.run(sample, { signature: sigKey });
      const to = await qm.run(sample, { signature: sigKey });
      for (const [sigName, tensor] of Object.entries(sample)) {
        const name = inputNames.get(sigName) ?? sigName;
        if (tensor.dtype === 'float32' || tensor.dtype === 'float16')
          add('input_tensors', name, toFloat32(tensor), toFloat32(tensor));
      }
      const fnames =
        fd?.names ?? new Map(sig.outputs.map((o) => [o.name, fsg.tensors[o.tensor_index]!.name]));
      const qnames = qd?.names ?? fnames;
      const qByTensor = new Map<string, Tensor>();
      for (const [k, v] of Object.entries(to)) qByTensor.set(qnames.get(k) ?? k, v);
      for (const [k, v] of Object.entries(ro)) {
        const name = fnames.get(k) ?? k;
        const tv = qByTensor.get(name);
        if (!tv || v.dtype === 'bool' || tv.dtype === 'bool') continue;
        add(
          outputNames.has(name) ? 'output_tensors' : 'intermediate_tensors',
          name,
          toFloat32(tv),
          toFloat32(v),
        );
      }
    }
  } finally {
    fm.dispose();
    qm.dispose();
  }
  if (options.constants ?? true) {
    const qsg = q.graph.subgraphs[sig.subgraph_index];
    const qByName = new Map((qsg?.tensors ?? []).map((t) => [t.name, t]));
    for (const t of fsg.tensors) {
      const u = qByName.get(t.name);
      if (!u || !t.data || t.type !== 'FLOAT32') continue;
      const r = constantValues(f.graph, sig.subgraph_index, t);
      const v = constantValues(q.graph, sig.subgraph_index, u);
      if (r && v) for (let s = 0; s < samples.length; s++) add('constant_tensors', t.name, v, r);
    }
  }
  const sc: SignatureComparison = {
    input_tensors: {},
    output_tensors: {},
    constant_tensors: {},
    intermediate_tensors: {},
  };
  for (const [name, e] of acc) {
    const m: TensorMetrics = {};
    for (const [k, vals] of Object.entries(e.values)) m[k] = vals.reduce((a, b) => a + b, 0) / vals.length;
    sc[e.kind][name] = m;
  }
  const reduced = f.bytes.byteLength - q.bytes.byteLength;
  return {
    reduced_size_bytes: reduced,
    reduced_size_percentage: (reduced / f.bytes.byteLength) * 100,
    [sigKey]: sc,
  } as ComparisonResult;
}

/** All tensor results of every signature in one map (AEQ get_all_tensor_results order). */
export function allTensorResults(result: ComparisonResult): Record<string, TensorMetrics> {
  const out: Record<string, TensorMetrics> = {};
  for (const [_k, v] of Object.entries(result)) {
    if (typeof v !== 'object') continue;
    Object.assign(out, v.input_tensors, v.output_tensors, v.constant_tensors, v.intermediate_tensors);
  }
  return out;
}

/** AEQ's Model Explorer overlay: {results: {tensor: {value}}, thresholds: [{value, bgColor}]}. */
export function modelExplorerOverlay(
  result: ComparisonResult,
  metric: MetricName = 'mse',
  thresholds: readonly number[] = [0.05, 0.1, 0.2, 0.4, 1, 10, 100],
): { results: Record<string, { value: number }>; thresholds: { value: number; bgColor: string }[] } {
  const results: Record<string, { value: number }> = {};
  for (const [name, m] of Object.entries(allTensorResults(result))) {
    if (metric in m) results[name] = { value: m[metric]! };
  }
  const scheme: { value: number; bgColor: string }[] = [];
  let green = 255;
  const step = Math.floor(255 / (thresholds.length || 1));
  for (const v of thresholds) {
    scheme.push({ value: v, bgColor: `rgb(200, ${green}, 0)` });
    green = Math.max(0, green - step);
  }
  return { results, thresholds: scheme };
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A self-contained HTML page (inline SVG, no scripts from elsewhere) charting one metric per tensor
 * in graph order: one bar per intermediate/output tensor, log scale for mse/kl/median ratio.
 */
export function comparisonHtml(
  result: ComparisonResult,
  options: { metric?: MetricName; title?: string } = {},
): string {
  const metric = options.metric ?? 'cosine_similarity';
  const rows: { name: string; kind: string; value: number }[] = [];
  for (const [, v] of Object.entries(result)) {
    if (typeof v !== 'object') continue;
    for (const kind of [
      'input_tensors',
      'intermediate_tensors',
      'output_tensors',
      'constant_tensors',
    ] as const) {
      for (const [name, m] of Object.entries(v[kind]))
        if (metric in m) rows.push({ name, kind, value: m[metric]! });
    }
  }
  // Bars grow with the error: cosine similarity is drawn as 1 − cosine; all on a log scale.
  const isCos = metric === 'cosine_similarity';
  const logScale = true;
  const tr = (x: number) => Math.log10(Math.max(isCos ? 1 - x : x, 1e-12));
  const vals = rows.map((r) => tr(r.value)).filter(Number.isFinite);
  const lo = vals.length ? Math.min(...vals) : 0;
  const hi = vals.length ? Math.max(...vals) : 1;
  const span = hi - lo || 1;
  const barH = 14;
  const width = 900;
  const labelW = 360;
  const colors: Record<string, string> = {
    input_tensors: '#888',
    intermediate_tensors: '#3b7dd8',
    output_tensors: '#d8623b',
    constant_tensors: '#5aa55a',
  };
  const bars = rows
    .map((r, i) => {
      const v = tr(r.value);
      const w = Number.isFinite(v) ? Math.max(1, ((v - lo) / span) * (width - labelW - 90)) : 0;
      const y = 30 + i * (barH + 2);
      return `<g><title>${esc(r.name)} (${r.kind.replace('_tensors', '')}): ${metric} = ${r.value}</title><text x="${labelW - 6}" y="${y + barH - 3}" text-anchor="end">${esc(r.name.length > 55 ? `…${r.name.slice(-54)}` : r.name)}</text><rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${colors[r.kind]}"/><text x="${labelW + w + 4}" y="${y + barH - 3}">${isCos ? r.value.toFixed(6) : r.value.toPrecision(4)}</text></g>`;
    })
    .join('\n');
  const h = 40 + rows.length * (barH + 2);
  const title = options.title ?? `Quantization error per tensor: ${isCos ? '1 − cosine similarity' : metric}`;
  const summary = `reduced size: ${result.reduced_size_bytes} bytes (${Number(result.reduced_size_percentage).toFixed(1)}%)`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font:13px system-ui,sans-serif;margin:20px}svg text{font:11px monospace}.k span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}</style>
</head><body><h2>${esc(title)}</h2><p>${esc(summary)}${logScale ? ' — log scale' : ''}; hover a bar for the exact value.</p>
<p class="k">${Object.entries(colors)
    .map(([k, c]) => `<span style="background:${c}"></span>${k.replace('_tensors', '')}`)
    .join('')}</p>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}">${bars}</svg>
</body></html>
`;
}
