import { fileURLToPath } from 'node:url';
import { describeGpu } from '@audiogen/runtime-native';
import { describe, expect, it } from 'vitest';
import { parseAccelerator, placementLines } from './accelerator';
import { runModel } from './run';

const fixture = (n: string) =>
  fileURLToPath(new URL(`../../../runtime-native/fixtures/${n}`, import.meta.url));
const quiet = { input: [], randomInputs: true, seed: 1, fp16: false, repeat: 1, json: true, quiet: true };

describe('--accelerator', () => {
  it('parses one choice or one per stage, and refuses anything else', () => {
    expect(parseAccelerator('auto')).toBe('auto');
    expect(parseAccelerator('dit=gpu, decoder=auto')).toEqual({ dit: 'gpu', decoder: 'auto' });
    expect(() => parseAccelerator('tpu')).toThrow(/--accelerator must be/);
    expect(() => parseAccelerator('vocoder=gpu')).toThrow(/unknown stage 'vocoder'/);
    expect(() => parseAccelerator('dit=fast')).toThrow(/--accelerator dit must be/);
  });

  it('prints each stage with its reason and flags a software GPU', () => {
    const lines = placementLines({
      dit: {
        requested: 'auto',
        accelerator: 'cpu',
        source: 'measured',
        cpuMs: 1,
        gpuMs: 2,
        adapter: 'llvmpipe, arch=software',
      },
      conditioners: { requested: 'auto', accelerator: 'cpu', source: 'fallback', reason: 'CAST int64' },
    });
    expect(lines[0]).toMatch(
      /^dit: CPU \[auto, measured, measured CPU 1\.0 ms \/ GPU 2\.0 ms\] on llvmpipe.*times mean nothing/,
    );
    expect(lines[1]).toBe('conditioners: CPU [auto, fallback: CAST int64]');
  });

  it('audiogen run reports where the model ran: the GPU when there is one, the CPU and why for auto', async () => {
    const gpu = await describeGpu();
    const out: string[] = [];
    const r = await runModel(
      fixture('int64_add.tflite'),
      { ...quiet, accelerator: 'auto' },
      { stdout: (l) => out.push(l), stderr: () => {} },
    );
    expect(r.placement).toMatchObject({ requested: 'auto', accelerator: 'cpu' });
    expect(r.placement.fallback!.reason).toBe(gpu.available ? 'unsupported-ops' : gpu.reason);
    if (!gpu.available) return;
    const g = await runModel(
      fixture('add_fc.tflite'),
      { ...quiet, accelerator: 'gpu', gpuPrecision: 'fp32' },
      { stdout: () => {}, stderr: () => {} },
    );
    expect(g.placement).toMatchObject({ accelerator: 'gpu', precision: 'fp32', fullyAccelerated: true });
  });
});
