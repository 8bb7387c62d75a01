/**
 * Per-component presets on a full-size Stable Audio model folder (random weights from the converter):
 * size of each quantized model and output similarity to the float model on one random sample.
 *   MODELS=path/to/folder npx vitest run --config packages/quantize/vitest.scripts.config.ts scripts/presets
 * Results: .out/presets-results.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { it } from 'vitest';
import { compare } from '../src/compare';
import { quantizeFile } from '../src/model';

const out = resolve(__dirname, '../.out');
const models = resolve(process.env.MODELS ?? join(__dirname, '../../../models/bench-random-small'));

it('applies the Stable Audio presets', async () => {
  if (!existsSync(join(models, 'dit_model.tflite'))) throw new Error(`no model folder at ${models}`);
  mkdirSync(out, { recursive: true });
  const { createNativeRuntime } = await import('@audiogen/runtime-native');
  const rt = createNativeRuntime();
  const cases: [string, string][] = [
    ['autoencoder_model.tflite', 'sao-decoder-fp16'],
    ['autoencoder_model.tflite', 'sao-decoder-int8'],
    ['conditioners.tflite', 'sao-t5-int8'],
    ['conditioners.tflite', 'sao-t5-dynamic-int8'],
    ['dit_model.tflite', 'sao-dit-int4'],
  ];
  const only = process.env.ONLY;
  for (const [file, recipe] of cases.filter(([, r]) => !only || r === only)) {
    const dst = join(out, `${file.replace('.tflite', '')}.${recipe}.tflite`);
    const t0 = performance.now();
    const r = await quantizeFile(join(models, file), dst, recipe);
    const seconds = (performance.now() - t0) / 1000;
    const cmp = await compare(
      new Uint8Array(readFileSync(join(models, file))),
      new Uint8Array(readFileSync(dst)),
      'random',
      rt,
      {
        intermediates: false,
        constants: false,
        threads: 2,
        metrics: ['cosine_similarity', 'snr', 'mse'],
      },
    );
    const sig = Object.values(cmp).find((v) => typeof v === 'object') as {
      output_tensors: Record<string, Record<string, number>>;
    };
    const entry = {
      file,
      recipe,
      floatMB: r.floatBytes / 1e6,
      quantMB: r.quantizedBytes / 1e6,
      sizeRatio: r.sizeRatio,
      seconds,
      quantizedOps: r.summary.quantizedOps,
      outputs: sig.output_tensors,
    };
    console.log(JSON.stringify(entry));
    const prev = existsSync(join(out, 'presets-results.json'))
      ? JSON.parse(readFileSync(join(out, 'presets-results.json'), 'utf8'))
      : [];
    const merged = [
      ...prev.filter((p: { file: string; recipe: string }) => !(p.file === file && p.recipe === recipe)),
      entry,
    ];
    writeFileSync(join(out, 'presets-results.json'), JSON.stringify(merged, null, 1));
  }
});
