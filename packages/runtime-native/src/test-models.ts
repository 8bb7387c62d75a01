// Small models built in code: shared by this package's tests, and the GPU probe of `describeGpu` (a
// one-op model any accelerator takes whole). Not part of the package's API.
import { floatToHalf } from '@audiogen/core';
import type { Graph } from '@audiogen/core/tflite';

export const O = 8;
export const I = 64;
export const BLOCK = 32;
export const NB = I / BLOCK;
/** The int4 weight values, row-major [O, I]. */
export const int4Values = new Int8Array(O * I).map((_, i) => ((i * 7 + 3) % 15) - 7); // int4 values in [-7, 7]
const packed = new Uint8Array((O * I) / 2).map(
  (_, k) => (int4Values[2 * k]! & 0xf) | ((int4Values[2 * k + 1]! & 0xf) << 4),
);

/**
 * x [1,64] → FULLY_CONNECTED(w: int4 [8,64] with fixed values, blockwise 32, fp16 scales [8,2]) → y [1,8].
 * `scales` are the 16 block scales, row-major; a 0 among them makes XNNPACK refuse the model at prepare.
 */
export function blockwiseInt4Fc(scales: number[]): Graph {
  const s = Uint16Array.from(scales, floatToHalf);
  return {
    version: 3,
    description: 'blockwise int4 FC',
    subgraphs: [
      {
        name: 'main',
        tensors: [
          { name: 'x', type: 'FLOAT32', shape: [1, I] },
          {
            name: 'fc/w',
            type: 'INT4',
            shape: [O, I],
            data: packed,
            quantization: {
              details: { type: 'BlockwiseQuantization', scales: 2, zero_points: -1, block_size: BLOCK },
              quantized_dimension: 0,
            },
          },
          { name: 'fc/w_scales', type: 'FLOAT16', shape: [O, NB], data: new Uint8Array(s.buffer) },
          { name: 'y', type: 'FLOAT32', shape: [1, O] },
        ],
        inputs: [0],
        outputs: [3],
        operators: [
          {
            op: 'FULLY_CONNECTED',
            builtin_code: 9,
            version: 1,
            inputs: [0, 1, -1],
            outputs: [3],
            options: { type: 'FullyConnectedOptions' },
          },
        ],
      },
    ],
    signatures: [
      {
        signature_key: 'serving_default',
        subgraph_index: 0,
        inputs: [{ name: 'x', tensor_index: 0 }],
        outputs: [{ name: 'y', tensor_index: 3 }],
      },
    ],
    metadata: [],
  };
}

/** out = GATHER(table, indices) along axis 0 (LiteRT's own kernel: XNNPACK does not take GATHER). */
function gatherOp(
  table: number,
  indices: number,
  out: number,
): Graph['subgraphs'][number]['operators'][number] {
  return {
    op: 'GATHER',
    builtin_code: 36,
    version: 1,
    inputs: [table, indices],
    outputs: [out],
    options: { type: 'GatherOptions', axis: 0 },
  };
}

/**
 * y = GATHER(table, x): a float32 table of rows × cols (value r·cols + c + salt) read at every run by
 * LiteRT's builtin kernel (XNNPACK does not take GATHER), so a run touches the model's constant bytes.
 */
export function gatherTable(rows: number, cols: number, salt = 0): Graph {
  const table = new Float32Array(rows * cols).map((_, i) => i + salt);
  return {
    version: 3,
    description: 'gather from a constant table',
    metadata: [],
    subgraphs: [
      {
        name: 'main',
        tensors: [
          { name: 'table', type: 'FLOAT32', shape: [rows, cols], data: new Uint8Array(table.buffer) },
          { name: 'x', type: 'INT32', shape: [4] },
          { name: 'y', type: 'FLOAT32', shape: [4, cols] },
        ],
        inputs: [1],
        outputs: [2],
        operators: [gatherOp(0, 1, 2)],
      },
    ],
    signatures: [
      {
        signature_key: 'serving_default',
        subgraph_index: 0,
        inputs: [{ name: 'x', tensor_index: 1 }],
        outputs: [{ name: 'y', tensor_index: 2 }],
      },
    ],
  };
}

/**
 * z = x + y, all float32 of `shape`: the smallest model every accelerator runs whole. With `signature`
 * (e.g. [-1, 4]) the dims marked -1 are open, so shapes that do not broadcast reach LiteRT.
 */
