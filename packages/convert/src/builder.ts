/**
 * A typed builder over core's in-memory .tflite `Graph`: ops with shape inference, constants (fp32,
 * or fp16 behind a DEQUANTIZE the XNNPACK delegate folds into the consumer), small constant folding,
 * and signature defs. Every op checks its operand shapes and throws a typed `AudiogenError` on a
 * mismatch, so a wrong builder fails at build time, not inside the runtime.
 */
import { AudiogenError, floatToHalf } from '@audiogen/core';
import type { BuiltinOptions, Graph, GraphTensor, Operator, TensorTypeName } from '@audiogen/core/tflite';

/** Builtin operator codes used by the builder (google-ai-edge/LiteRT schema.fbs). */
export const OP_CODES = {
  ADD: 0,
  CONCATENATION: 2,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  DEQUANTIZE: 6,
  EMBEDDING_LOOKUP: 7,
  FULLY_CONNECTED: 9,
  LOGISTIC: 14,
  MUL: 18,
  RELU: 19,
  RESHAPE: 22,
  SOFTMAX: 25,
  TANH: 28,
  PAD: 34,
  GATHER: 36,
  TRANSPOSE: 39,
  MEAN: 40,
  SUB: 41,
  DIV: 42,
  STRIDED_SLICE: 45,
  EXP: 47,
  CAST: 53,
  MAXIMUM: 55,
  MINIMUM: 57,
  NEG: 59,
  SLICE: 65,
  SIN: 66,
  TRANSPOSE_CONV: 67,
  LOG: 73,
  SUM: 74,
  SQRT: 75,
  RSQRT: 76,
  REDUCE_MAX: 82,
  SQUARE: 92,
  SQUARED_DIFFERENCE: 99,
  ABS: 101,
  COS: 108,
  GELU: 150,
  BATCH_MATMUL: 126,
  AVERAGE_POOL_2D: 1,
  FLOOR: 8,
  MAX_POOL_2D: 17,
  LESS: 58,
  GREATER: 61,
  GREATER_EQUAL: 62,
  LESS_EQUAL: 63,
  EQUAL: 71,
  NOT_EQUAL: 72,
  LOGICAL_OR: 84,
  LOGICAL_AND: 86,
  LOGICAL_NOT: 87,
  SELECT_V2: 123,
  CUMSUM: 128,
} as const;
export type OpName = keyof typeof OP_CODES;

/** Ops the LiteRT XNNPACK delegate can take (litert.md §5.3); everything else runs on builtin kernels. */
export const XNNPACK_OPS: ReadonlySet<string> = new Set([
  'ABS',
  'ADD',
  'AVERAGE_POOL_2D',
  'BATCH_MATMUL',
  'CEIL',
  'CONCATENATION',
  'CONV_2D',
  'COS',
  'DEPTH_TO_SPACE',
  'DEPTHWISE_CONV_2D',
  'DEQUANTIZE',
  'DIV',
  'ELU',
  'EXP',
  'EXPAND_DIMS',
  'FLOOR',
  'FULLY_CONNECTED',
  'GELU',
  'HARD_SWISH',
  'LEAKY_RELU',
  'LOG',
  'LOGISTIC',
  'MAX_POOL_2D',
  'MAXIMUM',
  'MEAN',
  'MINIMUM',
  'MUL',
  'NEG',
  'PAD',
  'PRELU',
  'QUANTIZE',
  'REDUCE_MAX',
  'REDUCE_MIN',
  'RELU',
  'RELU6',
  'RELU_N1_TO_1',
  'RESHAPE',
  'RESIZE_BILINEAR',
  'ROUND',
  'RSQRT',
  'SIN',
  'SLICE',
  'SOFTMAX',
  'SPACE_TO_DEPTH',
  'SPLIT',
  'SQRT',
  'SQUARE',
  'SQUARED_DIFFERENCE',
  'STRIDED_SLICE',
  'SUB',
  'SUM',
  'TANH',
  'TRANSPOSE',
  'TRANSPOSE_CONV',
]);

export type Activation = 'NONE' | 'RELU' | 'RELU_N1_TO_1' | 'RELU6' | 'TANH';
const ACT: Record<Activation, number> = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3, TANH: 4 };
const TENSOR_TYPE_CODE: Partial<Record<TensorTypeName, number>> = {
  FLOAT32: 0,
  FLOAT16: 1,
  INT32: 2,
  UINT8: 3,
  INT64: 4,
  BOOL: 6,
  INT16: 7,
  INT8: 9,
};

/** A handle to a tensor of the graph under construction. */
export interface T {
  readonly id: number;
  readonly type: TensorTypeName;
  readonly shape: readonly number[];
}

export type ConstData = Float32Array | Int32Array | BigInt64Array | Uint16Array | Int8Array | Uint8Array;

export interface OpReport {
  /** op name → count */
  counts: Record<string, number>;
  /** ops the XNNPACK delegate takes, with counts */
  xnnpack: Record<string, number>;
  /** ops that fall back to LiteRT builtin kernels, with counts */
  builtin: Record<string, number>;
  constantBytes: number;
  tensors: number;
  operators: number;
}

function fail(msg: string, details?: Record<string, unknown>): never {
  throw new AudiogenError('INVALID_ARGUMENT', msg, details ? { details } : {});
}

