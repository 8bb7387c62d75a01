/**
 * Small float .tflite graphs covering every op the quantizer handles (FULLY_CONNECTED with and
 * without bias, BATCH_MATMUL with a constant RHS, CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV,
 * EMBEDDING_LOOKUP), used by tests and by the AEQ conformance script. Deterministic weights.
 */
import type { Graph, GraphTensor, Operator } from '@audiogen/core/tflite';

/** Deterministic pseudo-random normal-ish values (LCG + Box–Muller), scaled. */
export function detRandn(n: number, seed: number, scale = 0.1, offset = 0): Float32Array {
  let s = seed >>> 0 || 1;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = next();
    const v = next();
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v) * scale + offset;
  }
  return out;
}

const bytes = (a: Float32Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

class B {
  tensors: GraphTensor[] = [];
  operators: Operator[] = [];
  seed = 1;
  act(name: string, shape: number[], type: GraphTensor['type'] = 'FLOAT32'): number {
    this.tensors.push({ name, type, shape });
    return this.tensors.length - 1;
  }
  weight(name: string, shape: number[], scale = 0.1, offset = 0): number {
    const n = shape.reduce((a, b) => a * b, 1);
    this.tensors.push({
      name,
      type: 'FLOAT32',
      shape,
      data: bytes(detRandn(n, this.seed++ * 7919, scale, offset)),
    });
    return this.tensors.length - 1;
  }
  int32(name: string, values: number[]): number {
    this.tensors.push({ name, type: 'INT32', shape: [values.length], data: bytes(Int32Array.from(values)) });
    return this.tensors.length - 1;
  }
  op(op: string, code: number, inputs: number[], outputs: number[], options?: Operator['options']): void {
    this.operators.push({
      op,
      builtin_code: code,
      version: 1,
      inputs,
      outputs,
      ...(options ? { options } : {}),
    });
  }
  graph(inputs: number[], outputs: number[], description: string): Graph {
    return {
      version: 3,
      description,
      subgraphs: [{ name: 'main', tensors: this.tensors, inputs, outputs, operators: this.operators }],
      signatures: [
        {
          signature_key: 'serving_default',
          subgraph_index: 0,
          inputs: inputs.map((i) => ({ name: this.tensors[i]!.name, tensor_index: i })),
          outputs: outputs.map((i) => ({
            name: this.tensors[i]!.name.replace(/[^A-Za-z0-9_]/g, '_'),
            tensor_index: i,
          })),
        },
      ],
      metadata: [],
    };
  }
}

const FC = (keep = false) => ({
  type: 'FullyConnectedOptions',
  fused_activation_function: 0,
  weights_format: 0,
  keep_num_dims: keep,
  asymmetric_quantize_inputs: false,
});

/** MLP with FC (bias / no bias, keep_num_dims), ADD, GELU and a BATCH_MATMUL with a constant RHS. */
export function mlpModel(): Graph {
  const b = new B();
  const x = b.act('x', [2, 64]);
  const w1 = b.weight('dense1/kernel', [96, 64], 0.08);
  const b1 = b.weight('dense1/bias', [96], 0.02);
  const h = b.act('dense1/out', [2, 96]);
  b.op('FULLY_CONNECTED', 9, [x, w1, b1], [h], FC());
  const g = b.act('gelu/out', [2, 96]);
  b.op('GELU', 150, [h], [g], { type: 'GeluOptions', approximate: false });
  const w2 = b.weight('dense2/kernel', [64, 96], 0.05, 0.01);
  const h2 = b.act('dense2/out', [2, 64]);
  b.op('FULLY_CONNECTED', 9, [g, w2, -1], [h2], FC());
  const c = b.weight('residual/const', [2, 64], 0.1);
  const r = b.act('residual/out', [2, 64]);
  b.op('ADD', 0, [h2, c], [r], { type: 'AddOptions', fused_activation_function: 0 });
  const wm = b.weight('proj/rhs', [64, 32], 0.07);
  const y = b.act('proj/out', [2, 32]);
  b.op('BATCH_MATMUL', 126, [r, wm], [y], {
    type: 'BatchMatMulOptions',
    adj_x: false,
    adj_y: false,
    asymmetric_quantize_inputs: false,
  });
  return b.graph([x], [y], 'quantize conformance: mlp');
}

/** CONV_2D → DEPTHWISE_CONV_2D → TRANSPOSE_CONV (NHWC), as in a VAE decoder. */
export function convModel(): Graph {
  const b = new B();
  const x = b.act('x', [1, 8, 8, 4]);
  const wc = b.weight('conv/kernel', [8, 3, 3, 4], 0.2);
  const bc = b.weight('conv/bias', [8], 0.05);
  const h = b.act('conv/out', [1, 8, 8, 8]);
  const conv = {
    type: 'Conv2DOptions',
    padding: 0,
    stride_w: 1,
    stride_h: 1,
    fused_activation_function: 0,
    dilation_w_factor: 1,
    dilation_h_factor: 1,
  };
  b.op('CONV_2D', 3, [x, wc, bc], [h], conv);
  const wd = b.weight('dw/kernel', [1, 3, 3, 8], 0.3, 0.05);
  const bd = b.weight('dw/bias', [8], 0.05);
  const d = b.act('dw/out', [1, 8, 8, 8]);
  b.op('DEPTHWISE_CONV_2D', 4, [h, wd, bd], [d], {
    type: 'DepthwiseConv2DOptions',
    padding: 0,
    stride_w: 1,
    stride_h: 1,
    depth_multiplier: 1,
    fused_activation_function: 0,
    dilation_w_factor: 1,
    dilation_h_factor: 1,
  });
  const os = b.int32('up/output_shape', [1, 16, 16, 4]);
  const wt = b.weight('up/kernel', [4, 3, 3, 8], 0.2);
  const bt = b.weight('up/bias', [4], 0.05);
  const y = b.act('up/out', [1, 16, 16, 4]);
  b.op('TRANSPOSE_CONV', 67, [os, wt, d, bt], [y], {
    type: 'TransposeConvOptions',
    padding: 0,
    stride_w: 2,
    stride_h: 2,
    fused_activation_function: 0,
  });
  return b.graph([x], [y], 'quantize conformance: conv');
}

/** EMBEDDING_LOOKUP (int32 ids) → FULLY_CONNECTED with keep_num_dims, as in T5. */
export function embedModel(): Graph {
  const b = new B();
  const ids = b.act('ids', [6], 'INT32');
  const table = b.weight('embed/table', [40, 64], 0.5);
  const e = b.act('embed/out', [6, 64]);
  b.op('EMBEDDING_LOOKUP', 7, [ids, table], [e]);
  const w = b.weight('head/kernel', [32, 64], 0.1);
  const bias = b.weight('head/bias', [32], 0.01);
  const y = b.act('head/out', [6, 32]);
  b.op('FULLY_CONNECTED', 9, [e, w, bias], [y], FC(true));
  return b.graph([ids], [y], 'quantize conformance: embedding');
}

export const TEST_MODELS: Record<string, () => Graph> = { mlp: mlpModel, conv: convModel, embed: embedModel };