export function addGraph(shape: number[], description = 'ADD', signature?: number[]): Graph {
  return {
    version: 3,
    description,
    metadata: [],
    subgraphs: [
      {
        name: 'main',
        tensors: ['x', 'y', 'z'].map((name) => ({
          name,
          type: 'FLOAT32' as const,
          shape,
          ...(signature ? { shape_signature: signature } : {}),
        })),
        inputs: [0, 1],
        outputs: [2],
        operators: [
          {
            op: 'ADD',
            builtin_code: 0,
            version: 1,
            inputs: [0, 1],
            outputs: [2],
            options: { type: 'AddOptions' },
          },
        ],
      },
    ],
    signatures: [
      {
        signature_key: 'serving_default',
        subgraph_index: 0,
        inputs: [
          { name: 'x', tensor_index: 0 },
          { name: 'y', tensor_index: 1 },
        ],
        outputs: [{ name: 'z', tensor_index: 2 }],
      },
    ],
  };
}

/** Deterministic float32 values in [-0.5, 0.5) (a small LCG), `n` of them. */
export function lcgFloats(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return new Float32Array(n).map(() => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

/**
 * x [1,K] → FULLY_CONNECTED(w1 [N,K], b1 [N]) → FULLY_CONNECTED(w2 [N,N]) → y [1,N]; with `gather`, also
 * g = GATHER(w1, idx [4]) [4,K]: w1 is then read at every run by LiteRT's own kernel (XNNPACK does not
 * take GATHER), so the model is not fully accelerated and w1 must stay while w2 and b1 may go. With
 * `openBatch` the batch dimension of x is open (-1), so the model can be resized after its weights went.
 */
export function fcStack(K: number, N: number, gather: boolean, openBatch = false): Graph {
  const f = (a: Float32Array) => new Uint8Array(a.buffer);
  const tensors: Graph['subgraphs'][number]['tensors'] = [
    { name: 'x', type: 'FLOAT32', shape: [1, K], ...(openBatch ? { shape_signature: [-1, K] } : {}) },
    { name: 'w1', type: 'FLOAT32', shape: [N, K], data: f(lcgFloats(N * K, 1)) },
    { name: 'b1', type: 'FLOAT32', shape: [N], data: f(lcgFloats(N, 2)) },
    { name: 'h', type: 'FLOAT32', shape: [1, N] },
    { name: 'w2', type: 'FLOAT32', shape: [N, N], data: f(lcgFloats(N * N, 3)) },
    { name: 'y', type: 'FLOAT32', shape: [1, N] },
    { name: 'idx', type: 'INT32', shape: [4] },
    { name: 'g', type: 'FLOAT32', shape: [4, K] },
  ];
  const fc = (inputs: number[], out: number) => ({
    op: 'FULLY_CONNECTED',
    builtin_code: 9,
    version: 1,
    inputs,
    outputs: [out],
    options: { type: 'FullyConnectedOptions' as const },
  });
  const operators: Graph['subgraphs'][number]['operators'] = [fc([0, 1, 2], 3), fc([3, 4, -1], 5)];
  if (gather) operators.push(gatherOp(1, 6, 7));
  const ins = gather ? [0, 6] : [0];
  const outs = gather ? [5, 7] : [5];
  const name = (t: number) => tensors[t]!.name;
  return {
    version: 3,
    description: gather ? 'FC stack + GATHER' : 'FC stack',
    metadata: [],
    subgraphs: [{ name: 'main', tensors, inputs: ins, outputs: outs, operators }],
    signatures: [
      {
        signature_key: 'serving_default',
        subgraph_index: 0,
        inputs: ins.map((t) => ({ name: name(t), tensor_index: t })),
        outputs: outs.map((t) => ({ name: name(t), tensor_index: t })),
      },
    ],
  };
}

/** One float32 constant tensor of `values`. */
const f32Const = (name: string, values: Float32Array): Graph['subgraphs'][number]['tensors'][number] => ({
  name,
  type: 'FLOAT32',
  shape: [values.length],
  data: new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)),
});

export interface SnakeModelOptions {
  /** Also make Snake 1's SIN output a graph output (that Snake must then stay five ops). */
  exposeSin?: boolean;
  /** Give Snake 2 an alpha of C + 1 values (broadcast-incompatible: must not be fused). */
  badAlpha?: boolean;
  /**
   * Snake 2 reads u = s1 + h (a residual connection, as in a decoder) instead of s1. 'only-snake': nothing else
   * reads u (the ADD can join Snake 2's op); 'shared': y = s2 + u as well (u must stay a tensor).
   */
  residual?: 'only-snake' | 'shared';
}

