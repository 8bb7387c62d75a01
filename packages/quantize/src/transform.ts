/**
 * Applies a recipe to an in-memory .tflite Graph the way AEQ's params_generator + model_modifier do:
 * - dynamic range (compute_precision INTEGER, no activation config): the constant weight becomes
 *   INT8/INT4/INT2 with scales, no DEQUANTIZE (the kernel quantizes activations on the fly);
 * - weight-only (FLOAT + explicit_dequantize): quantized weight + DEQUANTIZE → `<name>_dequant`;
 * - float_casting: FLOAT16 weight + DEQUANTIZE;
 * - blockwise: INT4/INT2 weight with an fp16 `<name>_scales` tensor and BlockwiseQuantization details.
 */
import { AudiogenError, checkHooks, throwIfAborted } from '@audiogen/core';
import type {
  Graph,
  GraphTensor,
  Operator,
  Quantization,
  Subgraph,
  TensorTypeName,
} from '@audiogen/core/tflite';
import { castToFloat16, packQuantized, paramShape, quantizeWeights } from './math';
import {
  type AlgorithmKey,
  aeqOpName,
  DRQ_OR_WEIGHT_ONLY_OPS,
  describeConfig,
  type Granularity,
  isBlockwise,
  type OpQuantizationConfig,
  type Recipe,
  RecipeResolver,
  recipeToJson,
  type TflOperationName,
  toRecipe,
} from './recipe';

export type QuantMode = 'dynamic_range' | 'weight_only' | 'float16';

export interface QuantizedTensorReport {
  name: string;
  shape: number[];
  from: TensorTypeName;
  to: TensorTypeName;
  granularity?: Granularity;
  numBits: number;
  symmetric?: boolean;
  bytesBefore: number;
  bytesAfter: number;
  /** Blockwise only: how many fp16 block scales are 0 (XNNPACK rejects such weights). */
  zeroBlockScales?: number;
}

export interface QuantizedOpReport {
  subgraph: number;
  index: number;
  op: string;
  scope: string;
  algorithm: AlgorithmKey;
  mode: QuantMode;
  config: string;
  tensors: QuantizedTensorReport[];
}

export interface SkippedOpReport {
  subgraph: number;
  index: number;
  op: string;
  scope: string;
  reason: string;
}

export interface QuantizeReport {
  recipe: unknown;
  quantized: QuantizedOpReport[];
  skipped: SkippedOpReport[];
  /** Things that are AEQ-compatible but known to misbehave at run time. */
  warnings: string[];
  summary: {
    quantizedOps: number;
    skippedOps: number;
    /** Skipped op counts per op type. */
    skippedByOp: Record<string, number>;
    quantizedByMode: Record<QuantMode, number>;
    weightBytesBefore: number;
    weightBytesAfter: number;
    dequantizeOpsAdded: number;
  };
}

export interface QuantizeGraphOptions {
  onProgress?: (message: string, fraction?: number) => void;
  signal?: AbortSignal;
}

/** AEQ's op scope: output tensor names each followed by ';' (inputs if no named outputs), ≤ 10000 chars. */
export function opScope(op: Operator, tensors: readonly GraphTensor[]): string {
  const names = (idx: number[]) =>
    idx
      .filter((i) => i !== -1)
      .map((i) => tensors[i]?.name ?? '')
      .filter((n) => n);
  let list = names(op.outputs);
  if (!list.length) list = names(op.inputs);
  let scope = list.join(';');
  if (list.length) scope += ';';
  return scope.slice(0, 10000);
}

const QUANTIZABLE_COMPOSITES = new Set(['odml.npu_call', 'odml.rms_norm', 'odml.l2_norm']);

interface Treatment {
  key: string;
  mode: QuantMode;
  algorithm: AlgorithmKey;
  numBits: number;
  symmetric: boolean;
  granularity: Granularity;
  channelDim?: number;
  blockDim?: number;
}

interface Request {
  op: number;
  pos: number;
  tensor: number;
  treatment: Treatment;
}

function weightTypeFor(numBits: number): TensorTypeName {
  if (numBits === 2) return 'INT2';
  if (numBits === 4) return 'INT4';
  if (numBits <= 8) return 'INT8';
  if (numBits <= 16) return 'INT16';
  return 'INT32';
}

function isConstant(t: GraphTensor | undefined): t is GraphTensor & { data: Uint8Array } {
  return !!t?.data && t.data.byteLength > 0;
}

