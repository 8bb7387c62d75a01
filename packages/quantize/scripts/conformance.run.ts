/**
 * Conformance with AI Edge Quantizer (dev-time; needs .venv-aeq from scripts/setup-aeq.sh):
 *   npm run conformance -w @audiogen/quantize
 * Builds the test models (+ the runtime's fixtures, + the converter's tiny Stable Audio models when
 * the converter is available), quantizes each with our code and with AEQ using the same recipe JSON,
 * compares weights/scales bit for bit and runs both in LiteRT. UPDATE_FIXTURES=1 also refreshes the
 * small committed AEQ outputs in fixtures/aeq/ used by the CI test.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeTflite } from '@audiogen/core/tflite';
import { expect, it } from 'vitest';
import { quantizeModel } from '../src/model';
import { namedRecipeJson } from '../src/recipes';
import { TEST_MODELS } from '../src/test-models';

const root = resolve(__dirname, '../../..');
const dir = resolve(__dirname, '../.conformance');
const fixtures = resolve(__dirname, '../fixtures/aeq');
const python = join(root, '.venv-aeq/bin/python');

const RECIPES = [
  'dynamic_wi8_afp32',
  'weight_only_wi8_afp32',
  'dynamic_wi4_afp32',
  'dynamic_wi4b32_afp32',
  'float16',
  'dynamic_wi8_afp32_tensorwise',
  'weight_only_wi4_afp32',
];
// An asymmetric weight-only recipe (AEQ's default_af32w8float layout).
const EXTRA: Record<string, unknown[]> = {
  weight_only_asym_wi8: [
    {
      regex: '.*',
      operation: '*',
      algorithm_key: 'min_max_uniform_quantize',
      op_config: {
        weight_tensor_config: { num_bits: 8, symmetric: false, granularity: 'CHANNELWISE', dtype: 'INT' },
        compute_precision: 'FLOAT',
        explicit_dequantize: true,
      },
    },
  ],
};

it('matches AI Edge Quantizer bit for bit and in LiteRT', async () => {
  if (!existsSync(python)) throw new Error('run packages/quantize/scripts/setup-aeq.sh first');
  mkdirSync(dir, { recursive: true });
  const models: string[] = [];
  for (const [name, make] of Object.entries(TEST_MODELS)) {
    writeFileSync(join(dir, `${name}.tflite`), writeTflite(make()));
    models.push(name);
  }
  // The foundation's official litert-torch fixtures.
  const coreFixtures = join(root, 'packages/core/fixtures');
  for (const f of ['mlp', 'conv1d', 'attention']) {
    if (existsSync(join(coreFixtures, `${f}.tflite`))) {
      copyFileSync(join(coreFixtures, `${f}.tflite`), join(dir, `core_${f}.tflite`));
      models.push(`core_${f}`);
    }
  }
  const rtFixtures = join(root, 'packages/runtime-native/fixtures');
  for (const f of ['add_fc', 'fc_probe', 'matmul_chain']) {
    if (existsSync(join(rtFixtures, `${f}.tflite`))) {
      copyFileSync(join(rtFixtures, `${f}.tflite`), join(dir, `rt_${f}.tflite`));
      models.push(`rt_${f}`);
    }
  }
  if (process.env.TINY_SAO !== '0') {
    try {
      const convert = (await import('@audiogen/convert')) as Record<string, unknown>;
      const write = convert.writeRandomStableAudioFolder as
        | ((o: Record<string, unknown>) => Promise<unknown>)
        | undefined;
      if (write) {
        const out = join(dir, 'tiny-sao');
        await write({ out, tiny: true, seed: 1 });
        for (const f of readdirSync(out).filter((x) => x.endsWith('.tflite'))) {
          copyFileSync(join(out, f), join(dir, `sao_${f}`));
          models.push(`sao_${f.replace(/\.tflite$/, '')}`);
        }
      }
    } catch (e) {
      console.warn(`converter models skipped: ${(e as Error).message}`);
    }
  }
  const cases: Record<string, unknown>[] = [];
  const recipes: Record<string, unknown[]> = { ...EXTRA };
  for (const r of RECIPES) recipes[r] = namedRecipeJson(r);
  for (const [rname, json] of Object.entries(recipes))
    writeFileSync(join(dir, `${rname}.recipe.json`), JSON.stringify(json, null, 1));
  for (const m of models) {
    const bytes = new Uint8Array(readFileSync(join(dir, `${m}.tflite`)));
    for (const [rname, json] of Object.entries(recipes)) {
      const t0 = performance.now();
      const { model } = quantizeModel(bytes, json);
      const ms = performance.now() - t0;
      writeFileSync(join(dir, `${m}.${rname}.ours.tflite`), model);
      cases.push({
        model: `${m}.tflite`,
        recipe_name: rname,
        recipe: `${rname}.recipe.json`,
        ours: `${m}.${rname}.ours.tflite`,
        aeq: `${m}.${rname}.aeq.tflite`,
        ours_ms: Math.round(ms),
      });
    }
  }
  writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases, null, 1));
  execFileSync(python, [join(__dirname, 'aeq_conformance.py'), join(dir, 'cases.json')], {
    stdio: 'inherit',
  });
  const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as {
    model: string;
    recipe: string;
    diffs: string[];
    run?: Record<string, { identical: boolean; runtime_deterministic: boolean }> & { error?: string };
  }[];
  if (process.env.UPDATE_FIXTURES === '1') {
    mkdirSync(fixtures, { recursive: true });
    for (const m of Object.keys(TEST_MODELS)) {
      copyFileSync(join(dir, `${m}.tflite`), join(fixtures, `${m}.tflite`));
      for (const r of Object.keys(recipes))
        copyFileSync(join(dir, `${m}.${r}.aeq.tflite`), join(fixtures, `${m}.${r}.aeq.tflite`));
    }
    for (const r of Object.keys(recipes))
      copyFileSync(join(dir, `${r}.recipe.json`), join(fixtures, `${r}.recipe.json`));
  }
  const bad = results.filter(
    (r) =>
      r.diffs.length ||
      (r.run &&
        (r.run.error ||
          Object.values(r.run).some(
            (x) => typeof x === 'object' && x.runtime_deterministic && !x.identical,
          ))),
  );
  expect(
    bad.map((r) => `${r.model} ${r.recipe}: ${r.diffs.slice(0, 3).join('; ')} ${JSON.stringify(r.run)}`),
  ).toEqual([]);
});