/**
 * x [1, T, C] → h = x + b0 → s1 = snake(h; a1, ib1) → s2 = snake(s1; a2, ib2) → y = s2 + b1 (with
 * `residual`: s2 = snake(s1 + h; …), and y = s2 + (s1 + h) when 'shared'), each snake
 * written as converters do: MUL(h, α) → SIN → SQUARE → MUL(·, 1/β) → ADD(h, ·). Constants from
 * `snakeModelConstants(C)`.
 */
export function snakeModel(T: number, C: number, opts: SnakeModelOptions = {}): Graph {
  const k = snakeModelConstants(C);
  const t: Graph['subgraphs'][number]['tensors'] = [
    { name: 'x', type: 'FLOAT32', shape: [1, T, C] },
    f32Const('b0', k.b0),
    f32Const('b1', k.b1),
    { name: 'h', type: 'FLOAT32', shape: [1, T, C] },
    { name: 'y', type: 'FLOAT32', shape: [1, T, C] },
  ];
  const ops: Graph['subgraphs'][number]['operators'] = [];
  const act = (name: string) => {
    t.push({ name, type: 'FLOAT32', shape: [1, T, C] });
    return t.length - 1;
  };
  const binary = (op: 'ADD' | 'MUL', a: number, b: number, out: number) =>
    ops.push({
      op,
      builtin_code: op === 'ADD' ? 0 : 18,
      version: 1,
      inputs: [a, b],
      outputs: [out],
      options: { type: op === 'ADD' ? 'AddOptions' : 'MulOptions', fused_activation_function: 0 },
    });
  const unary = (op: 'SIN' | 'SQUARE', a: number, out: number) =>
    ops.push({
      op,
      builtin_code: op === 'SIN' ? 66 : 92,
      version: 1,
      inputs: [a],
      outputs: [out],
      ...(op === 'SQUARE' ? { options: { type: 'SquareOptions' } } : {}),
    });
  const snake = (x: number, i: number, alpha: Float32Array, invBeta: Float32Array) => {
    t.push(f32Const(`s${i}/alpha`, alpha), f32Const(`s${i}/inv_beta`, invBeta));
    const a = t.length - 2;
    const m = act(`s${i}/mul`);
    const s = act(`s${i}/sin`);
    const q = act(`s${i}/square`);
    const m1 = act(`s${i}/mul_1`);
    const out = act(`s${i}/add`);
    binary('MUL', x, a, m);
    unary('SIN', m, s);
    unary('SQUARE', s, q);
    binary('MUL', q, a + 1, m1);
    binary('ADD', x, m1, out);
    return { out, sin: s };
  };
  binary('ADD', 0, 1, 3);
  const s1 = snake(3, 1, k.a1, k.ib1);
  let into2 = s1.out;
  if (opts.residual) {
    into2 = act('u');
    binary('ADD', s1.out, 3, into2);
  }
  const a2 = opts.badAlpha ? Float32Array.from({ length: C + 1 }, (_, c) => k.a2[c % C]!) : k.a2;
  const s2 = snake(into2, 2, a2, k.ib2);
  binary('ADD', s2.out, opts.residual === 'shared' ? into2 : 2, 4);
  const outputs = opts.exposeSin ? [4, s1.sin] : [4];
  return {
    version: 3,
    description: 'two Snake activations',
    subgraphs: [{ name: 'main', tensors: t, inputs: [0], outputs, operators: ops }],
    signatures: [
      {
        signature_key: 'serving_default',
        subgraph_index: 0,
        inputs: [{ name: 'x', tensor_index: 0 }],
        outputs: outputs.map((i) => ({ name: t[i]!.name, tensor_index: i })),
      },
    ],
    metadata: [],
  };
}

/** The constants of `snakeModel`: alphas in [0.95, 2.45), inv_betas their reciprocals, biases in [-0.5, 0.5). */
export function snakeModelConstants(C: number) {
  const alpha = (seed: number) => lcgFloats(C, seed).map((v) => 1.7 + 1.5 * v);
  const a1 = alpha(11);
  const a2 = alpha(12);
  return {
    b0: lcgFloats(C, 13),
    b1: lcgFloats(C, 14),
    a1,
    a2,
    ib1: a1.map((a) => 1 / (a + 1e-9)),
    ib2: a2.map((a) => 1 / (a + 1e-9)),
  };
}
