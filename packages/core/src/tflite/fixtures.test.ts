import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readNpy } from '../npy';
import { inspectTflite } from './inspect';
import { readTflite, verifyTflite, verifyTfliteFile } from './read';
import { asFloat32, FIXTURES, runLitert } from './testing';
import { writeTflite, writeTfliteFile } from './write';

const dir = mkdtempSync(join(tmpdir(), 'audiogen-fixtures-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Made by packages/core/scripts/make-fixtures.py with litert-torch (Google's PyTorch → LiteRT converter).
const CASES = [
  { name: 'mlp', ops: ['FULLY_CONNECTED', 'GELU', 'SOFTMAX'], input: [4, 16], output: [4, 8] },
  { name: 'conv1d', ops: ['CONV_2D', 'TRANSPOSE_CONV'], input: [1, 2, 64], output: [1, 2, 64] },
  { name: 'attention', ops: ['FULLY_CONNECTED', 'SOFTMAX'], input: [1, 10, 32], output: [1, 10, 32] },
] as const;

describe.each(CASES)('litert-torch fixture $name', ({ name, ops, input, output }) => {
  const path = join(FIXTURES, `${name}.tflite`);
  const bytes = new Uint8Array(readFileSync(path));
  const npy = (k: string) => join(FIXTURES, `${name}.${k}.npy`);

  it('verifies, reads and inspects', () => {
    verifyTflite(bytes);
    verifyTfliteFile(path);
    const g = readTflite(bytes);
    const ins = inspectTflite(g);
    for (const op of ops) expect(ins.ops[op]).toBeGreaterThan(0);
    expect(ins.inputs.map((t) => t.shape)).toEqual([input]);
    expect(ins.outputs.map((t) => t.shape)).toEqual([output]);
    expect(ins.signatures[0]?.key).toBe('serving_default');
    expect(ins.parameters.count).toBeGreaterThan(0);
    expect(ins.parameters.byType.FLOAT32?.bytes).toBe((ins.parameters.byType.FLOAT32?.count ?? 0) * 4);
    // The converter records min_runtime_version in the metadata.
    expect(ins.metadata.map((m) => m.name)).toContain('min_runtime_version');
  });

  it('round-trips read → write → read to an equal graph', () => {
    const a = readTflite(bytes);
    const b = readTflite(writeTflite(a));
    expect(b).toEqual(a);
  });

  it('the rewritten file (inline and offset layouts) gives the same outputs in LiteRT', async () => {
    const g = readTflite(bytes);
    const inline = join(dir, `${name}.inline.tflite`);
    writeFileSync(inline, writeTflite(g));
    const offsets = join(dir, `${name}.offsets.tflite`);
    await writeTfliteFile(offsets, g, { offsetThreshold: 0 });
    const orig = runLitert(path, [{ npy: npy('input0') }], [npy('output0')]);
    // LiteRT on the original reproduces PyTorch.
    expect(orig.max_abs_diff?.[0]).toBeLessThan(1e-4);
    for (const p of [inline, offsets]) {
      const res = runLitert(p, [{ npy: npy('input0') }], [npy('output0')]);
      expect(res.outputs.map((o) => o.shape)).toEqual(orig.outputs.map((o) => o.shape));
      // Same kernels on the same weights: bit-identical outputs.
      expect(Buffer.from(res.outputs[0]!.data).equals(Buffer.from(orig.outputs[0]!.data))).toBe(true);
    }
    // The CompiledModel API (what the native runtime uses) also loads the offset layout.
    const cm = runLitert(offsets, [{ npy: npy('input0') }], undefined, 'compiled');
    const ref = readNpy(new Uint8Array(readFileSync(npy('output0'))));
    expect(cm.outputs[0]!.shape).toEqual([...ref.shape]);
    const got = asFloat32(cm.outputs[0]!);
    const want = ref.data as Float32Array;
    let max = 0;
    for (let i = 0; i < want.length; i++)
      max = Math.max(max, Math.abs((got[i] as number) - (want[i] as number)));
    expect(max).toBeLessThan(1e-4);
  });
});

// AI Edge Quantizer (dynamic-range recipes) applied to the attention fixture by make-fixtures.py.
const QUANTIZED = [
  { name: 'attention_int8', type: 'INT8', blockwise: false },
  { name: 'attention_int4', type: 'INT4', blockwise: false },
  { name: 'attention_int4_block32', type: 'INT4', blockwise: true },
] as const;

describe.each(QUANTIZED)('AI Edge Quantizer fixture $name', ({ name, type, blockwise }) => {
  const path = join(FIXTURES, `${name}.tflite`);
  const bytes = new Uint8Array(readFileSync(path));
  const npy = (k: string) => join(FIXTURES, `attention.${k}.npy`);

  it('reads its quantization parameters, round-trips, and runs bit-identically after a rewrite', () => {
    verifyTflite(bytes);
    const g = readTflite(bytes);
    const weights = g.subgraphs[0]!.tensors.filter((t) => t.type === type && t.data);
    expect(weights.length).toBeGreaterThan(0);
    for (const w of weights) {
      const q = w.quantization!;
      if (blockwise) {
        expect(q.details?.type).toBe('BlockwiseQuantization');
        const det = q.details as { scales: number; block_size: number };
        expect(det.block_size).toBe(32);
        const scales = g.subgraphs[0]!.tensors[det.scales]!;
        // One scale per (output channel, block of 32 inputs).
        expect(scales.shape).toEqual([w.shape[0], (w.shape[1] as number) / 32]);
      } else {
        // Per-channel along the output dimension, symmetric.
        expect(q.quantized_dimension).toBe(0);
        expect(q.scale?.length).toBe(w.shape[0]);
        expect(q.zero_point?.every((z) => z === 0)).toBe(true);
      }
      if (type === 'INT4') expect(w.data!.length).toBe(Math.ceil((w.shape[0]! * w.shape[1]!) / 2));
    }
    const ins = inspectTflite(g);
    expect(ins.parameters.byType[type]!.count).toBeGreaterThan(0);
    expect(readTflite(writeTflite(g))).toEqual(g);
    const out = join(dir, `${name}.rewritten.tflite`);
    writeFileSync(out, writeTflite(g));
    const orig = runLitert(path, [{ npy: npy('input0') }], [npy('output0')]);
    const res = runLitert(out, [{ npy: npy('input0') }], [npy('output0')]);
    expect(Buffer.from(res.outputs[0]!.data).equals(Buffer.from(orig.outputs[0]!.data))).toBe(true);
    // Still close to the float PyTorch output.
    expect(res.max_abs_diff![0]).toBeLessThan(0.2);
  });
});
