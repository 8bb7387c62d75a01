import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAudiogenError } from '@audiogen/core';
import { readTflite, writeTflite, writeTfliteFile } from '@audiogen/core/tflite';
import { afterAll, describe, expect, it } from 'vitest';
import { broadcastShapes, GraphBuilder, opReport, transposeArray } from './builder';
import { litertPython, runLitert, writeNpy } from './testing';

const tmp = mkdtempSync(join(tmpdir(), 'audiogen-builder-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function expectError(fn: () => unknown, re: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(isAudiogenError(err, 'INVALID_ARGUMENT')).toBe(true);
  expect((err as Error).message).toMatch(re);
}

describe('GraphBuilder shape inference', () => {
  it('infers FULLY_CONNECTED, BATCH_MATMUL, conv and reduction shapes', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'FLOAT32', [2, 5, 8]);
    expect(b.fullyConnected(x, b.f32('w', [3, 8], new Float32Array(24))).shape).toEqual([10, 3]);
    expect(
      b.fullyConnected(x, b.f32('w', [3, 8], new Float32Array(24)), null, { keepNumDims: true }).shape,
    ).toEqual([2, 5, 3]);
    const k = b.input('k', 'FLOAT32', [1, 7, 8]);
    expect(b.batchMatmul(x, k, { adjY: true }).shape).toEqual([2, 5, 7]);
    const img = b.input('img', 'FLOAT32', [1, 1, 100, 4]);
    const f = b.f32('f', [6, 1, 7, 4], new Float32Array(168));
    expect(b.conv2d(img, f, null, { padding: 'SAME', dilation: [1, 3] }).shape).toEqual([1, 1, 100, 6]);
    expect(b.conv2d(img, f, null, { padding: 'VALID', dilation: [1, 3] }).shape).toEqual([1, 1, 82, 6]);
    expect(
      b.conv2d(img, b.f32('f2', [6, 1, 8, 4], new Float32Array(192)), null, {
        padding: 'SAME',
        stride: [1, 4],
      }).shape,
    ).toEqual([1, 1, 25, 6]);
    const tf = b.f32('tf', [2, 1, 16, 4], new Float32Array(128));
    expect(b.transposeConv(img, tf, null, { stride: [1, 8], padding: 'SAME' }).shape).toEqual([1, 1, 800, 2]);
    expect(b.transposeConv(img, tf, null, { stride: [1, 8], padding: 'VALID' }).shape).toEqual([
      1, 1, 808, 2,
    ]);
    expect(b.mean(x, [-1]).shape).toEqual([2, 5, 1]);
    expect(b.sum(x, [0, 2], false).shape).toEqual([5]);
    expect(b.reshape(x, [-1, 8]).shape).toEqual([10, 8]);
    expect(b.transpose(x, [2, 0, 1]).shape).toEqual([8, 2, 5]);
    expect(b.concat([x, x], 1).shape).toEqual([2, 10, 8]);
    expect(b.slice(x, [0, 1, 0], [-1, 3, 8]).shape).toEqual([2, 3, 8]);
    expect(
      b.pad(x, [
        [0, 0],
        [1, 2],
        [0, 0],
      ]).shape,
    ).toEqual([2, 8, 8]);
    expect(b.add(x, b.f32('c', [8], new Float32Array(8))).shape).toEqual([2, 5, 8]);
    expect(
      b.gather(b.f32('tab', [10, 4], new Float32Array(40)), b.input('ids', 'INT32', [3]), 0).shape,
    ).toEqual([3, 4]);
    expect(broadcastShapes([4, 1, 3], [5, 1])).toEqual([4, 5, 3]);
  });

  it('rejects mismatched operands with typed errors', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'FLOAT32', [2, 8]);
    expectError(
      () => b.fullyConnected(x, b.f32('w', [3, 7], new Float32Array(21))),
      /does not match weights/,
    );
    expectError(() => b.add(x, b.f32('c', [3], new Float32Array(3))), /do not broadcast/);
    expectError(() => b.reshape(x, [3, 5]), /cannot reshape/);
    expectError(() => b.transpose(x, [0, 0]), /not a permutation/);
    expectError(() => b.slice(x, [0, 4], [2, 5]), /out of/);
    expectError(() => b.f32('bad', [2, 2], new Float32Array(3)), /do not fit/);
    expectError(() => b.input('x', 'FLOAT32', [1]), /duplicate input/);
    expectError(() => b.build(), /no outputs/);
  });

  it('folds constant expressions and prunes unused constants', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'FLOAT32', [2, 3]);
    const c = b.f32('c', [3, 2], [1, 2, 3, 4, 5, 6]);
    const ct = b.transpose(c, [1, 0]); // folded: [[1,3,5],[2,4,6]]
    expect([...(b.constValue(ct) as Float32Array)]).toEqual([1, 3, 5, 2, 4, 6]);
    const s = b.mul(b.add(ct, b.scalar(1)), b.scalar(2)); // folded
    expect([...(b.constValue(s) as Float32Array)]).toEqual([4, 8, 12, 6, 10, 14]);
    b.output(b.add(x, s), 'y');
    const g = b.build();
    expect(g.subgraphs[0]!.operators.map((o) => o.op)).toEqual(['ADD']);
    // x, the folded constant, y: intermediate constants were pruned.
    expect(g.subgraphs[0]!.tensors.map((t) => t.name)).toEqual(['x', 'mul_folded', 'y']);
  });

  it('reports ops XNNPACK takes and those that fall back', () => {
    const b = new GraphBuilder();
    const ids = b.input('ids', 'INT64', [4]);
    const e = b.gather(b.f32('tab', [10, 2], new Float32Array(20)), b.cast(ids, 'INT32'));
    b.output(b.logistic(e), 'y');
    const r = opReport(b.build());
    expect(r.builtin).toEqual({ CAST: 1, GATHER: 1 });
    expect(r.xnnpack).toEqual({ LOGISTIC: 1 });
    expect(r.constantBytes).toBe(80);
  });

  it('fuses a RELU that alone consumes an op with a fused-activation field, also through a RESHAPE', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'FLOAT32', [2, 3]);
    const fc = b.fullyConnected(x, b.f32('w', [4, 3], new Float32Array(12)));
    const y = b.relu(b.reshape(fc, [8]));
    const z = b.add(x, x);
    b.output(y, 'y');
    b.output(b.relu(z), 'z');
    b.output(z, 'z_raw'); // z has two consumers: its RELU must stay
    const g = b.build();
    const ops = g.subgraphs[0]!.operators;
    expect(ops.map((o) => o.op)).toEqual(['FULLY_CONNECTED', 'RESHAPE', 'ADD', 'RELU']);
    expect(ops[0]!.options!.fused_activation_function).toBe(1);
    expect(ops[2]!.options!.fused_activation_function).toBe(0);
    const sg = g.subgraphs[0]!;
    expect(sg.tensors[ops[1]!.outputs[0]!]!.name).toBe('y');
  });

  it('stores fp16 weights behind a DEQUANTIZE', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'FLOAT32', [1, 2]);
    b.output(b.fullyConnected(x, b.weight('w', [1, 2], new Float32Array([0.5, -2]), true)), 'y');
    const g = readTflite(writeTflite(b.build()));
    const sg = g.subgraphs[0]!;
    expect(sg.operators.map((o) => o.op)).toEqual(['DEQUANTIZE', 'FULLY_CONNECTED']);
    const w16 = sg.tensors.find((t) => t.type === 'FLOAT16')!;
    expect([...new Uint16Array(w16.data!.slice().buffer)]).toEqual([0x3800, 0xc000]);
  });
});