const fmt = (s: readonly number[]) => `[${s.join(',')}]`;
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function bytesOf(d: ConstData): Uint8Array {
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** Numpy-style broadcast of two shapes. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) fail(`shapes ${fmt(a)} and ${fmt(b)} do not broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

interface ConstInfo {
  data: Float32Array | Int32Array | BigInt64Array | null;
}

export class GraphBuilder {
  private readonly tensors: GraphTensor[] = [];
  private readonly operators: Operator[] = [];
  private readonly inputs: { name: string; id: number }[] = [];
  private readonly outputs: { name: string; id: number }[] = [];
  private readonly names = new Set<string>();
  /** Constant values kept for folding (float32/int32/int64 only). */
  private readonly consts = new Map<number, ConstInfo>();
  private scopeStack: string[] = [];
  /** Store float constants created with `weight()` as fp16 (behind DEQUANTIZE). */
  weightsFp16 = false;

  constructor(readonly description = 'audiogen convert') {}

  // ------------------------------------------------------------------ tensors

  /** Runs fn with a name prefix for the tensors it creates. */
  scope<R>(name: string, fn: () => R): R {
    this.scopeStack.push(name);
    try {
      return fn();
    } finally {
      this.scopeStack.pop();
    }
  }

  private uniqueName(base: string): string {
    const full = this.scopeStack.length ? `${this.scopeStack.join('/')}/${base}` : base;
    let n = full;
    let i = 1;
    while (this.names.has(n)) n = `${full}_${i++}`;
    this.names.add(n);
    return n;
  }

  private addTensor(name: string, type: TensorTypeName, shape: readonly number[], data?: Uint8Array): T {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) fail(`invalid shape ${fmt(shape)} for tensor ${name}`);
    }
    const id = this.tensors.length;
    const t: GraphTensor = { name: this.uniqueName(name), type, shape: [...shape] };
    if (data) t.data = data;
    this.tensors.push(t);
    return { id, type, shape: [...shape] };
  }

  /**
   * A graph input; its tensor is named exactly `name` (the signature name). `openAxis`: that dimension is
   * written open (-1 in shape_signature), so a runtime may resize it; `shape` is the default size.
   */
  input(name: string, type: TensorTypeName, shape: readonly number[], opts: { openAxis?: number } = {}): T {
    if (this.names.has(name)) fail(`duplicate input name ${name}`);
    const saved = this.scopeStack;
    this.scopeStack = [];
    const t = this.addTensor(name, type, shape);
    this.scopeStack = saved;
    const ax = opts.openAxis;
    if (ax !== undefined) {
      if (!Number.isInteger(ax) || ax < 0 || ax >= shape.length) fail(`input ${name}: no axis ${ax}`);
      this.tensors[t.id]!.shape_signature = shape.map((d, i) => (i === ax ? -1 : d));
    }
    this.inputs.push({ name, id: t.id });
    return t;
  }

  /** Marks t as a graph output named `name` (the tensor is renamed to it when the name is free). */
  output(t: T, name: string): void {
    if (this.outputs.some((o) => o.name === name)) fail(`duplicate output name ${name}`);
    if (this.consts.has(t.id)) fail(`output ${name} is a constant; outputs must be computed`);
    const tensor = this.tensors[t.id]!;
    if (!this.names.has(name)) {
      this.names.delete(tensor.name);
      this.names.add(name);
      tensor.name = name;
    }
    this.outputs.push({ name, id: t.id });
  }

  /** A constant of the given type; data length must match the shape. */
  constant(name: string, type: TensorTypeName, shape: readonly number[], data: ConstData): T {
    const n = prod(shape);
    const per =
      type === 'FLOAT32' || type === 'INT32' ? 4 : type === 'INT64' ? 8 : type === 'FLOAT16' ? 2 : 1;
    if (data.byteLength !== n * per) {
      fail(`constant ${name}: ${data.byteLength} bytes do not fit shape ${fmt(shape)} of ${type}`);
    }
    const t = this.addTensor(name, type, shape, bytesOf(data));
    if (data instanceof Float32Array || data instanceof Int32Array || data instanceof BigInt64Array) {
      this.consts.set(t.id, { data });
    } else {
      this.consts.set(t.id, { data: null });
    }
    return t;
  }

  f32(name: string, shape: readonly number[], data: Float32Array | readonly number[]): T {
    return this.constant(
      name,
      'FLOAT32',
      shape,
      data instanceof Float32Array ? data : Float32Array.from(data),
    );
  }

  i32(name: string, shape: readonly number[], data: readonly number[] | Int32Array): T {
    return this.constant(name, 'INT32', shape, data instanceof Int32Array ? data : Int32Array.from(data));
  }

  scalar(value: number, name = 'scalar'): T {
    return this.f32(name, [], [value]);
  }

  /**
   * A weight: float32, or fp16 + DEQUANTIZE when `fp16` (default: `weightsFp16`). XNNPACK folds an
   * fp16→fp32 DEQUANTIZE feeding FULLY_CONNECTED/CONV weights into the GEMM (litert.md §2.3).
   */
  weight(name: string, shape: readonly number[], data: Float32Array, fp16 = this.weightsFp16): T {
    if (!fp16) return this.f32(name, shape, data);
    const h = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) h[i] = floatToHalf(data[i]!);
    const c = this.constant(`${name}_fp16`, 'FLOAT16', shape, h);
    return this.op('DEQUANTIZE', [c], [{ name, type: 'FLOAT32', shape }], { type: 'DequantizeOptions' })[0]!;
  }

  /** The constant values of t when it is a float32/int32/int64 constant, else undefined. */
  constValue(t: T): Float32Array | Int32Array | BigInt64Array | undefined {
    return this.consts.get(t.id)?.data ?? undefined;
  }

  tensorName(t: T): string {
    return this.tensors[t.id]!.name;
  }

  // ------------------------------------------------------------------ op plumbing

  private op(
    name: OpName,
    inputs: (T | null)[],
    outs: { name: string; type: TensorTypeName; shape: readonly number[] }[],
    options?: BuiltinOptions,
  ): T[] {
    const outputs = outs.map((o) => this.addTensor(o.name, o.type, o.shape));
    const op: Operator = {
      op: name,
      builtin_code: OP_CODES[name],
      version: 1,
      inputs: inputs.map((t) => (t ? t.id : -1)),
      outputs: outputs.map((t) => t.id),
    };
    if (options) op.options = options;
    this.operators.push(op);
    return outputs;
  }

  private one(
    name: OpName,
    inputs: (T | null)[],
    shape: readonly number[],
    options?: BuiltinOptions,
    type: TensorTypeName = 'FLOAT32',
    outName?: string,
  ): T {
    return this.op(name, inputs, [{ name: outName ?? name.toLowerCase(), type, shape }], options)[0]!;
  }

  private requireFloat(t: T, what: string): void {
    if (t.type !== 'FLOAT32') fail(`${what}: expected a FLOAT32 tensor, got ${t.type}`);
  }

  // ------------------------------------------------------------------ linear algebra

  /**
   * FULLY_CONNECTED: y = x · wᵀ + b with w [out, in] (PyTorch Linear layout). Without keepNumDims the
   * output is [rows, out] with rows = size(x)/in; with it, x's leading dims are kept.
   */
  fullyConnected(
    x: T,
    w: T,
    b: T | null = null,
    opts: { activation?: Activation; keepNumDims?: boolean; name?: string } = {},
  ): T {
    this.requireFloat(x, 'FULLY_CONNECTED input');
    if (w.shape.length !== 2) fail(`FULLY_CONNECTED weights must be 2-D, got ${fmt(w.shape)}`);
    const [out, inn] = w.shape as [number, number];
    const last = x.shape[x.shape.length - 1];
    if (last !== inn) fail(`FULLY_CONNECTED: input ${fmt(x.shape)} does not match weights ${fmt(w.shape)}`);
    if (b && (b.shape.length !== 1 || b.shape[0] !== out)) {
      fail(`FULLY_CONNECTED: bias ${fmt(b.shape)} does not match ${out} outputs`);
    }
    const keep = opts.keepNumDims ?? false;
    const shape = keep ? [...x.shape.slice(0, -1), out] : [prod(x.shape) / inn, out];
    return this.one(
      'FULLY_CONNECTED',
      [x, w, b],
      shape,
      {
        type: 'FullyConnectedOptions',
        fused_activation_function: ACT[opts.activation ?? 'NONE'],
        weights_format: 0,
        keep_num_dims: keep,
        asymmetric_quantize_inputs: false,
      },
      'FLOAT32',
      opts.name ?? 'fc',
    );
  }

  /** BATCH_MATMUL with broadcast batch dims; adjY transposes the last two dims of b. */
  batchMatmul(a: T, b: T, opts: { adjX?: boolean; adjY?: boolean } = {}): T {
    if (a.shape.length < 2 || b.shape.length < 2) fail('BATCH_MATMUL operands must be at least 2-D');
    const ra = a.shape.length;
    const rb = b.shape.length;
    let [m, ka] = [a.shape[ra - 2]!, a.shape[ra - 1]!];
    if (opts.adjX) [m, ka] = [ka, m];
    let [kb, n] = [b.shape[rb - 2]!, b.shape[rb - 1]!];
    if (opts.adjY) [kb, n] = [n, kb];
    if (ka !== kb) fail(`BATCH_MATMUL: ${fmt(a.shape)} × ${fmt(b.shape)} inner dims differ`);
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
    return this.one('BATCH_MATMUL', [a, b], [...batch, m, n], {
      type: 'BatchMatMulOptions',
      adj_x: !!opts.adjX,
      adj_y: !!opts.adjY,
      asymmetric_quantize_inputs: false,
    });
  }

  private convOut(
    inSize: number,
    k: number,
    stride: number,
    dilation: number,
    padding: 'SAME' | 'VALID',
  ): number {
    const eff = (k - 1) * dilation + 1;
    const o = padding === 'SAME' ? Math.ceil(inSize / stride) : Math.floor((inSize - eff) / stride) + 1;
    if (o <= 0) fail(`convolution output size ${o} (input ${inSize}, kernel ${k}, dilation ${dilation})`);
    return o;
  }

  /** CONV_2D on NHWC input with an OHWI filter. */
  conv2d(
    x: T,
    w: T,
    b: T | null,
    opts: {
      stride?: [number, number];
      dilation?: [number, number];
      padding?: 'SAME' | 'VALID';
      activation?: Activation;
    } = {},
  ): T {
    this.requireFloat(x, 'CONV_2D input');
    if (x.shape.length !== 4 || w.shape.length !== 4) fail('CONV_2D needs 4-D NHWC input and OHWI filter');
    const [n, h, wd, c] = x.shape as [number, number, number, number];
    const [o, kh, kw, ci] = w.shape as [number, number, number, number];
    if (ci !== c) fail(`CONV_2D: input channels ${c} but filter ${fmt(w.shape)}`);
    if (b && b.shape[0] !== o) fail(`CONV_2D: bias ${fmt(b.shape)} vs ${o} filters`);
    const [sh, sw] = opts.stride ?? [1, 1];
    const [dh, dw] = opts.dilation ?? [1, 1];
    const pad = opts.padding ?? 'VALID';
    const shape = [n, this.convOut(h, kh, sh, dh, pad), this.convOut(wd, kw, sw, dw, pad), o];
    // The CONV_2D kernel requires a bias tensor.
    const bias = b ?? this.f32('zero_bias', [o], new Float32Array(o));
    return this.one('CONV_2D', [x, w, bias], shape, {
      type: 'Conv2DOptions',
      padding: pad === 'SAME' ? 0 : 1,
      stride_w: sw,
      stride_h: sh,
      fused_activation_function: ACT[opts.activation ?? 'NONE'],
      dilation_w_factor: dw,
      dilation_h_factor: dh,
    });
  }

  /** DEPTHWISE_CONV_2D on NHWC input with a [1,H,W,C·m] filter. */
  depthwiseConv2d(
    x: T,
    w: T,
    b: T | null,
    opts: { stride?: [number, number]; dilation?: [number, number]; padding?: 'SAME' | 'VALID' } = {},
  ): T {
    if (x.shape.length !== 4 || w.shape.length !== 4) fail('DEPTHWISE_CONV_2D needs 4-D tensors');
    const [n, h, wd, c] = x.shape as [number, number, number, number];
    const [one, kh, kw, oc] = w.shape as [number, number, number, number];
    if (one !== 1 || oc % c !== 0) fail(`DEPTHWISE_CONV_2D: filter ${fmt(w.shape)} vs ${c} channels`);
    const [sh, sw] = opts.stride ?? [1, 1];
    const [dh, dw] = opts.dilation ?? [1, 1];
    const pad = opts.padding ?? 'VALID';
    const shape = [n, this.convOut(h, kh, sh, dh, pad), this.convOut(wd, kw, sw, dw, pad), oc];
    return this.one('DEPTHWISE_CONV_2D', [x, w, b], shape, {
      type: 'DepthwiseConv2DOptions',
      padding: pad === 'SAME' ? 0 : 1,
      stride_w: sw,
      stride_h: sh,
      depth_multiplier: oc / c,
      fused_activation_function: 0,
      dilation_w_factor: dw,
      dilation_h_factor: dh,
    });
  }

  /**
   * TRANSPOSE_CONV on NHWC input with an OHWI filter. VALID gives (in−1)·s + k; SAME gives in·s.
   */
  transposeConv(x: T, w: T, b: T | null, opts: { stride: [number, number]; padding?: 'SAME' | 'VALID' }): T {
    if (x.shape.length !== 4 || w.shape.length !== 4) fail('TRANSPOSE_CONV needs 4-D tensors');
    const [n, h, wd, c] = x.shape as [number, number, number, number];
    const [o, kh, kw, ci] = w.shape as [number, number, number, number];
    if (ci !== c) fail(`TRANSPOSE_CONV: input channels ${c} but filter ${fmt(w.shape)}`);
    const [sh, sw] = opts.stride;
    const pad = opts.padding ?? 'VALID';
    const oh = pad === 'SAME' ? h * sh : (h - 1) * sh + kh;
    const ow = pad === 'SAME' ? wd * sw : (wd - 1) * sw + kw;
    const shape = [n, oh, ow, o];
    const os = this.i32('output_shape', [4], shape);
    return this.one('TRANSPOSE_CONV', [os, w, x, b], shape, {
      type: 'TransposeConvOptions',
      padding: pad === 'SAME' ? 0 : 1,
      stride_w: sw,
      stride_h: sh,
      fused_activation_function: 0,
    });
  }

  // ------------------------------------------------------------------ elementwise

  private binary(
    name: 'ADD' | 'SUB' | 'MUL' | 'DIV' | 'MAXIMUM' | 'MINIMUM' | 'SQUARED_DIFFERENCE',
    a: T,
    b: T,
    activation: Activation = 'NONE',
  ): T {
    if (a.type !== b.type) fail(`${name}: operand types ${a.type} and ${b.type} differ`);
    const shape = broadcastShapes(a.shape, b.shape);
    const ca = this.constValue(a);
    const cb = this.constValue(b);
    if (ca instanceof Float32Array && cb instanceof Float32Array && activation === 'NONE') {
      return this.f32(
        `${name.toLowerCase()}_folded`,
        shape,
        foldBinary(name, ca, a.shape, cb, b.shape, shape),
      );
    }
    const tables: Record<string, string | undefined> = {
      ADD: 'AddOptions',
      SUB: 'SubOptions',
      MUL: 'MulOptions',
      DIV: 'DivOptions',
      MAXIMUM: 'MaximumMinimumOptions',
      MINIMUM: 'MaximumMinimumOptions',
      SQUARED_DIFFERENCE: 'SquaredDifferenceOptions',
    };
    const opts: BuiltinOptions = { type: tables[name]! };
    if (name === 'ADD' || name === 'SUB' || name === 'MUL' || name === 'DIV') {
      opts.fused_activation_function = ACT[activation];
    } else if (activation !== 'NONE') fail(`${name} has no fused activation`);
    return this.one(name, [a, b], shape, opts, a.type);
  }

  add(a: T, b: T, act?: Activation): T {
    return this.binary('ADD', a, b, act);
  }
  sub(a: T, b: T, act?: Activation): T {
    return this.binary('SUB', a, b, act);
  }
  mul(a: T, b: T, act?: Activation): T {
    return this.binary('MUL', a, b, act);
  }
  div(a: T, b: T, act?: Activation): T {
    return this.binary('DIV', a, b, act);
  }
  maximum(a: T, b: T): T {
    return this.binary('MAXIMUM', a, b);
  }
  minimum(a: T, b: T): T {
    return this.binary('MINIMUM', a, b);
  }
  squaredDifference(a: T, b: T): T {
    return this.binary('SQUARED_DIFFERENCE', a, b);
  }

  private unary(
    name:
      | 'LOGISTIC'
      | 'TANH'
      | 'SIN'
      | 'COS'
      | 'EXP'
      | 'RSQRT'
      | 'SQRT'
      | 'SQUARE'
      | 'NEG'
      | 'ABS'
      | 'LOG'
      | 'RELU',
    x: T,
  ): T {
    this.requireFloat(x, name);
    const c = this.constValue(x);
    if (c instanceof Float32Array)
      return this.f32(`${name.toLowerCase()}_folded`, x.shape, foldUnary(name, c));
    const tables: Record<string, string | undefined> = {
      SIN: undefined,
      COS: 'CosOptions',
      EXP: 'ExpOptions',
      SQUARE: 'SquareOptions',
      NEG: 'NegOptions',
      ABS: 'AbsOptions',
    };
    const table = tables[name];
    return this.one(name, [x], x.shape, table ? { type: table } : undefined);
  }

  logistic(x: T): T {
    return this.unary('LOGISTIC', x);
  }
  tanh(x: T): T {
    return this.unary('TANH', x);
  }
  sin(x: T): T {
    return this.unary('SIN', x);
  }
  cos(x: T): T {
    return this.unary('COS', x);
  }
  exp(x: T): T {
    return this.unary('EXP', x);
  }
  rsqrt(x: T): T {
    return this.unary('RSQRT', x);
  }
  sqrt(x: T): T {
    return this.unary('SQRT', x);
  }
  square(x: T): T {
    return this.unary('SQUARE', x);
  }
  neg(x: T): T {
    return this.unary('NEG', x);
  }
  abs(x: T): T {
    return this.unary('ABS', x);
  }
  log(x: T): T {
    return this.unary('LOG', x);
  }
  relu(x: T): T {
    return this.unary('RELU', x);
  }

  gelu(x: T, approximate = false): T {
    this.requireFloat(x, 'GELU');
    return this.one('GELU', [x], x.shape, { type: 'GeluOptions', approximate });
  }

  /** SiLU(x) = x · σ(x). */
  silu(x: T): T {
    return this.mul(x, this.logistic(x));
  }

  softmax(x: T, beta = 1): T {
    this.requireFloat(x, 'SOFTMAX');
    return this.one('SOFTMAX', [x], x.shape, { type: 'SoftmaxOptions', beta });
  }

  cast(x: T, to: TensorTypeName): T {
    const inCode = TENSOR_TYPE_CODE[x.type];
    const outCode = TENSOR_TYPE_CODE[to];
    if (inCode === undefined || outCode === undefined) fail(`CAST ${x.type} → ${to} is not supported`);
    return this.one(
      'CAST',
      [x],
      x.shape,
      { type: 'CastOptions', in_data_type: inCode, out_data_type: outCode },
      to,
    );
  }

  /** Elementwise comparison → BOOL (builtin kernels; not on the XNNPACK path). */
  compare(name: 'LESS' | 'LESS_EQUAL' | 'GREATER' | 'GREATER_EQUAL' | 'EQUAL' | 'NOT_EQUAL', a: T, b: T): T {
    if (a.type !== b.type) fail(`${name}: operand types ${a.type} and ${b.type} differ`);
    const table = {
      LESS: 'LessOptions',
      LESS_EQUAL: 'LessEqualOptions',
      GREATER: 'GreaterOptions',
      GREATER_EQUAL: 'GreaterEqualOptions',
      EQUAL: 'EqualOptions',
      NOT_EQUAL: 'NotEqualOptions',
    }[name];
    return this.one(name, [a, b], broadcastShapes(a.shape, b.shape), { type: table }, 'BOOL');
  }

  logical(name: 'LOGICAL_AND' | 'LOGICAL_OR', a: T, b: T): T {
    if (a.type !== 'BOOL' || b.type !== 'BOOL') fail(`${name} needs BOOL operands`);
    const table = name === 'LOGICAL_AND' ? 'LogicalAndOptions' : 'LogicalOrOptions';
    return this.one(name, [a, b], broadcastShapes(a.shape, b.shape), { type: table }, 'BOOL');
  }

  logicalNot(a: T): T {
    if (a.type !== 'BOOL') fail('LOGICAL_NOT needs a BOOL operand');
    return this.one('LOGICAL_NOT', [a], a.shape, { type: 'LogicalNotOptions' }, 'BOOL');
  }

  /** SELECT_V2: cond ? a : b with broadcasting. */
  select(cond: T, a: T, b: T): T {
    if (cond.type !== 'BOOL') fail('SELECT_V2 condition must be BOOL');
    if (a.type !== b.type) fail(`SELECT_V2: operand types ${a.type} and ${b.type} differ`);
    const shape = broadcastShapes(cond.shape, broadcastShapes(a.shape, b.shape));
    return this.one('SELECT_V2', [cond, a, b], shape, { type: 'SelectV2Options' }, a.type);
  }

  floor(x: T): T {
    this.requireFloat(x, 'FLOOR');
    return this.one('FLOOR', [x], x.shape);
  }

  /** MAX_POOL_2D / AVERAGE_POOL_2D on NHWC input. */
  pool2d(
    kind: 'MAX' | 'AVERAGE',
    x: T,
    opts: { filter: [number, number]; stride?: [number, number]; padding?: 'SAME' | 'VALID' },
  ): T {
    if (x.shape.length !== 4) fail('pooling needs NHWC input');
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const [fh, fw] = opts.filter;
    const [sh, sw] = opts.stride ?? opts.filter;
    const pad = opts.padding ?? 'VALID';
    const shape = [n, this.convOut(h, fh, sh, 1, pad), this.convOut(w, fw, sw, 1, pad), c];
    return this.one(kind === 'MAX' ? 'MAX_POOL_2D' : 'AVERAGE_POOL_2D', [x], shape, {
      type: 'Pool2DOptions',
      padding: pad === 'SAME' ? 0 : 1,
      stride_w: sw,
      stride_h: sh,
      filter_width: fw,
      filter_height: fh,
      fused_activation_function: 0,
    });
  }

  // ------------------------------------------------------------------ reductions

  private reduce(name: 'MEAN' | 'SUM' | 'REDUCE_MAX', x: T, axes: number[], keepDims: boolean): T {
    const r = x.shape.length;
    const ax = [...new Set(axes.map((a) => normAxis(a, r)))].sort((a, b) => a - b);
    const shape: number[] = [];
    x.shape.forEach((d, i) => {
      if (!ax.includes(i)) shape.push(d);
      else if (keepDims) shape.push(1);
    });
    const axT = this.i32('axes', [ax.length], ax);
    return this.one(name, [x, axT], shape, { type: 'ReducerOptions', keep_dims: keepDims }, x.type);
  }

  mean(x: T, axes: number[], keepDims = true): T {
    return this.reduce('MEAN', x, axes, keepDims);
  }
  sum(x: T, axes: number[], keepDims = true): T {
    return this.reduce('SUM', x, axes, keepDims);
  }
  reduceMax(x: T, axes: number[], keepDims = true): T {
    return this.reduce('REDUCE_MAX', x, axes, keepDims);
  }

  // ------------------------------------------------------------------ shape ops

  /**
   * RESHAPE. `openAxis`: that dimension is written as -1 in the new shape (inferred by the runtime), so the
   * op follows an input resized along an open dimension.
   */
  reshape(x: T, shape: readonly number[], opts: { openAxis?: number } = {}): T {
    const s = [...shape];
    const neg = s.indexOf(-1);
    if (neg >= 0) {
      const known = prod(s.filter((d) => d !== -1));
      s[neg] = prod(x.shape) / known;
    }
    if (prod(s) !== prod(x.shape) || s.some((d) => !Number.isInteger(d) || d < 0)) {
      fail(`RESHAPE: cannot reshape ${fmt(x.shape)} to ${fmt(shape)}`);
    }
    if (s.length === x.shape.length && s.every((d, i) => d === x.shape[i])) return x;
    const c = this.constValue(x);
    if (c) return this.constant('reshape_folded', x.type, s, c);
    const ax = opts.openAxis;
    const written = ax === undefined ? s : s.map((d, i) => (i === ax ? -1 : d));
    const st = this.i32('shape', [s.length], written);
    return this.one('RESHAPE', [x, st], s, { type: 'ReshapeOptions', new_shape: written }, x.type);
  }

  transpose(x: T, perm: readonly number[]): T {
    const r = x.shape.length;
    if (perm.length !== r || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
      fail(`TRANSPOSE: ${fmt(perm)} is not a permutation of rank ${r}`);
    }
    const shape = perm.map((p) => x.shape[p]!);
    if (perm.every((p, i) => p === i)) return x;
    const c = this.constValue(x);
    if (c instanceof Float32Array) {
      return this.f32('transpose_folded', shape, transposeArray(c, x.shape, perm) as Float32Array);
    }
    const pt = this.i32('perm', [r], perm as number[]);
    return this.one('TRANSPOSE', [x, pt], shape, { type: 'TransposeOptions' }, x.type);
  }

  concat(xs: T[], axis: number): T {
    if (xs.length === 0) fail('CONCATENATION of nothing');
    if (xs.length === 1) return xs[0]!;
    const r = xs[0]!.shape.length;
    const a = normAxis(axis, r);
    const shape = [...xs[0]!.shape];
    shape[a] = 0;
    for (const x of xs) {
      if (x.shape.length !== r || x.type !== xs[0]!.type) fail('CONCATENATION: rank/type mismatch');
      x.shape.forEach((d, i) => {
        if (i !== a && d !== xs[0]!.shape[i]) fail(`CONCATENATION: ${fmt(x.shape)} vs ${fmt(xs[0]!.shape)}`);
      });
      shape[a]! += x.shape[a]!;
    }
    return this.one(
      'CONCATENATION',
      xs,
      shape,
      { type: 'ConcatenationOptions', axis: a, fused_activation_function: 0 },
      xs[0]!.type,
    );
  }

  /** SLICE with begin and size (size −1 = to the end). */
  slice(x: T, begin: readonly number[], size: readonly number[]): T {
    const r = x.shape.length;
    if (begin.length !== r || size.length !== r) fail('SLICE: begin/size rank mismatch');
    const s = size.map((d, i) => (d === -1 ? x.shape[i]! - begin[i]! : d));
    s.forEach((d, i) => {
      if (begin[i]! < 0 || d < 0 || begin[i]! + d > x.shape[i]!) {
        fail(`SLICE: begin ${fmt(begin)} size ${fmt(size)} out of ${fmt(x.shape)}`);
      }
    });
    if (s.every((d, i) => d === x.shape[i])) return x;
    const bt = this.i32('begin', [r], begin as number[]);
    const st = this.i32('size', [r], s);
    return this.one('SLICE', [x, bt, st], s, { type: 'SliceOptions' }, x.type);
  }

  /** STRIDED_SLICE with positive strides and in-range begin/end (no masks). */
  stridedSlice(x: T, begin: readonly number[], end: readonly number[], strides: readonly number[]): T {
    const r = x.shape.length;
    if (begin.length !== r || end.length !== r || strides.length !== r) fail('STRIDED_SLICE rank mismatch');
    const shape = begin.map((b, i) => {
      const e = end[i]!;
      const s = strides[i]!;
      if (s <= 0 || b < 0 || e > x.shape[i]! || e < b) fail('STRIDED_SLICE: unsupported range');
      return Math.ceil((e - b) / s);
    });
    return this.stridedSliceOp(x, begin, end, strides, shape, 0, 0);
  }

  /**
   * Drops `before` and `after` entries of one axis with STRIDED_SLICE, counted from each end (end index
   * −after, the other axes masked), so the op stays right when a runtime resizes that axis.
   */
  trim(x: T, axis: number, before: number, after: number): T {
    const a = normAxis(axis, x.shape.length);
    return this.crop(
      x,
      x.shape.map((_, i) => (i === a ? [before, after] : null)),
    );
  }

  /**
   * Drops [before, after] entries of each axis given (null: the whole axis) in one STRIDED_SLICE, counted from
   * each end (end index −after, whole axes masked), so it stays right when a runtime resizes an axis.
   */
  crop(x: T, drop: readonly (readonly [number, number] | null)[]): T {
    const r = x.shape.length;
    if (drop.length !== r) fail(`crop: ${drop.length} axes given for ${fmt(x.shape)}`);
    let beginMask = 0;
    let endMask = 0;
    drop.forEach((d, i) => {
      const n = x.shape[i]!;
      if (!d) {
        beginMask |= 1 << i;
        endMask |= 1 << i;
        return;
      }
      const [before, after] = d;
      if (
        !Number.isInteger(before) ||
        !Number.isInteger(after) ||
        before < 0 ||
        after < 0 ||
        before + after >= n
      )
        fail(`crop: cannot drop ${before} + ${after} of ${n} on axis ${i}`);
      if (after === 0) endMask |= 1 << i;
    });
    if (drop.every((d) => !d || (d[0] === 0 && d[1] === 0))) return x;
    return this.stridedSliceOp(
      x,
      drop.map((d) => d?.[0] ?? 0),
      drop.map((d) => (d ? -d[1] : 0)),
      x.shape.map(() => 1),
      x.shape.map((v, i) => v - (drop[i]?.[0] ?? 0) - (drop[i]?.[1] ?? 0)),
      beginMask,
      endMask,
    );
  }

  /** The STRIDED_SLICE op itself: constant begin/end/strides, the output shape the caller worked out. */
  private stridedSliceOp(
    x: T,
    begin: readonly number[],
    end: readonly number[],
    strides: readonly number[],
    shape: number[],
    beginMask: number,
    endMask: number,
  ): T {
    const r = x.shape.length;
    return this.one(
      'STRIDED_SLICE',
      [
        x,
        this.i32('begin', [r], begin as number[]),
        this.i32('end', [r], end as number[]),
        this.i32('strides', [r], strides as number[]),
      ],
      shape,
      {
        type: 'StridedSliceOptions',
        begin_mask: beginMask,
        end_mask: endMask,
        ellipsis_mask: 0,
        new_axis_mask: 0,
        shrink_axis_mask: 0,
        offset: false,
      },
      x.type,
    );
  }

  gather(params: T, indices: T, axis = 0): T {
    if (indices.type !== 'INT32' && indices.type !== 'INT64') fail('GATHER indices must be INT32 or INT64');
    const a = normAxis(axis, params.shape.length);
    const shape = [...params.shape.slice(0, a), ...indices.shape, ...params.shape.slice(a + 1)];
    return this.one(
      'GATHER',
      [params, indices],
      shape,
      { type: 'GatherOptions', axis: a, batch_dims: 0 },
      params.type,
    );
  }

  /** CUMSUM along one axis (exclusive: each entry sums the ones before it). Runs on LiteRT's builtin kernel. */
  cumsum(x: T, axis: number, opts: { exclusive?: boolean } = {}): T {
    const a = normAxis(axis, x.shape.length);
    return this.one(
      'CUMSUM',
      [x, this.i32('axis', [], [a])],
      x.shape,
      { type: 'CumsumOptions', exclusive: opts.exclusive ?? false, reverse: false },
      x.type,
    );
  }

  /** PAD with [before, after] per dimension (zeros). */
  pad(x: T, paddings: readonly (readonly [number, number])[]): T {
    if (paddings.length !== x.shape.length) fail('PAD: one [before, after] pair per dimension');
    if (paddings.every(([a, b]) => a === 0 && b === 0)) return x;
    const shape = x.shape.map((d, i) => d + paddings[i]![0] + paddings[i]![1]);
    const pt = this.i32('paddings', [x.shape.length, 2], paddings.flat());
    return this.one('PAD', [x, pt], shape, { type: 'PadOptions' }, x.type);
  }

  // ------------------------------------------------------------------ composite helpers

  /** LayerNorm over the last axis: (x−μ)/√(σ²+eps)·γ (+β). Decomposed into ops XNNPACK takes. */
  layerNorm(x: T, gamma: T | null, beta: T | null, eps: number): T {
    const mu = this.mean(x, [-1]);
    const d = this.sub(x, mu);
    const v = this.mean(this.square(d), [-1]);
    let y = this.mul(d, this.rsqrt(this.add(v, this.scalar(eps, 'eps'))));
    if (gamma) y = this.mul(y, gamma);
    if (beta) y = this.add(y, beta);
    return y;
  }

  /** T5-style RMS norm: x/√(mean(x²)+eps)·w. */
  rmsNorm(x: T, w: T, eps: number): T {
    const v = this.mean(this.square(x), [-1]);
    return this.mul(this.mul(x, this.rsqrt(this.add(v, this.scalar(eps, 'eps')))), w);
  }

  // ------------------------------------------------------------------ output

  /**
   * Folds a RELU / RELU6 / TANH that is the only consumer of an op with a fused-activation field
   * (FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV, ADD, SUB, MUL, DIV) into that op,
   * also through one RESHAPE in between (the activation is elementwise).
   */
  private fuseActivations(): void {
    const ACTS: Record<string, number> = { RELU: 1, TANH: 4 };
    const FUSABLE = new Set([
      'FULLY_CONNECTED',
      'CONV_2D',
      'DEPTHWISE_CONV_2D',
      'TRANSPOSE_CONV',
      'ADD',
      'SUB',
      'MUL',
      'DIV',
    ]);
    const outs = new Set(this.outputs.map((o) => o.id));
    const consumers = () => {
      const m = new Map<number, Operator[]>();
      for (const op of this.operators)
        for (const i of op.inputs) if (i >= 0) m.set(i, [...(m.get(i) ?? []), op]);
      return m;
    };
    const producer = new Map<number, Operator>();
    for (const op of this.operators) for (const o of op.outputs) producer.set(o, op);
    let cons = consumers();
    const dead = new Set<Operator>();
    for (const act of this.operators) {
      const code = ACTS[act.op];
      if (code === undefined || dead.has(act)) continue;
      let src = act.inputs[0]!;
      let reshape: Operator | undefined;
      let p = producer.get(src);
      if (p?.op === 'RESHAPE' && (cons.get(src) ?? []).length === 1 && !outs.has(src)) {
        reshape = p;
        src = p.inputs[0]!;
        p = producer.get(src);
      }
      if (!p || !FUSABLE.has(p.op) || !p.options || p.options.fused_activation_function !== 0) continue;
      if ((cons.get(src) ?? []).length !== 1 || outs.has(src)) continue;
      p.options.fused_activation_function = code;
      // The activation's output is now produced by the reshape (or the op itself).
      const last = reshape ?? p;
      const oldOut = last.outputs[0]!;
      last.outputs[0] = act.outputs[0]!;
      producer.set(act.outputs[0]!, last);
      const t = this.tensors[act.outputs[0]!]!;
      const o = this.tensors[oldOut]!;
      if (o.shape.join() !== t.shape.join()) fail('internal: activation fusion shape mismatch');
      dead.add(act);
      cons = consumers();
    }
    if (dead.size)
      this.operators.splice(0, this.operators.length, ...this.operators.filter((op) => !dead.has(op)));
  }

  /** Graph with one subgraph and a `serving_default` signature over the named inputs/outputs. */
  build(signatureKey = 'serving_default'): Graph {
    if (this.outputs.length === 0) fail('graph has no outputs');
    this.fuseActivations();
    // Drop tensors nothing refers to (e.g. constants replaced by folding) and renumber.
    const used = new Set<number>([...this.inputs.map((i) => i.id), ...this.outputs.map((o) => o.id)]);
    for (const op of this.operators) for (const i of [...op.inputs, ...op.outputs]) if (i >= 0) used.add(i);
    const remap = new Map<number, number>();
    const tensors: GraphTensor[] = [];
    this.tensors.forEach((t, i) => {
      if (used.has(i)) {
        remap.set(i, tensors.length);
        tensors.push(t);
      }
    });
    const m = (i: number) => (i < 0 ? i : remap.get(i)!);
    const operators = this.operators.map((op) => ({
      ...op,
      inputs: op.inputs.map(m),
      outputs: op.outputs.map(m),
    }));
    const inputs = this.inputs.map((i) => ({ name: i.name, id: m(i.id) }));
    const outputs = this.outputs.map((o) => ({ name: o.name, id: m(o.id) }));
    return {
      version: 3,
      description: this.description,
      subgraphs: [
        {
          name: 'main',
          tensors,
          inputs: inputs.map((i) => i.id),
          outputs: outputs.map((o) => o.id),
          operators,
        },
      ],
      signatures: [
        {
          signature_key: signatureKey,
          subgraph_index: 0,
          inputs: inputs.map((i) => ({ name: i.name, tensor_index: i.id })),
          outputs: outputs.map((o) => ({ name: o.name, tensor_index: o.id })),
        },
      ],
      metadata: [],
    };
  }
}

/** Which ops of a graph XNNPACK takes and which fall back to builtin kernels; constant bytes. */
export function opReport(graph: Graph): OpReport {
  const counts: Record<string, number> = {};
  const xnnpack: Record<string, number> = {};
  const builtin: Record<string, number> = {};
  let constantBytes = 0;
  let tensors = 0;
  let operators = 0;
  for (const sg of graph.subgraphs) {
    tensors += sg.tensors.length;
    operators += sg.operators.length;
    for (const t of sg.tensors) constantBytes += t.data?.byteLength ?? 0;
    for (const op of sg.operators) {
      counts[op.op] = (counts[op.op] ?? 0) + 1;
      const bucket = XNNPACK_OPS.has(op.op) ? xnnpack : builtin;
      bucket[op.op] = (bucket[op.op] ?? 0) + 1;
    }
  }
  return { counts, xnnpack, builtin, constantBytes, tensors, operators };
}

// ------------------------------------------------------------------ folding helpers

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** Row-major transpose of a typed array. */
export function transposeArray<A extends Float32Array | Int32Array>(
  data: A,
  shape: readonly number[],
  perm: readonly number[],
): A {
  const outShape = perm.map((p) => shape[p]!);
  const inStr = strides(shape);
  const n = data.length;
  const out = new (data.constructor as new (n: number) => A)(n);
  const r = shape.length;
  const idx = new Array<number>(r).fill(0);
  const permStr = perm.map((p) => inStr[p]!);
  for (let o = 0; o < n; o++) {
    let src = 0;
    for (let i = 0; i < r; i++) src += idx[i]! * permStr[i]!;
    out[o] = data[src]!;
    for (let i = r - 1; i >= 0; i--) {
      idx[i]!++;
      if (idx[i]! < outShape[i]!) break;
      idx[i] = 0;
    }
  }
  return out;
}

function broadcastIndex(shape: readonly number[], outShape: readonly number[]): (o: number) => number {
  const r = outShape.length;
  const s = strides(shape);
  const padded = new Array<number>(r).fill(0);
  const dims = new Array<number>(r).fill(1);
  for (let i = 0; i < shape.length; i++) {
    padded[r - shape.length + i] = shape[i] === 1 ? 0 : s[i]!;
    dims[r - shape.length + i] = shape[i]!;
  }
  const os = strides(outShape);
  return (o) => {
    let src = 0;
    let rem = o;
    for (let i = 0; i < r; i++) {
      const q = Math.floor(rem / os[i]!);
      rem -= q * os[i]!;
      src += q * padded[i]!;
    }
    return src;
  };
}

function foldBinary(
  name: string,
  a: Float32Array,
  as: readonly number[],
  b: Float32Array,
  bs: readonly number[],
  os: readonly number[],
): Float32Array {
  const n = prod(os);
  const out = new Float32Array(n);
  const ia = broadcastIndex(as, os);
  const ib = broadcastIndex(bs, os);
  for (let i = 0; i < n; i++) {
    const x = a[ia(i)]!;
    const y = b[ib(i)]!;
    out[i] =
      name === 'ADD'
        ? x + y
        : name === 'SUB'
          ? x - y
          : name === 'MUL'
            ? x * y
            : name === 'DIV'
              ? x / y
              : name === 'MAXIMUM'
                ? Math.max(x, y)
                : name === 'MINIMUM'
                  ? Math.min(x, y)
                  : (x - y) * (x - y);
  }
  return out;
}

function foldUnary(name: string, a: Float32Array): Float32Array {
  const f: Record<string, (x: number) => number> = {
    LOGISTIC: (x) => 1 / (1 + Math.exp(-x)),
    TANH: Math.tanh,
    SIN: Math.sin,
    COS: Math.cos,
    EXP: Math.exp,
    RSQRT: (x) => 1 / Math.sqrt(x),
    SQRT: Math.sqrt,
    SQUARE: (x) => x * x,
    NEG: (x) => -x,
    ABS: Math.abs,
    LOG: Math.log,
    RELU: (x) => Math.max(0, x),
  };
  return a.map(f[name]!);
}
