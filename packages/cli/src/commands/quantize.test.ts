import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTflite } from '@audiogen/core/tflite';
import { afterAll, describe, expect, it } from 'vitest';
import { runQuantize } from './quantize';

const fixture = (n: string) => fileURLToPath(new URL(`../../../core/fixtures/${n}.tflite`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'audiogen-quantize-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function nativeAvailable(): Promise<boolean> {
  try {
    const rt = await import('@audiogen/runtime-native');
    const m = await rt.createNativeRuntime().load(fixture('mlp'));
    m.dispose();
    return true;
  } catch {
    return false;
  }
}
const hasRuntime = await nativeAvailable();

describe('audiogen quantize', () => {
  it('quantizes the litert-torch MLP with a named recipe and writes a loadable INT8 model', async () => {
    const out = join(dir, 'mlp.int8.tflite');
    const lines: string[] = [];
    const res = await runQuantize(
      fixture('mlp'),
      { out, recipe: 'dynamic_wi8_afp32', report: join(dir, 'r.json') },
      { stdout: (t) => lines.push(t), stderr: () => {} },
    );
    expect(res?.report.summary.quantizedOps).toBe(3);
    const g = readTflite(new Uint8Array(readFileSync(out)));
    expect(g.subgraphs[0]!.tensors.filter((t) => t.type === 'INT8').length).toBe(3);
    expect(lines[0]).toMatch(/wrote .*mlp\.int8\.tflite/);
    const report = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
    expect(report.quantization.summary.quantizedOps).toBe(3);
  });

  it('accepts an AEQ recipe file and rejects bad input with typed errors', async () => {
    const recipe = join(dir, 'recipe.json');
    writeFileSync(
      recipe,
      JSON.stringify([
        {
          regex: '.*',
          operation: 'FULLY_CONNECTED',
          algorithm_key: 'float_casting',
          op_config: {
            weight_tensor_config: { num_bits: 16, dtype: 'FLOAT' },
            compute_precision: 'FLOAT',
            explicit_dequantize: true,
          },
        },
      ]),
    );
    const res = await runQuantize(
      fixture('mlp'),
      { out: join(dir, 'fp16.tflite'), recipe },
      { stdout: () => {}, stderr: () => {} },
    );
    expect(res?.report.summary.quantizedByMode.float16).toBe(3);
    await expect(
      runQuantize(fixture('mlp'), { out: join(dir, 'x.tflite'), recipe: 'nope' }),
    ).rejects.toMatchObject({ code: 'INVALID_RECIPE' });
    writeFileSync(recipe, '[{"regex": ".*", "operation": "*", "algorithm_key": "GPTQ", "op_config": {}}]');
    await expect(runQuantize(fixture('mlp'), { out: join(dir, 'x.tflite'), recipe })).rejects.toMatchObject({
      code: 'UNSUPPORTED',
    });
    await expect(runQuantize(fixture('mlp'), { recipe: 'float16' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it.skipIf(!hasRuntime)('compares with the float model and writes the overlay and the chart', async () => {
    const overlay = join(dir, 'overlay.json');
    const chart = join(dir, 'chart.html');
    const res = await runQuantize(
      fixture('mlp'),
      { out: join(dir, 'mlp2.tflite'), recipe: 'dynamic_wi8_afp32', overlay, chart, inputs: 'random' },
      { stdout: () => {}, stderr: () => {} },
    );
    const o = JSON.parse(readFileSync(overlay, 'utf8'));
    expect(Object.keys(o.results).length).toBeGreaterThan(3);
    expect(o.thresholds.length).toBe(7);
    expect(readFileSync(chart, 'utf8')).toContain('<svg');
    const sig = Object.entries(res!.comparison!).find(([, v]) => typeof v === 'object')![1] as {
      output_tensors: Record<string, Record<string, number>>;
    };
    for (const m of Object.values(sig.output_tensors)) expect(m.cosine_similarity).toBeGreaterThan(0.99);
  });
});

describe('audiogen quantize <folder> --preset fast --compare', () => {
  it('writes the int8 variants beside the float files, the per-layer table, overlay and chart', async () => {
    const { writeRandomStableAudioFolder } = await import('@audiogen/convert');
    const folder = join(dir, 'tiny');
    await writeRandomStableAudioFolder({ out: folder, tiny: true, seed: 2, encoder: false });
    const out: string[] = [];
    await runQuantize(
      folder,
      { preset: 'fast', compare: true, threads: '1' },
      { stdout: (t) => out.push(t), stderr: () => {} },
    );
    const text = out.join('\n');
    expect(text).toMatch(/dit_model\.tflite → dit_model\.int8\.tflite \(sao-dit-int8\): .* ops int8/);
    expect(text).toMatch(/autoencoder_model\.tflite → autoencoder_model\.int8\.tflite \(sao-decoder-fast\)/);
    expect(text).toMatch(
      /autoencoder_model\.int8\.tflite vs autoencoder_model\.tflite: output SNR [\d.]+ dB, cosine 0\.9/,
    );
    // One row per conv / transposed conv of the decoder (32 + 5), most harmful first.
    const rows = out.filter((l) => /^\s+\d+\s+layers\./.test(l));
    expect(rows.length).toBe(37);
    // The preset keeps its four measured layers float (the last conv first among them).
    expect(
      rows
        .filter((l) => l.endsWith('float'))
        .map((l) => l.trim().split(/\s+/)[1])
        .sort(),
    ).toEqual([
      'layers.5.layers.1/transpose_conv',
      'layers.5.layers.2.layers.3/conv_2d',
      'layers.5.layers.4.layers.3/conv_2d',
      'layers.7/conv_2d',
    ]);
    const snr = rows.map((l) => Number(l.trim().split(/\s+/)[3]));
    expect(snr).toEqual([...snr].sort((a, b) => a - b));
    const overlay = JSON.parse(readFileSync(join(folder, 'autoencoder_model.int8.overlay.json'), 'utf8'));
    expect(Object.keys(overlay.results).length).toBe(37);
    expect(readFileSync(join(folder, 'autoencoder_model.int8.chart.html'), 'utf8')).toContain('<svg');
    // Run again: the variants are up to date and kept.
    const again: string[] = [];
    await runQuantize(folder, { preset: 'fast' }, { stdout: (t) => again.push(t), stderr: () => {} });
    expect(again).toEqual([
      'dit_model.tflite → dit_model.int8.tflite (sao-dit-int8): up-to-date',
      'autoencoder_model.tflite → autoencoder_model.int8.tflite (sao-decoder-fast): up-to-date',
    ]);
    await expect(runQuantize(folder, { preset: 'default' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});