describe('transposeArray', () => {
  it('permutes a [2,3,2] array like numpy.transpose', () => {
    const a = Float32Array.from({ length: 12 }, (_, i) => i);
    // numpy: np.arange(12).reshape(2,3,2).transpose(2,0,1).ravel()
    expect([...transposeArray(a, [2, 3, 2], [2, 0, 1])]).toEqual([0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11]);
  });
});

// Numerics of the builder's ops under LiteRT, against values computed here by hand/in JS.
const py = litertPython();
describe.skipIf(!py)('ops under LiteRT', () => {
  async function run(b: GraphBuilder, inputs: Record<string, [Float32Array, number[]]>) {
    const dir = mkdtempSync(join(tmp, 'g-'));
    const model = join(dir, 'm.tflite');
    await writeTfliteFile(model, b.build());
    const files: Record<string, string> = {};
    for (const [k, [d, s]] of Object.entries(inputs)) {
      files[k] = join(dir, `${k}.npy`);
      writeNpy(files[k], d, s);
    }
    return runLitert(py!, model, files);
  }
  const close = (a: ArrayLike<number>, b: number[]) => {
    expect(a.length).toBe(b.length);
    for (let i = 0; i < b.length; i++) expect(a[i]!).toBeCloseTo(b[i]!, 5);
  };

  it('FULLY_CONNECTED with bias and RELU, BATCH_MATMUL adjY, SOFTMAX, LayerNorm', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'FLOAT32', [2, 3]);
    const w = b.f32('w', [2, 3], [-1, 0, 1, 0.5, 0.5, 0.5]);
    b.output(b.fullyConnected(x, w, b.f32('b', [2], [0.25, -2]), { activation: 'RELU' }), 'fc');
    b.output(b.batchMatmul(x, x, { adjY: true }), 'gram');
    b.output(b.softmax(x), 'sm');
    b.output(b.layerNorm(x, b.f32('g', [3], [1, 2, 3]), null, 1e-5), 'ln');
    const xv = new Float32Array([1, 2, 3, -1, 0, 4]);
    const o = await run(b, { x: [xv, [2, 3]] });
    close(o.fc!.data as Float32Array, [2.25, 1, 5.25, 0]); // [−1+3+.25, 3−2], [1+4+.25, relu(1.5−2)]
    close(o.gram!.data as Float32Array, [14, 11, 11, 17]);
    const e = (v: number[]) => {
      const s = v.reduce((a, c) => a + Math.exp(c), 0);
      return v.map((c) => Math.exp(c) / s);
    };
    close(o.sm!.data as Float32Array, [...e([1, 2, 3]), ...e([-1, 0, 4])]);
    const ln = (v: number[]) => {
      const m = v.reduce((a, c) => a + c, 0) / v.length;
      const va = v.reduce((a, c) => a + (c - m) ** 2, 0) / v.length;
      return v.map((c, i) => ((c - m) / Math.sqrt(va + 1e-5)) * (i + 1));
    };
    close(o.ln!.data as Float32Array, [...ln([1, 2, 3]), ...ln([-1, 0, 4])]);
  });

  it('1-D conv (dilated, SAME) and transposed conv (stride 2, SAME) in [1,1,W,C] layout', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'FLOAT32', [1, 1, 5, 1]);
    // kernel [1,2,3] with dilation 2, SAME padding 2 each side.
    b.output(
      b.conv2d(x, b.f32('k', [1, 1, 3, 1], [1, 2, 3]), b.f32('b', [1], [0.5]), {
        padding: 'SAME',
        dilation: [1, 2],
      }),
      'conv',
    );
    // PyTorch ConvTranspose1d(k=4, s=2, p=1) with weight [1,1,4] = [1,10,100,1000].
    b.output(
      b.transposeConv(x, b.f32('tk', [1, 1, 4, 1], [1, 10, 100, 1000]), null, {
        stride: [1, 2],
        padding: 'SAME',
      }),
      'tconv',
    );
    const xv = new Float32Array([1, 2, 3, 4, 5]);
    const o = await run(b, { x: [xv, [1, 1, 5, 1]] });
    // y[i] = 1·x[i−2] + 2·x[i] + 3·x[i+2] + 0.5
    const conv = [0, 1, 2, 3, 4].map((i) => (xv[i - 2] ?? 0) + 2 * xv[i]! + 3 * (xv[i + 2] ?? 0) + 0.5);
    close(o.conv!.data as Float32Array, conv);
    // full[j] = Σ x[i]·k[j − 2i]; PyTorch output = full[1 : 1 + 10].
    const full = new Array(12).fill(0);
    for (let i = 0; i < xv.length; i++)
      for (let j = 0; j < 4; j++) full[2 * i + j] += xv[i]! * [1, 10, 100, 1000][j]!;
    close(o.tconv!.data as Float32Array, full.slice(1, 11));
  });
});
