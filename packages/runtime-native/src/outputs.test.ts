// Caller-owned outputs (run options `outputs`): written in place, returned as the result, reusable in a
// loop with no allocation per run; wrong names, dtypes or sizes are typed errors that write nothing.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isAudiogenError, tensor } from '@audiogen/core';
import { maxAbsDiff } from '@audiogen/core/test';
import { afterAll, describe, expect, it } from 'vitest';
import { createNativeRuntime, type NativeModel } from './index';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
// outputs of the official Python LiteRT runtime on the same file (scripts/make_models.py)
const REF = JSON.parse(readFileSync(fixture('reference.json'), 'utf8')).add_fc as {
  inputs: Record<string, { shape: number[]; data: number[] }>;
  outputs: Record<string, { shape: number[]; data: number[] }>;
};
const f32 = (e: { shape: number[]; data: number[] }) => tensor('float32', e.shape, Float32Array.from(e.data));

const rt = createNativeRuntime({ threads: 1 });
let model: NativeModel;
afterAll(() => model?.dispose());
const inputs = () => ({ x: f32(REF.inputs.x!), y: f32(REF.inputs.y!) });

describe('run options: caller-owned outputs', () => {
  it('writes into the given tensor, returns it, and allocates the outputs not given', async () => {
    model = await rt.load(fixture('add_fc.tflite'));
    const z = tensor('float32', [1, 3], new Float32Array(3).fill(Number.NaN));
    const out = await model.run(inputs(), { outputs: { z } });
    expect(out.z).toBe(z);
    expect(maxAbsDiff(z.data as Float32Array, REF.outputs.z!.data)).toBeLessThan(1e-6);
    expect(Array.from(out.x2!.data as Float32Array)).toEqual([2.25, 4, 0.0625, 9]);
  });

  it('reuses the same arrays across runs (a view into a larger buffer works too)', async () => {
    const backing = new Float32Array(16).fill(-1);
    const z = tensor('float32', [1, 3], backing.subarray(5, 8));
    const x2 = tensor('float32', [1, 4], new Float32Array(4));
    for (let i = 0; i < 3; i++) {
      const out = await model.run(inputs(), { outputs: { z, x2 } });
      expect(out.z!.data).toBe(z.data);
      expect(out.x2!.data).toBe(x2.data);
    }
    expect(maxAbsDiff(z.data as Float32Array, REF.outputs.z!.data)).toBeLessThan(1e-6);
    expect(Array.from(backing.subarray(0, 5))).toEqual([-1, -1, -1, -1, -1]); // nothing outside the view
    expect(Array.from(backing.subarray(8))).toEqual(new Array(8).fill(-1));
  });

  it('rejects unknown names, wrong dtypes and wrong sizes without writing', async () => {
    const code = async (outputs: Record<string, unknown>) => {
      try {
        await model.run(inputs(), { outputs: outputs as never });
      } catch (e) {
        return isAudiogenError(e) ? e.code : String(e);
      }
      return 'ok';
    };
    expect(await code({ nope: tensor('float32', [1, 3]) })).toBe('INVALID_ARGUMENT');
    expect(await code({ z: tensor('int32', [1, 3]) })).toBe('INVALID_ARGUMENT');
    expect(await code({ z: { dtype: 'float32', shape: [1, 3], data: new Float32Array(2) } })).toBe(
      'INVALID_ARGUMENT',
    );
    // consistent tensor, wrong size for this output: the addon refuses before copying
    const big = tensor('float32', [1, 5], new Float32Array(5).fill(7));
    expect(await code({ z: big })).toBe('INVALID_ARGUMENT');
    expect(Array.from(big.data as Float32Array)).toEqual([7, 7, 7, 7, 7]);
    // same byte size, other shape: written, then reported
    expect(await code({ z: tensor('float32', [3, 1]) })).toBe('INVALID_ARGUMENT');
    // the model still runs
    const out = await model.run(inputs());
    expect(maxAbsDiff(out.z!.data as Float32Array, REF.outputs.z!.data)).toBeLessThan(1e-6);
  });
});
