import type { Graph, GraphTensor, Operator } from '@audiogen/core/tflite';
import { describe, expect, it } from 'vitest';
import { quantizeWeights, unpackQuantized } from './math';
import { namedRecipe, namedRecipeJson } from './recipes';
import { opScope, quantizeGraph } from './transform';

function f32bytes(a: number[] | Float32Array): Uint8Array {
  return new Uint8Array(Float32Array.from(a).buffer);
}
function randn(n: number, seed: number): Float32Array {
  let s = seed;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = (s / 2147483648 - 0.5) * 0.2;
  }
  return out;
}

/** x[1,64] -FC(w1[32,64],b)-> h -ADD(h,c)-> a -FC(w2[16,32])-> y ; also BMM(a3, w3) with w3 [32,8]; FC w1 also used by a 2nd FC. */
function model(): Graph {
  const t = (name: string, shape: number[], data?: Float32Array): GraphTensor => ({
    name,
    type: 'FLOAT32',
    shape,
    ...(data ? { data: f32bytes(data) } : {}),
  });
  const tensors: GraphTensor[] = [
    t('x', [1, 64]), // 0
    t('w1', [32, 64], randn(32 * 64, 1)), // 1
    t('b1', [32], randn(32, 2)), // 2
    t('h', [1, 32]), // 3
    t('c', [1, 32], randn(32, 3)), // 4
    t('a', [1, 32]), // 5
    t('w2', [16, 32], randn(16 * 32, 4)), // 6
    t('y', [1, 16]), // 7
    t('w3', [32, 8], randn(32 * 8, 5)), // 8
    t('z', [1, 8]), // 9
    t('tiny', [2, 64], randn(128, 6)), // 10
    t('u', [1, 2]), // 11
  ];
  const fc = (inputs: number[], outputs: number[]): Operator => ({
    op: 'FULLY_CONNECTED',
    builtin_code: 9,
    version: 1,
    inputs,
    outputs,
    options: {
      type: 'FullyConnectedOptions',
      fused_activation_function: 0,
      weights_format: 0,
      keep_num_dims: false,
      asymmetric_quantize_inputs: false,
    },
  });
  const operators: Operator[] = [
    fc([0, 1, 2], [3]),
    {
      op: 'ADD',
      builtin_code: 0,
      version: 1,
      inputs: [3, 4],
      outputs: [5],
      options: { type: 'AddOptions', fused_activation_function: 0 },
    },
    fc([5, 6, -1], [7]),
    {
      op: 'BATCH_MATMUL',
      builtin_code: 126,
      version: 1,
      inputs: [5, 8],
      outputs: [9],
      options: { type: 'BatchMatMulOptions', adj_x: false, adj_y: false },
    },
    fc([0, 10, -1], [11]),
  ];
  return {
    version: 3,
    description: 'test',
    subgraphs: [{ name: 'main', tensors, inputs: [0], outputs: [7, 9, 11], operators }],
    signatures: [],
    metadata: [],
  };
}

const w = (g: Graph, name: string) => g.subgraphs[0]!.tensors.find((t) => t.name === name)!;

