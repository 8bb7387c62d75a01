// A blockwise int4 FULLY_CONNECTED weight with an all-zero block has an fp16 block scale of 0, which
// XNNPACK refuses at prepare. Loading such a file must give a typed error naming the tensor, and leave
// the process (and the runtime) usable.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAudiogenError, tensor } from '@audiogen/core';
import { writeTflite } from '@audiogen/core/tflite';
import { afterAll, describe, expect, it } from 'vitest';
import { createNativeRuntime, findScaleProblems } from './index';
import { BLOCK, blockwiseInt4Fc, I, NB, O, int4Values as q } from './test-models';

const dir = mkdtempSync(join(tmpdir(), 'audiogen-scales-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const goodScales = Array.from({ length: O * NB }, (_, i) => 0.0625 * (1 + (i % 3)));
const zeroScales = goodScales.map((v, i) => (i === 5 ? 0 : v)); // row 2, block 1: an all-zero block

describe('blockwise int4 weights with a block scale of 0', () => {
  const rt = createNativeRuntime({ threads: 1 });
  const good = join(dir, 'good.tflite');
  const bad = join(dir, 'zero_block.tflite');
  writeFileSync(good, writeTflite(blockwiseInt4Fc(goodScales)));
  writeFileSync(bad, writeTflite(blockwiseInt4Fc(zeroScales)));

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
    const g = blockwiseInt4Fc(goodScales);
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
