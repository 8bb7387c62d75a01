// A blockwise int4 FULLY_CONNECTED weight with an all-zero block has an fp16 block scale of 0, which
// XNNPACK refuses at prepare. Loading such a file must give a typed error naming the tensor, and leave
// the process (and the runtime) usable.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { floatToHalf, isAudiogenError, tensor } from '@audiogen/core';
import { type Graph, writeTflite } from '@audiogen/core/tflite';
import { afterAll, describe, expect, it } from 'vitest';
import { createNativeRuntime, findScaleProblems } from './index';

const dir = mkdtempSync(join(tmpdir(), 'audiogen-scales-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const O = 8;
const I = 64;
const BLOCK = 32;
const NB = I / BLOCK;
const q = new Int8Array(O * I).map((_, i) => ((i * 7 + 3) % 15) - 7); // int4 values in [-7, 7]
const packed = new Uint8Array((O * I) / 2).map((_, k) => (q[2 * k]! & 0xf) | ((q[2 * k + 1]! & 0xf) << 4));

/** x [1,64] → FC(w: int4 [8,64], blockwise 32, fp16 scales [8,2]) → y [1,8]. */
function fcModel(scales: number[]): Graph {
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

const goodScales = Array.from({ length: O * NB }, (_, i) => 0.0625 * (1 + (i % 3)));
const zeroScales = goodScales.map((v, i) => (i === 5 ? 0 : v)); // row 2, block 1: an all-zero block

describe('blockwise int4 weights with a block scale of 0', () => {
  const rt = createNativeRuntime({ threads: 1 });
  const good = join(dir, 'good.tflite');
  const bad = join(dir, 'zero_block.tflite');
  writeFileSync(good, writeTflite(fcModel(goodScales)));
  writeFileSync(bad, writeTflite(fcModel(zeroScales)));

  it('load gives UNSUPPORTED naming the tensor (path and bytes), and the runtime stays usable', async () => {
    for (const source of [bad, new Uint8Array(readFileSync(bad))]) {
      let err: unknown;
      try {
        await rt.load(source);
      } catch (e) {
        err = e;
      }
      expect(isAudiogenError(err, 'UNSUPPORTED'), String(err)).toBe(true);
      const e = err as Error & { details: { scaleProblems: unknown[] } };
      expect(e.message).toMatch(/'fc\/w' \(subgraph 0 tensor 1: 1 are 0 of 16 blockwise scales\)/);
      expect(e.message).toMatch(/XNNPACK refuses/);
      expect(e.details.scaleProblems).toEqual([
        { subgraph: 0, tensor: 1, name: 'fc/w', kind: 'blockwise', zero: 1, invalid: 0, total: 16 },
      ]);
    }
    // The same weights with non-zero scales load and run, with the dequantized result.
    const m = await rt.load(good);
    const x = Float32Array.from({ length: I }, (_, i) => Math.sin(i));
    const y = (await m.run({ x: tensor('float32', [1, I], x) })).y!.data as Float32Array;
    for (let o = 0; o < O; o++) {
      let ref = 0;
      for (let i = 0; i < I; i++) ref += x[i]! * q[o * I + i]! * goodScales[o * NB + Math.floor(i / BLOCK)]!;
      expect(Math.abs(y[o]! - ref)).toBeLessThan(0.05 * (1 + Math.abs(ref)));
    }
    m.dispose();
  });

  it('findScaleProblems reports zero, negative and non-finite scales of constants only', () => {
    const g = fcModel(goodScales);
    const f32 = (a: number[]) => new Uint8Array(Float32Array.from(a).buffer);
    const st = g.subgraphs[0]!.tensors[2]!;
    st.type = 'FLOAT32';
    st.data = f32(goodScales.map((v, i) => (i === 0 ? Number.NaN : i === 1 ? -1 : i === 2 ? 0 : v)));
    const data = (si: number, ti: number) => g.subgraphs[si]?.tensors[ti]?.data;
    const isConst = (si: number, ti: number) => data(si, ti) !== undefined;
    expect(findScaleProblems(g, isConst, data)).toEqual([
      { subgraph: 0, tensor: 1, name: 'fc/w', kind: 'blockwise', zero: 1, invalid: 2, total: 16 },
    ]);
    // Per-channel scales from the tables.
    const w = g.subgraphs[0]!.tensors[1]!;
    w.type = 'INT8';
    w.quantization = {
      scale: [1, 0, 1, 1, Number.POSITIVE_INFINITY, 1, 1, 1],
      zero_point: new Array(8).fill(0),
    };
    expect(findScaleProblems(g, isConst, data)).toEqual([
      { subgraph: 0, tensor: 1, name: 'fc/w', kind: 'per-channel', zero: 1, invalid: 1, total: 8 },
    ]);
    expect(findScaleProblems(g, () => false, data)).toEqual([]); // activations are not checked
  });
});