function asFloat32(t: GraphTensor & { data: Uint8Array }): Float32Array {
  const d = t.data;
  if (d.byteOffset % 4 === 0) return new Float32Array(d.buffer, d.byteOffset, d.byteLength / 4);
  return new Float32Array(d.slice().buffer);
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Which inputs of a DRQ/weight-only op AEQ considers for weight quantization. */
function candidateInputs(
  name: TflOperationName,
  op: Operator,
  algorithm: AlgorithmKey,
): { positions: number[]; weightPos?: number } {
  const all = op.inputs.map((_, i) => i);
  if (algorithm === 'float_casting') {
    // float_casting only touches the weight operand (input 1 for all five ops).
    return { positions: [1], weightPos: 1 };
  }
  switch (name) {
    case 'FULLY_CONNECTED':
    case 'CONV_2D':
    case 'DEPTHWISE_CONV_2D':
      return { positions: all.filter((i) => i !== 2), weightPos: 1 };
    case 'CONV_2D_TRANSPOSE':
      return { positions: all.filter((i) => i !== 0 && i !== 3), weightPos: 1 };
    case 'EMBEDDING_LOOKUP':
      return { positions: all.filter((i) => i !== 0) };
    default:
      return { positions: all };
  }
}

function channelDimFor(name: TflOperationName, op: Operator, rank: number): number | undefined {
  switch (name) {
    case 'FULLY_CONNECTED':
    case 'CONV_2D':
    case 'EMBEDDING_LOOKUP':
    case 'CONV_2D_TRANSPOSE':
      return 0;
    case 'DEPTHWISE_CONV_2D':
      return 3;
    case 'BATCH_MATMUL':
      return op.options?.adj_y ? rank - 2 : rank - 1;
    default:
      return undefined;
  }
}

function blockDimFor(name: TflOperationName): number | undefined {
  return name === 'FULLY_CONNECTED' || name === 'EMBEDDING_LOOKUP' ? 1 : undefined;
}

function treatmentFor(
  name: TflOperationName,
  op: Operator,
  rank: number,
  algorithm: AlgorithmKey,
  config: OpQuantizationConfig,
): Treatment | string {
  const w = config.weight_tensor_config;
  if (!w) return 'no weight_tensor_config';
  if (algorithm === 'float_casting') {
    return {
      key: 'fp16',
      mode: 'float16',
      algorithm,
      numBits: 16,
      symmetric: true,
      granularity: 'TENSORWISE',
    };
  }
  let mode: QuantMode;
  if (config.compute_precision === 'INTEGER' && !config.activation_tensor_config) mode = 'dynamic_range';
  else if (config.compute_precision === 'FLOAT' && config.explicit_dequantize) mode = 'weight_only';
  else
    return `unsupported compute precision ${config.compute_precision} with explicit_dequantize=${config.explicit_dequantize}`;
  if (w.dtype !== 'INT') return `weights of dtype ${w.dtype} need algorithm float_casting`;
  if (![2, 4, 8, 16, 32].includes(w.num_bits) && !(w.num_bits < 8)) {
    return `num_bits ${w.num_bits} has no .tflite tensor type`;
  }
  const channelDim = w.granularity === 'CHANNELWISE' ? channelDimFor(name, op, rank) : undefined;
  const blockDim = isBlockwise(w.granularity) ? blockDimFor(name) : undefined;
  if (w.granularity === 'CHANNELWISE' && channelDim === undefined) return `no channel dimension for ${name}`;
  if (isBlockwise(w.granularity) && blockDim === undefined)
    return `blockwise quantization is not defined for ${name}`;
  return {
    key: JSON.stringify([mode, w.num_bits, w.symmetric, w.granularity, channelDim, blockDim]),
    mode,
    algorithm,
    numBits: w.num_bits,
    symmetric: w.symmetric,
    granularity: w.granularity,
    ...(channelDim !== undefined ? { channelDim } : {}),
    ...(blockDim !== undefined ? { blockDim } : {}),
  };
}

function cloneGraph(g: Graph): Graph {
  return {
    ...g,
    subgraphs: g.subgraphs.map((s) => ({
      ...s,
      tensors: s.tensors.map((t) => ({ ...t })),
      inputs: [...s.inputs],
      outputs: [...s.outputs],
      operators: s.operators.map((o) => ({ ...o, inputs: [...o.inputs], outputs: [...o.outputs] })),
    })),
    signatures: g.signatures.map((s) => ({ ...s, inputs: [...s.inputs], outputs: [...s.outputs] })),
    metadata: [...g.metadata],
  };
}

/**
 * Quantizes a graph with a recipe (parsed, AEQ JSON list, or JSON text). Returns a new graph (the
 * input is not modified; untouched constant bytes are shared) and a report.
 */
export function quantizeGraph(
  input: Graph,
  recipeIn: Recipe | unknown,
  options: QuantizeGraphOptions = {},
): { graph: Graph; report: QuantizeReport } {
  checkHooks(options);
  const recipe = toRecipe(recipeIn);
  const resolver = new RecipeResolver(recipe);
  const graph = cloneGraph(input);
  const report: QuantizeReport = {
    recipe: recipeToJson(recipe),
    quantized: [],
    skipped: [],
    warnings: [],
    summary: {
      quantizedOps: 0,
      skippedOps: 0,
      skippedByOp: {},
      quantizedByMode: { dynamic_range: 0, weight_only: 0, float16: 0 },
      weightBytesBefore: 0,
      weightBytesAfter: 0,
      dequantizeOpsAdded: 0,
    },
  };
  const totalOps = graph.subgraphs.reduce((a, s) => a + s.operators.length, 0) || 1;
  let done = 0;
  const skipSubgraphs = new Set<number>();

  graph.subgraphs.forEach((sg, sgi) => {
    const requests: Request[] = [];
    const opReports = new Map<number, QuantizedOpReport>();
    const skip = (index: number, op: Operator, scope: string, reason: string) => {
      report.skipped.push({ subgraph: sgi, index, op: op.op, scope, reason });
      report.summary.skippedByOp[op.op] = (report.summary.skippedByOp[op.op] ?? 0) + 1;
    };

    sg.operators.forEach((op, oi) => {
      done++;
      if (done % 64 === 0) {
        throwIfAborted(options.signal, 'quantize');
        options.onProgress?.(`analysing op ${done}/${totalOps}`, (0.5 * done) / totalOps);
      }
      const name = aeqOpName(op.op);
      if (!name) return;
      const scope = opScope(op, sg.tensors);
      let { algorithm, config, entry, rejected } = resolver.resolve(name, scope);
      if (skipSubgraphs.has(sgi)) algorithm = 'no_quantize';
      if (op.op === 'STABLEHLO_COMPOSITE') {
        const cname = op.options2?.name;
        if (typeof cname !== 'string' || !QUANTIZABLE_COMPOSITES.has(cname)) algorithm = 'no_quantize';
      }
      if (algorithm === 'no_quantize') {
        const dsi = op.options2?.decomposition_subgraph_index;
        if (op.op === 'STABLEHLO_COMPOSITE' && typeof dsi === 'number') skipSubgraphs.add(dsi);
        if (!entry && rejected.length) {
          const r = rejected[rejected.length - 1]!;
          skip(
            oi,
            op,
            scope,
            `${r.reason} (entry regex ${JSON.stringify(r.entry.regex)}, operation ${r.entry.operation})`,
          );
        } else if (skipSubgraphs.has(sgi) && DRQ_OR_WEIGHT_ONLY_OPS.has(name)) {
          skip(oi, op, scope, 'inside the decomposition of a composite op that is not quantized');
        }
        return;
      }
      if (!DRQ_OR_WEIGHT_ONLY_OPS.has(name)) {
        skip(oi, op, scope, `no weights to quantize for ${name} without activation quantization`);
        return;
      }
      const { positions, weightPos } = candidateInputs(name, op, algorithm);
      // min_weight_elements (FC / conv / transpose conv) and already-quantized weights.
      let ignoreWeight = false;
      if (weightPos !== undefined && algorithm === 'min_max_uniform_quantize') {
        const wt = sg.tensors[op.inputs[weightPos] ?? -1];
        if (isConstant(wt) && size(wt.shape) < config.min_weight_elements) {
          skip(
            oi,
            op,
            scope,
            `weight ${wt.name} has ${size(wt.shape)} elements < min_weight_elements ${config.min_weight_elements}`,
          );
          return;
        }
        if (wt?.quantization?.scale?.length) ignoreWeight = true;
      }
      let any = false;
      let lastReason = 'no constant float32 weights';
      for (const pos of positions) {
        if (ignoreWeight && pos === weightPos) continue;
        const ti = op.inputs[pos];
        if (ti === undefined || ti < 0) continue;
        const t = sg.tensors[ti];
        if (!isConstant(t)) continue;
        if (t.type !== 'FLOAT32') {
          lastReason = `weight ${t.name} is ${t.type}, not FLOAT32`;
          continue;
        }
        const tr = treatmentFor(name, op, t.shape.length, algorithm, config);
        if (typeof tr === 'string') {
          lastReason = tr;
          continue;
        }
        if (tr.blockDim !== undefined) {
          const bs = Number(tr.granularity.slice('BLOCKWISE_'.length));
          const n = t.shape[tr.blockDim];
          if (n === undefined || n % bs !== 0) {
            // AEQ raises here; we skip the op and say why.
            lastReason = `dimension ${tr.blockDim} (${n}) of ${t.name} [${t.shape.join(',')}] is not divisible by block size ${bs}`;
            continue;
          }
        }
        if (tr.mode === 'dynamic_range' && name === 'DEPTHWISE_CONV_2D' && tr.granularity === 'TENSORWISE') {
          report.warnings.push(
            `op ${oi} (${scope}): per-tensor dynamic-range DEPTHWISE_CONV_2D is accepted by AEQ's policy, but LiteRT's hybrid depthwise kernel expects one scale per channel and gives wrong results; use CHANNELWISE`,
          );
        }
        requests.push({ op: oi, pos, tensor: ti, treatment: tr });
        any = true;
        if (!opReports.has(oi)) {
          opReports.set(oi, {
            subgraph: sgi,
            index: oi,
            op: op.op,
            scope,
            algorithm,
            mode: tr.mode,
            config: describeConfig(config),
            tensors: [],
          });
        }
      }
      if (!any) skip(oi, op, scope, lastReason);
    });

    applyRequests(sg, requests, opReports, report, options);
    for (const r of [...opReports.values()].sort((a, b) => a.index - b.index)) {
      report.quantized.push(r);
      report.summary.quantizedOps++;
      report.summary.quantizedByMode[r.mode]++;
    }
  });
  report.summary.skippedOps = report.skipped.length;
  options.onProgress?.('quantized', 1);
  return { graph, report };
}

function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

function applyRequests(
  sg: Subgraph,
  requests: Request[],
  opReports: Map<number, QuantizedOpReport>,
  report: QuantizeReport,
  options: QuantizeGraphOptions,
): void {
  if (!requests.length) return;
  // Uses of every tensor (op, input position) in this subgraph.
  const uses = new Map<number, { op: number; pos: number }[]>();
  sg.operators.forEach((op, oi) => {
    op.inputs.forEach((ti, pos) => {
      if (ti >= 0) pushTo(uses, ti, { op: oi, pos });
    });
  });
  const byTensor = new Map<number, Request[]>();
  for (const r of requests) {
    pushTo(byTensor, r.tensor, r);
  }
  const dequantBefore = new Map<number, Operator[]>();
  let n = 0;
  for (const [ti, reqs] of byTensor) {
    throwIfAborted(options.signal, 'quantize');
    n++;
    options.onProgress?.(`quantizing ${sg.tensors[ti]!.name}`, 0.5 + (0.5 * n) / byTensor.size);
    const groups = new Map<string, Request[]>();
    for (const r of reqs) {
      pushTo(groups, r.treatment.key, r);
    }
    const allUses = uses.get(ti) ?? [];
    const sharedOutside = allUses.length > reqs.length || sg.outputs.includes(ti) || groups.size > 1;
    let k = 0;
    for (const group of groups.values()) {
      let target = ti;
      if (sharedOutside) {
        // Another consumer keeps the float tensor (or wants another treatment): quantize a copy.
        const orig = sg.tensors[ti]!;
        target = sg.tensors.length;
        sg.tensors.push({ ...orig, name: `${orig.name}_q${k++}` });
        for (const r of group) sg.operators[r.op]!.inputs[r.pos] = target;
      }
      const tensorReport = transformTensor(sg, target, group[0]!.treatment);
      if (tensorReport.zeroBlockScales) {
        report.warnings.push(
          `${tensorReport.name}: ${tensorReport.zeroBlockScales} blockwise scales round to 0 in fp16 (all-zero or tiny blocks); AEQ writes the same, but XNNPACK refuses the model ("unsupported scale value"); quantize this op channelwise instead`,
        );
      }
      report.summary.weightBytesBefore += tensorReport.bytesBefore;
      report.summary.weightBytesAfter += tensorReport.bytesAfter;
      for (const r of group) {
        const rep = opReports.get(r.op);
        if (rep && !rep.tensors.some((x) => x.name === tensorReport.name)) rep.tensors.push(tensorReport);
      }
      const mode = group[0]!.treatment.mode;
      if (mode === 'weight_only' || mode === 'float16') {
        const t = sg.tensors[target]!;
        const out = sg.tensors.length;
        sg.tensors.push({ name: `${t.name}_dequant`, type: 'FLOAT32', shape: [...t.shape] });
        const first = Math.min(...group.map((r) => r.op));
        for (const r of group) sg.operators[r.op]!.inputs[r.pos] = out;
        const dq: Operator = {
          op: 'DEQUANTIZE',
          builtin_code: 6,
          version: 1,
          inputs: [target],
          outputs: [out],
        };
        pushTo(dequantBefore, first, dq);
        report.summary.dequantizeOpsAdded++;
      }
    }
  }
  if (dequantBefore.size) {
    const ops: Operator[] = [];
    sg.operators.forEach((op, i) => {
      const d = dequantBefore.get(i);
      if (d) ops.push(...d);
      ops.push(op);
    });
    // Keep report indices pointing at the original ops' new positions.
    const newIndex = new Map<Operator, number>();
    ops.forEach((o, i) => {
      newIndex.set(o, i);
    });
    const oldOps = sg.operators;
    for (const rep of opReports.values()) rep.index = newIndex.get(oldOps[rep.index]!) ?? rep.index;
    sg.operators = ops;
  }
}

function transformTensor(sg: Subgraph, ti: number, tr: Treatment): QuantizedTensorReport {
  const t = sg.tensors[ti]!;
  if (!isConstant(t)) throw new AudiogenError('INTERNAL', `tensor ${t.name} has no data`);
  const before = t.data.byteLength;
  const from = t.type;
  const data = asFloat32(t);
  if (data.length !== size(t.shape)) {
    throw new AudiogenError(
      'INVALID_MODEL',
      `tensor ${t.name}: ${data.length} values for shape [${t.shape.join(',')}]`,
    );
  }
  if (tr.mode === 'float16') {
    t.data = castToFloat16(data);
    t.type = 'FLOAT16';
    delete t.quantization;
    return {
      name: t.name,
      shape: [...t.shape],
      from,
      to: 'FLOAT16',
      numBits: 16,
      bytesBefore: before,
      bytesAfter: t.data.byteLength,
    };
  }
  const { q, params } = quantizeWeights(data, t.shape, {
    numBits: tr.numBits,
    symmetric: tr.symmetric,
    granularity: tr.granularity,
    ...(tr.channelDim !== undefined ? { channelDim: tr.channelDim } : {}),
    ...(tr.blockDim !== undefined ? { blockDim: tr.blockDim } : {}),
  });
  t.data = packQuantized(q, tr.numBits);
  t.type = weightTypeFor(tr.numBits);
  let extra = 0;
  let zeroBlockScales = 0;
  let quant: Quantization;
  if (params.layout.blockSize > 0) {
    const scaleTensor = sg.tensors.length;
    const scaleBytes = castToFloat16(params.scale);
    sg.tensors.push({
      name: `${t.name}_scales`,
      type: 'FLOAT16',
      shape: paramShape(params.layout),
      data: scaleBytes,
    });
    extra = scaleBytes.byteLength;
    const zeros = params.scale.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
    if (zeros) zeroBlockScales = zeros;
    quant = {
      details: {
        type: 'BlockwiseQuantization',
        scales: scaleTensor,
        zero_points: -1,
        block_size: params.layout.blockSize,
      },
      quantized_dimension: 0,
    };
  } else {
    quant = { scale: Array.from(params.scale), zero_point: Array.from(params.zeroPoint) };
    if (params.layout.dim !== undefined) quant.quantized_dimension = params.layout.dim;
  }
  t.quantization = quant;
  return {
    name: t.name,
    shape: [...t.shape],
    from,
    to: t.type,
    granularity: tr.granularity,
    numBits: tr.numBits,
    symmetric: tr.symmetric,
    bytesBefore: before,
    bytesAfter: t.data.byteLength + extra,
    ...(zeroBlockScales ? { zeroBlockScales } : {}),
  };
}