describe('quantizeGraph', () => {
  it('dynamic_wi8_afp32: INT8 per-channel weights in place, no DEQUANTIZE, bias and activations float', () => {
    const input = model();
    const { graph, report } = quantizeGraph(input, namedRecipe('dynamic_wi8_afp32'));
    const sg = graph.subgraphs[0]!;
    expect(sg.operators.map((o) => o.op)).toEqual([
      'FULLY_CONNECTED',
      'ADD',
      'FULLY_CONNECTED',
      'BATCH_MATMUL',
      'FULLY_CONNECTED',
    ]);
    const w1 = w(graph, 'w1');
    expect(w1.type).toBe('INT8');
    expect(w1.quantization?.quantized_dimension).toBe(0);
    expect(w1.quantization?.scale?.length).toBe(32);
    expect(w1.quantization?.zero_point).toEqual(new Array(32).fill(0));
    const ref = quantizeWeights(
      new Float32Array(input.subgraphs[0]!.tensors[1]!.data!.slice().buffer),
      [32, 64],
      {
        numBits: 8,
        symmetric: true,
        granularity: 'CHANNELWISE',
        channelDim: 0,
      },
    );
    expect(Array.from(unpackQuantized(w1.data!, 8, 32 * 64))).toEqual(Array.from(ref.q));
    expect(w1.quantization?.scale).toEqual(Array.from(ref.params.scale));
    expect(w(graph, 'b1').type).toBe('FLOAT32');
    expect(w(graph, 'c').type).toBe('FLOAT32'); // ADD is not quantized
    // BMM rhs [32,8] not adj_y: channel dim = rank-1
    expect(w(graph, 'w3').quantization?.quantized_dimension).toBe(1);
    expect(w(graph, 'w3').quantization?.scale?.length).toBe(8);
    // the input graph is untouched
    expect(input.subgraphs[0]!.tensors[1]!.type).toBe('FLOAT32');
    expect(report.summary.quantizedOps).toBe(4);
    expect(report.summary.quantizedByMode.dynamic_range).toBe(4);
    expect(report.skipped).toEqual([
      expect.objectContaining({
        op: 'ADD',
        index: 1,
        scope: 'a;',
        reason: expect.stringMatching(/not found in the policy/),
      }),
    ]);
    expect(report.summary.weightBytesAfter).toBeLessThan(report.summary.weightBytesBefore / 3.9);
  });

  it('weight_only_wi8_afp32: quantized weight + DEQUANTIZE (<name>_dequant) before the first consumer', () => {
    const { graph, report } = quantizeGraph(model(), namedRecipe('weight_only_wi8_afp32'));
    const sg = graph.subgraphs[0]!;
    expect(sg.operators.map((o) => o.op)).toEqual([
      'DEQUANTIZE',
      'FULLY_CONNECTED',
      'ADD',
      'DEQUANTIZE',
      'FULLY_CONNECTED',
      'DEQUANTIZE',
      'BATCH_MATMUL',
      'DEQUANTIZE',
      'FULLY_CONNECTED',
    ]);
    const dq = sg.operators[0]!;
    expect(sg.tensors[dq.inputs[0]!]!.name).toBe('w1');
    expect(sg.tensors[dq.inputs[0]!]!.type).toBe('INT8');
    expect(sg.tensors[dq.outputs[0]!]!).toMatchObject({
      name: 'w1_dequant',
      type: 'FLOAT32',
      shape: [32, 64],
    });
    expect(sg.operators[1]!.inputs).toEqual([0, dq.outputs[0], 2]);
    expect(report.summary.dequantizeOpsAdded).toBe(4);
    // report indices follow the ops to their new positions
    expect(report.quantized.map((r) => r.index)).toEqual([1, 4, 6, 8]);
  });

  it('float16: FLOAT16 weights without quantization params + DEQUANTIZE; BMM is not supported by float_casting', () => {
    const { graph, report } = quantizeGraph(model(), namedRecipe('float16'));
    const w1 = w(graph, 'w1');
    expect(w1.type).toBe('FLOAT16');
    expect(w1.quantization).toBeUndefined();
    expect(w1.data!.byteLength).toBe(32 * 64 * 2);
    expect(w(graph, 'w3').type).toBe('FLOAT32');
    expect(report.skipped.find((s) => s.op === 'BATCH_MATMUL')?.reason).toMatch(
      /unsupported operation BATCH_MATMUL for algorithm float_casting/,
    );
  });

  it('dynamic_wi4b32_afp32: INT4 packed FC weights with an fp16 <name>_scales tensor and BlockwiseQuantization', () => {
    const { graph, report } = quantizeGraph(model(), namedRecipe('dynamic_wi4b32_afp32'));
    const sg = graph.subgraphs[0]!;
    const w1 = w(graph, 'w1');
    expect(w1.type).toBe('INT4');
    expect(w1.data!.byteLength).toBe((32 * 64) / 2);
    const d = w1.quantization?.details;
    expect(d?.type).toBe('BlockwiseQuantization');
    if (d?.type !== 'BlockwiseQuantization') throw new Error('details');
    expect(d.block_size).toBe(32);
    expect(d.zero_points).toBe(-1);
    expect(w1.quantization?.quantized_dimension).toBe(0);
    expect(sg.tensors[d.scales]).toMatchObject({ name: 'w1_scales', type: 'FLOAT16', shape: [32, 2] });
    // BMM is not allowed for blockwise → skipped
    expect(report.skipped.map((s) => s.op).sort()).toEqual(['ADD', 'BATCH_MATMUL']);
  });

  it('regex scopes, no_quantize and min_weight_elements', () => {
    const recipe = [
      ...namedRecipeJson('dynamic_wi8_afp32'),
      { regex: '^y;$', operation: '*', algorithm_key: 'no_quantize' },
    ];
    (recipe[0]!.op_config as Record<string, unknown>).min_weight_elements = 200;
    const { graph, report } = quantizeGraph(model(), recipe);
    expect(w(graph, 'w2').type).toBe('FLOAT32'); // scope "y;" → no_quantize
    expect(w(graph, 'tiny').type).toBe('FLOAT32'); // 128 < 200
    expect(w(graph, 'w1').type).toBe('INT8');
    expect(report.skipped.find((s) => s.scope === 'u;')?.reason).toMatch(
      /128 elements < min_weight_elements 200/,
    );
  });

  it('a weight shared with an op that is not quantized is copied, the float original kept', () => {
    const g = model();
    // the last FC now reads w1 too, but is excluded by regex
    g.subgraphs[0]!.operators[4]!.inputs = [0, 1, -1];
    g.subgraphs[0]!.tensors[11]!.shape = [1, 32];
    const recipe = [
      ...namedRecipeJson('dynamic_wi8_afp32'),
      { regex: 'u;', operation: '*', algorithm_key: 'no_quantize' },
    ];
    const { graph } = quantizeGraph(g, recipe);
    const sg = graph.subgraphs[0]!;
    expect(sg.tensors[sg.operators[4]!.inputs[1]!]!).toMatchObject({ name: 'w1', type: 'FLOAT32' });
    expect(sg.tensors[sg.operators[0]!.inputs[1]!]!).toMatchObject({ name: 'w1_q0', type: 'INT8' });
  });

  it('opScope: output names each followed by ";"', () => {
    const g = model();
    expect(opScope(g.subgraphs[0]!.operators[0]!, g.subgraphs[0]!.tensors)).toBe('h;');
  });

  it('bad recipes raise INVALID_RECIPE before touching the graph', () => {
    expect(() => quantizeGraph(model(), [{ regex: '.*' }])).toThrow(/entry 0 operation/);
  });
});

describe('blockwise zero scales', () => {
  it('warns when an fp16 block scale rounds to 0 (a block of zeros)', () => {
    const g = model();
    const w1 = g.subgraphs[0]!.tensors[1]!;
    const data = new Float32Array(w1.data!.slice().buffer);
    data.fill(0, 0, 32); // first block of row 0
    w1.data = new Uint8Array(data.buffer);
    const { report } = quantizeGraph(g, namedRecipe('dynamic_wi4b32_afp32'));
    expect(report.warnings.join('\n')).toMatch(/w1: 1 blockwise scales round to 0 in fp16/);
    expect(report.quantized[0]!.tensors[0]!.zeroBlockScales).toBe(1);
  });
});
