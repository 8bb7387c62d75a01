import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Graph } from './graph';
import { readTflite, readTfliteStructure, verifyTflite, verifyTfliteFile } from './read';
import { BuiltinOperator } from './schema';
import { asFloat32, f32bytes, i32bytes, randomFloats, runLitert } from './testing';
import { writeTflite, writeTfliteAppendix, writeTfliteFile } from './write';

const dir = mkdtempSync(join(tmpdir(), 'audiogen-tflite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// x [1,4,4,2] → CONV_2D (3x3, SAME, 3 filters) → y [1,4,4,3]
//   → FULLY_CONNECTED (W [5,3], b [5], keep_num_dims) → z [1,4,4,5]
//   → ADD (c [5], fused RELU) → out [1,4,4,5]; also TRANSPOSE of out with perm [0,3,1,2] → outT.
const H = 4;
const W = 4;
const CI = 2;
const CO = 3;
const FO = 5;
const filter = randomFloats(CO * 3 * 3 * CI, 1);
const convBias = randomFloats(CO, 2);
const fcW = randomFloats(FO * CO, 3);
const fcB = randomFloats(FO, 4);
const addC = randomFloats(FO, 5);

function makeGraph(): Graph {
  const perm = i32bytes([0, 3, 1, 2]);
  return {
    version: 3,
    description: 'audiogen writer test',
    subgraphs: [
      {
        name: 'main',
        tensors: [
          { name: 'x', type: 'FLOAT32', shape: [1, H, W, CI] },
          { name: 'filter', type: 'FLOAT32', shape: [CO, 3, 3, CI], data: f32bytes(filter) },
          { name: 'conv_bias', type: 'FLOAT32', shape: [CO], data: f32bytes(convBias) },
          { name: 'y', type: 'FLOAT32', shape: [1, H, W, CO] },
          { name: 'fc_w', type: 'FLOAT32', shape: [FO, CO], data: f32bytes(fcW) },
          { name: 'fc_b', type: 'FLOAT32', shape: [FO], data: f32bytes(fcB) },
          { name: 'z', type: 'FLOAT32', shape: [1, H, W, FO] },
          { name: 'c', type: 'FLOAT32', shape: [FO], data: f32bytes(addC) },
          { name: 'out', type: 'FLOAT32', shape: [1, H, W, FO] },
          { name: 'perm', type: 'INT32', shape: [4], data: perm },
          { name: 'outT', type: 'FLOAT32', shape: [1, FO, H, W] },
        ],
        inputs: [0],
        outputs: [8, 10],
        operators: [
          {
            op: 'CONV_2D',
            builtin_code: BuiltinOperator.CONV_2D as number,
            version: 1,
            inputs: [0, 1, 2],
            outputs: [3],
            options: {
              type: 'Conv2DOptions',
              padding: 0,
              stride_w: 1,
              stride_h: 1,
              fused_activation_function: 0,
              dilation_w_factor: 1,
              dilation_h_factor: 1,
            },
          },
          {
            op: 'FULLY_CONNECTED',
            builtin_code: 9,
            version: 1,
            inputs: [3, 4, 5],
            outputs: [6],
            options: { type: 'FullyConnectedOptions', keep_num_dims: true },
          },
          {
            op: 'ADD',
            builtin_code: 0,
            version: 1,
            inputs: [6, 7],
            outputs: [8],
            options: { type: 'AddOptions', fused_activation_function: 1 },
          },
          // No options given (TransposeOptions is empty, so none is needed).
          { op: 'TRANSPOSE', builtin_code: 39, version: 1, inputs: [8, 9], outputs: [10] },
        ],
      },
    ],
    signatures: [
      {
        signature_key: 'serving_default',
        subgraph_index: 0,
        inputs: [{ name: 'x', tensor_index: 0 }],
        outputs: [
          { name: 'out', tensor_index: 8 },
          { name: 'out_t', tensor_index: 10 },
        ],
      },
    ],
    metadata: [],
  };
}

/** Reference computed in plain TS (float64 accumulation). */
function reference(x: Float32Array): { out: Float32Array; outT: Float32Array } {
  const y = new Float64Array(H * W * CO);
  for (let i = 0; i < H; i++)
    for (let j = 0; j < W; j++)
      for (let o = 0; o < CO; o++) {
        let s = convBias[o] as number;
        for (let di = 0; di < 3; di++)
          for (let dj = 0; dj < 3; dj++) {
            const ii = i + di - 1;
            const jj = j + dj - 1;
            if (ii < 0 || ii >= H || jj < 0 || jj >= W) continue;
            for (let c = 0; c < CI; c++) {
              s +=
                (filter[((o * 3 + di) * 3 + dj) * CI + c] as number) * (x[(ii * W + jj) * CI + c] as number);
            }
          }
        y[(i * W + j) * CO + o] = s;
      }
  const out = new Float32Array(H * W * FO);
  const outT = new Float32Array(H * W * FO);
  for (let p = 0; p < H * W; p++)
    for (let o = 0; o < FO; o++) {
      let s = fcB[o] as number;
      for (let c = 0; c < CO; c++) s += (fcW[o * CO + c] as number) * (y[p * CO + c] as number);
      const v = Math.max(0, s + (addC[o] as number));
      out[p * FO + o] = v;
      outT[o * H * W + p] = v;
    }
  return { out, outT };
}

function expectClose(a: Float32Array, b: Float32Array, tol = 1e-5) {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  expect(max).toBeLessThan(tol);
}

describe('writeTflite', () => {
  it('writes a model that LiteRT loads and runs with the reference outputs', () => {
    const bytes = writeTflite(makeGraph());
    verifyTflite(bytes);
    const path = join(dir, 'small.tflite');
    writeFileSync(path, bytes);
    const x = randomFloats(H * W * CI, 42);
    const res = runLitert(path, [{ dtype: 'float32', shape: [1, H, W, CI], data: x }]);
    const ref = reference(x);
    expect(res.outputs.map((o) => o.shape)).toEqual([
      [1, H, W, FO],
      [1, FO, H, W],
    ]);
    expectClose(asFloat32(res.outputs[0]!), ref.out);
    expectClose(asFloat32(res.outputs[1]!), ref.outT);
  });

  it('lays out the file as the converter does', () => {
    const g = makeGraph();
    const bytes = writeTflite(g);
    expect(String.fromCharCode(...bytes.subarray(4, 8))).toBe('TFL3');
    const back = readTflite(bytes);
    expect(back.version).toBe(3);
    // TRANSPOSE's options table is empty, so a missing table is equivalent and none is added.
    expect(back.subgraphs[0]!.operators[3]!.options).toBeUndefined();
    // Conv options keep the values given; omitted FC options read as schema defaults.
    expect(back.subgraphs[0]!.operators[1]!.options).toMatchObject({
      type: 'FullyConnectedOptions',
      keep_num_dims: true,
      fused_activation_function: 0,
    });
    // An op without options whose table has non-zero defaults gets a table of defaults, because
    // the runtime reads a missing table as zeros.
    const g2 = makeGraph();
    delete g2.subgraphs[0]!.operators[2]!.options;
    expect(readTflite(writeTflite(g2)).subgraphs[0]!.operators[2]!.options).toEqual({
      type: 'AddOptions',
      fused_activation_function: 0,
      pot_scale_int16: true,
    });
    // Constant data are 16-byte aligned in the file.
    for (const t of back.subgraphs[0]!.tensors) {
      if (t.data) expect((t.data.byteOffset - bytes.byteOffset) % 16).toBe(0);
    }
  });

  it('dedupes buffers by identity and round-trips read → write → read', () => {
    const g = makeGraph();
    const shared = f32bytes([1, 2, 3, 4, 5]);
    g.subgraphs[0]!.tensors[5]!.data = shared;
    g.subgraphs[0]!.tensors[7]!.data = shared;
    const a = readTflite(writeTflite(g));
    const ts = a.subgraphs[0]!.tensors;
    expect(ts[5]!.data).toBe(ts[7]!.data);
    const bytes2 = writeTflite(a);
    const b = readTflite(bytes2);
    expect(b).toEqual(a);
    expect(b.subgraphs[0]!.tensors[5]!.data).toBe(b.subgraphs[0]!.tensors[7]!.data);
  });

  it('writes opcodes above 127 with the placeholder deprecated code', () => {
    const g: Graph = {
      version: 3,
      description: '',
      subgraphs: [
        {
          name: '',
          tensors: [
            { name: 'a', type: 'FLOAT32', shape: [2] },
            { name: 'b', type: 'FLOAT32', shape: [2] },
          ],
          inputs: [0],
          outputs: [1],
          operators: [
            {
              op: 'GELU',
              builtin_code: 150,
              version: 1,
              inputs: [0],
              outputs: [1],
              options: { type: 'GeluOptions' },
            },
          ],
        },
      ],
      signatures: [],
      metadata: [],
    };
    const bytes = writeTflite(g);
    const back = readTflite(bytes);
    expect(back.subgraphs[0]!.operators[0]!.op).toBe('GELU');
    expect(back.subgraphs[0]!.operators[0]!.builtin_code).toBe(150);
    const path = join(dir, 'gelu.tflite');
    writeFileSync(path, bytes);
    const res = runLitert(path, [{ dtype: 'float32', shape: [2], data: Float32Array.from([-1, 2]) }]);
    const out = asFloat32(res.outputs[0]!);
    const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
    expect(out[0]).toBeCloseTo(gelu(-1), 5);
    expect(out[1]).toBeCloseTo(gelu(2), 5);
  });

  it('writes the Buffer.offset/size layout to a file that LiteRT runs', async () => {
    const path = join(dir, 'offsets.tflite');
    await writeTfliteFile(path, makeGraph(), { offsetThreshold: 0 });
    const bytes = new Uint8Array(readFileSync(path));
    verifyTfliteFile(path);
    const g = readTflite(bytes);
    // Data live after the flatbuffer, 16-byte aligned, and the file ends with 16 bytes of padding.
    for (const t of g.subgraphs[0]!.tensors)
      if (t.data) expect((t.data.byteOffset - bytes.byteOffset) % 16).toBe(0);
    expect(Array.from(bytes.subarray(bytes.length - 16))).toEqual(new Array(16).fill(0));
    const inline = readTflite(writeTflite(makeGraph()));
    expect(g).toEqual(inline);
    const x = randomFloats(H * W * CI, 7);
    const res = runLitert(path, [{ dtype: 'float32', shape: [1, H, W, CI], data: x }]);
    expectClose(asFloat32(res.outputs[0]!), reference(x).out);
  });

  it('appends rewritten tables to a file whose constants stay in place, and LiteRT runs the result', () => {
    const path = join(dir, 'appendix.tflite');
    const original = writeTflite(makeGraph());
    writeFileSync(path, original);
    const { graph, layout } = readTfliteStructure(path);
    // One constant replaced by new bytes (placed after the tables, 64-aligned); the rest referenced.
    const sg = graph.subgraphs[0]!;
    const bias = sg.tensors.findIndex((t) => t.name === 'conv_bias');
    sg.tensors[bias] = { ...sg.tensors[bias]!, data: f32bytes(convBias) };
    const ref = (si: number, ti: number) => {
      const b = layout.tensorBuffers[si]![ti]!;
      const size = layout.bufferSizes[b]!;
      return size > 0 ? { offset: layout.bufferOffsets[b]!, size } : undefined;
    };
    const a = writeTfliteAppendix(graph, ref, original.length);
    expect(a.at % 64).toBe(0);
    expect(a.at).toBeGreaterThanOrEqual(original.length);
    const bytes = new Uint8Array(a.at + a.bytes.length);
    bytes.set(original);
    bytes.set(a.bytes, a.at);
    new DataView(bytes.buffer).setUint32(0, a.root, true);
    writeFileSync(path, bytes);
    verifyTfliteFile(path);
    const g = readTflite(bytes);
    expect(g).toEqual(readTflite(original)); // the same model
    const t = g.subgraphs[0]!.tensors;
    expect(t[bias]!.data!.byteOffset).toBeGreaterThan(a.at);
    expect(t[bias]!.data!.byteOffset % 64).toBe(0);
    const filterAt = t.find((x) => x.name === 'filter')!.data!.byteOffset;
    expect(filterAt).toBeLessThan(original.length); // referenced where it was written
    const x = randomFloats(H * W * CI, 8);
    const res = runLitert(path, [{ dtype: 'float32', shape: [1, H, W, CI], data: x }]);
    expectClose(asFloat32(res.outputs[0]!), reference(x).out);
    expectClose(asFloat32(res.outputs[1]!), reference(x).outT);
  });

  it('rejects invalid graphs with INVALID_ARGUMENT', () => {
    const g = makeGraph();
    g.subgraphs[0]!.operators[0]!.inputs = [0, 1, 99];
    expect(() => writeTflite(g)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const g2 = makeGraph();
    g2.subgraphs[0]!.tensors[1]!.data = new Uint8Array(3);
    expect(() => writeTflite(g2)).toThrow(/needs 216/);
    const g3 = makeGraph();
    (g3.subgraphs[0]!.operators[1]!.options as Record<string, unknown>).keep_dims = true;
    expect(() => writeTflite(g3)).toThrow(/has no field keep_dims/);
  });
});

/** Abramowitz–Stegun 7.1.26 is too coarse; use a series/continued fraction accurate to ~1e-12. */
function erf(x: number): number {
  const t = Math.abs(x);
  let sum = t;
  let term = t;
  for (let n = 1; n < 100; n++) {
    term *= (-t * t) / n;
    sum += term / (2 * n + 1);
  }
  const r = (2 / Math.sqrt(Math.PI)) * sum;
  return x < 0 ? -r : r;
}
