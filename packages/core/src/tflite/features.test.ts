import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { floatToHalf, halfToFloat } from '../tensor';
import type { Graph } from './graph';
import { inspectTflite } from './inspect';
import { readTflite } from './read';
import {
  BuiltinOperator,
  builtinOperatorName,
  dtypeToTensorType,
  OP_OPTIONS_TABLE,
  optionFields,
  tensorTypeToDType,
} from './schema';
import { asFloat32, f32bytes, randomFloats, runLitert } from './testing';
import { writeTflite } from './write';

const dir = mkdtempSync(join(tmpdir(), 'audiogen-features-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('schema tables', () => {
  it('knows every op of the reference table with its code, and each mapped options table exists', () => {
    expect(BuiltinOperator.ADD).toBe(0);
    expect(BuiltinOperator.FULLY_CONNECTED).toBe(9);
    expect(BuiltinOperator.TRANSPOSE_CONV).toBe(67);
    expect(BuiltinOperator.BATCH_MATMUL).toBe(126);
    expect(BuiltinOperator.GELU).toBe(150);
    expect(BuiltinOperator.SIGN).toBe(158);
    expect(BuiltinOperator.STABLEHLO_COMPOSITE).toBe(206);
    expect(builtinOperatorName(127)).toBe('PLACEHOLDER_FOR_GREATER_OP_CODES');
    expect(builtinOperatorName(9999)).toBe('UNKNOWN_9999');
    for (const table of Object.values(OP_OPTIONS_TABLE)) expect(optionFields(table), table).toBeDefined();
    expect(optionFields('Conv2DOptions')?.map((f) => f[0])).toEqual([
      'padding',
      'stride_w',
      'stride_h',
      'fused_activation_function',
      'dilation_w_factor',
      'dilation_h_factor',
      'quantized_bias_type',
    ]);
    expect(optionFields('GeluOptions')?.map((f) => f[0])).toEqual(['approximate']);
    expect(tensorTypeToDType('FLOAT16')).toBe('float16');
    expect(dtypeToTensorType('int64')).toBe('INT64');
    expect(() => tensorTypeToDType('STRING')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
  });
});

describe('quantized and float16 weights in LiteRT', () => {
  // x [2,4] → FC with weights from DEQUANTIZE(int8 per-channel) and DEQUANTIZE(fp16), summed.
  const O = 3;
  const I = 4;
  const q = Int8Array.from({ length: O * I }, (_, i) => ((i * 37) % 255) - 127);
  const scales = [0.01, 0.02, 0.05];
  const w16 = randomFloats(O * I, 9);
  const w16bits = Uint16Array.from(w16, (v) => floatToHalf(v));
  const graph = (): Graph => ({
    version: 3,
    description: '',
    subgraphs: [
      {
        name: 'main',
        tensors: [
          { name: 'x', type: 'FLOAT32', shape: [2, I] },
          {
            name: 'wq',
            type: 'INT8',
            shape: [O, I],
            data: new Uint8Array(q.buffer),
            quantization: { scale: scales, zero_point: [0, 0, 0], quantized_dimension: 0 },
          },
          { name: 'wq_dequant', type: 'FLOAT32', shape: [O, I] },
          { name: 'w16', type: 'FLOAT16', shape: [O, I], data: new Uint8Array(w16bits.buffer) },
          { name: 'w16_dequant', type: 'FLOAT32', shape: [O, I] },
          { name: 'a', type: 'FLOAT32', shape: [2, O] },
          { name: 'b', type: 'FLOAT32', shape: [2, O] },
          { name: 'y', type: 'FLOAT32', shape: [2, O] },
        ],
        inputs: [0],
        outputs: [7],
        operators: [
          { op: 'DEQUANTIZE', builtin_code: 6, version: 5, inputs: [1], outputs: [2] },
          { op: 'DEQUANTIZE', builtin_code: 6, version: 3, inputs: [3], outputs: [4] },
          {
            op: 'FULLY_CONNECTED',
            builtin_code: 9,
            version: 1,
            inputs: [0, 2, -1],
            outputs: [5],
            options: { type: 'FullyConnectedOptions' },
          },
          {
            op: 'FULLY_CONNECTED',
            builtin_code: 9,
            version: 1,
            inputs: [0, 4, -1],
            outputs: [6],
            options: { type: 'FullyConnectedOptions' },
          },
          {
            op: 'ADD',
            builtin_code: 0,
            version: 1,
            inputs: [5, 6],
            outputs: [7],
            options: { type: 'AddOptions' },
          },
        ],
      },
    ],
    signatures: [],
    metadata: [],
  });

  it('per-channel int8 and fp16 constants dequantize as the reference', () => {
    const path = join(dir, 'quant.tflite');
    const bytes = writeTflite(graph());
    writeFileSync(path, bytes);
    const x = randomFloats(2 * I, 3);
    const y = asFloat32(runLitert(path, [{ dtype: 'float32', shape: [2, I], data: x }]).outputs[0]!);
    for (let b = 0; b < 2; b++)
      for (let o = 0; o < O; o++) {
        let s = 0;
        for (let i = 0; i < I; i++) {
          const wq = (q[o * I + i] as number) * (scales[o] as number);
          s += (x[b * I + i] as number) * (wq + halfToFloat(w16bits[o * I + i] as number));
        }
        expect(y[b * O + o]).toBeCloseTo(s, 5);
      }
    const ins = inspectTflite(bytes);
    expect(ins.parameters.byType).toEqual({
      INT8: { count: 12, bytes: 12 },
      FLOAT16: { count: 12, bytes: 24 },
    });
    expect(readTflite(bytes).subgraphs[0]!.tensors[1]!.quantization).toEqual({
      scale: scales.map((v) => Math.fround(v)),
      zero_point: [0, 0, 0],
      quantized_dimension: 0,
    });
  });
});

describe('round trip of rarely used features', () => {
  it('keeps blockwise/multi-axis/custom quantization, sparsity, composites, custom ops, signatures, metadata', () => {
    const g: Graph = {
      version: 3,
      description: 'features',
      subgraphs: [
        {
          name: 'main',
          tensors: [
            { name: 'x', type: 'FLOAT32', shape: [1, 8], shape_signature: [-1, 8] },
            {
              name: 'w4',
              type: 'INT4',
              shape: [4, 8],
              data: new Uint8Array(16).fill(0x21),
              quantization: {
                details: { type: 'BlockwiseQuantization', scales: 2, zero_points: -1, block_size: 4 },
                quantized_dimension: 0,
              },
            },
            { name: 'w4_scales', type: 'FLOAT16', shape: [4, 2], data: new Uint8Array(16) },
            {
              name: 'wm',
              type: 'INT8',
              shape: [2, 2],
              data: new Uint8Array(4),
              quantization: {
                details: {
                  type: 'MultiAxisQuantization',
                  scales: 2,
                  zero_points: 2,
                  block_size: 0,
                  quantized_dimensions: [0, 1],
                },
                quantized_dimension: 0,
              },
            },
            {
              name: 'wc',
              type: 'UINT8',
              shape: [2],
              data: new Uint8Array(2),
              quantization: {
                details: { type: 'CustomQuantization', custom: Uint8Array.of(1, 2, 3) },
                quantized_dimension: 0,
                min: [-1],
                max: [1],
              },
            },
            {
              name: 'sparse',
              type: 'FLOAT32',
              shape: [4, 4],
              data: f32bytes([1, 2]),
              sparsity: {
                traversal_order: [0, 1],
                block_map: [],
                dim_metadata: [
                  { format: 0, dense_size: 4 },
                  {
                    format: 1,
                    dense_size: 0,
                    array_segments: { type: 'Int32Vector', values: [0, 1, 1, 2, 2] },
                    array_indices: { type: 'Uint8Vector', values: [0, 3] },
                  },
                ],
              },
            },
            { name: 'y', type: 'FLOAT32', shape: [1, 8], has_rank: true },
            { name: 'z', type: 'FLOAT32', shape: [1, 8] },
            { name: 'v', type: 'FLOAT32', shape: [1, 8], is_variable: true },
          ],
          inputs: [0],
          outputs: [7],
          operators: [
            {
              op: 'STABLEHLO_COMPOSITE',
              builtin_code: 206,
              version: 1,
              inputs: [0],
              outputs: [6],
              options2: {
                type: 'StableHLOCompositeOptions',
                name: 'odml.rms_norm',
                decomposition_subgraph_index: 1,
                composite_attributes: Uint8Array.of(9, 8, 7),
                composite_attributes_format: 0,
                version: 0,
              },
            },
            {
              op: 'CUSTOM',
              builtin_code: 32,
              custom_code: 'MyOp',
              version: 2,
              inputs: [6, -1],
              outputs: [7],
              custom_options: Uint8Array.of(5, 4),
              mutating_variable_inputs: [false, true],
              intermediates: [8],
            },
          ],
        },
        {
          name: 'decomp',
          tensors: [
            { name: 'a', type: 'FLOAT32', shape: [1, 8] },
            { name: 'b', type: 'FLOAT32', shape: [1, 8] },
          ],
          inputs: [0],
          outputs: [1],
          operators: [
            {
              op: 'RANDOM_STANDARD_NORMAL',
              builtin_code: BuiltinOperator.RANDOM_STANDARD_NORMAL as number,
              version: 1,
              inputs: [0],
              outputs: [1],
              options: { type: 'RandomOptions', seed: 123456789012345n, seed2: -5n },
            },
          ],
        },
      ],
      signatures: [
        {
          signature_key: 'serving_default',
          subgraph_index: 0,
          inputs: [{ name: 'x', tensor_index: 0 }],
          outputs: [{ name: 'out', tensor_index: 7 }],
        },
        {
          signature_key: 'decomp',
          subgraph_index: 1,
          inputs: [{ name: 'a', tensor_index: 0 }],
          outputs: [{ name: 'b', tensor_index: 1 }],
        },
      ],
      metadata: [
        { name: 'min_runtime_version', data: new TextEncoder().encode('1.14.0\0\0\0\0\0\0\0\0\0\0') },
        { name: 'extra', data: Uint8Array.of(1) },
      ],
    };
    const a = readTflite(writeTflite(g));
    expect(a).toEqual(g);
    expect(readTflite(writeTflite(a))).toEqual(a);
    expect(readTflite(writeTflite(a, { bufferOffsets: true }))).toEqual(a);
    const ins = inspectTflite(a);
    expect(ins.ops).toEqual({ 'CUSTOM:MyOp': 1, RANDOM_STANDARD_NORMAL: 1, STABLEHLO_COMPOSITE: 1 });
    expect(ins.inputs[0]!.shape_signature).toEqual([-1, 8]);
    expect(ins.metadata[0]).toEqual({ name: 'min_runtime_version', bytes: 16, text: '1.14.0' });
  });
});

describe('verifier checks on quantization parameters', () => {
  const g = (q: Graph['subgraphs'][0]['tensors'][0]['quantization'], scalesIsInput = false): Graph => ({
    version: 3,
    description: '',
    subgraphs: [
      {
        name: '',
        tensors: [
          { name: 'x', type: 'FLOAT32', shape: [1, 8] },
          { name: 'w', type: 'INT4', shape: [4, 8], data: new Uint8Array(16), quantization: q },
          scalesIsInput
            ? { name: 's', type: 'FLOAT16', shape: [4, 2] }
            : { name: 's', type: 'FLOAT16', shape: [4, 2], data: new Uint8Array(16) },
          { name: 'y', type: 'FLOAT32', shape: [1, 4] },
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
    signatures: [],
    metadata: [],
  });
  const bw = (scales: number, block: number) => ({
    details: { type: 'BlockwiseQuantization' as const, scales, zero_points: -1, block_size: block },
    quantized_dimension: 0,
  });

  it('accepts a consistent blockwise weight and rejects bad scale tensors or block sizes', () => {
    expect(() => readTflite(writeTflite(g(bw(2, 4))))).not.toThrow();
    expect(() => readTflite(writeTflite(g(bw(0, 4))))).toThrow(/must be a float16\/float32 constant/);
    expect(() => readTflite(writeTflite(g(bw(2, 4), true)))).toThrow(/must be a float16\/float32 constant/);
    expect(() => readTflite(writeTflite(g(bw(2, 3))))).toThrow(/does not divide/);
    expect(() => readTflite(writeTflite(g(bw(2, 8))))).toThrow(/do not cover/);
  });

  it('rejects per-channel scales that do not match the quantized dimension', () => {
    expect(() =>
      readTflite(writeTflite(g({ scale: [1, 1, 1, 1], zero_point: [0, 0, 0, 0], quantized_dimension: 0 }))),
    ).not.toThrow();
    expect(() =>
      readTflite(writeTflite(g({ scale: [1, 1, 1], zero_point: [0, 0, 0], quantized_dimension: 0 }))),
    ).toThrow(/3 per-channel scales do not match dimension 0/);
    expect(() =>
      readTflite(writeTflite(g({ scale: [1, 1, 1, 1], zero_point: [0, 0], quantized_dimension: 0 }))),
    ).toThrow(/2 zero points for 4 scales/);
    // Scales without zero points: LiteRT crashed (SIGSEGV) on such a mutant, depending on memory layout.
    expect(() => readTflite(writeTflite(g({ scale: [1, 1, 1, 1], quantized_dimension: 0 })))).toThrow(
      /4 scales but no zero points/,
    );
  });
});
