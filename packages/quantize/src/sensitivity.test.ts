import { writeTflite } from '@audiogen/core/tflite';
import { createNativeRuntime } from '@audiogen/runtime-native';
import { describe, expect, it } from 'vitest';
import { compare } from './compare';
import { quantizeModel } from './model';
import { namedRecipe } from './recipes';
import { keepFloat, layerSensitivity, recipeForScope } from './sensitivity';
import { convModel, mlpModel } from './test-models';

const scopes = (r: ReturnType<typeof quantizeModel>) => r.report.quantized.map((q) => q.scope);

describe('recipeForScope / keepFloat', () => {
  it('restrict a recipe to one op, or keep chosen ops float, by their exact scope', () => {
    const base = namedRecipe('dynamic_wi8_afp32');
    const all = scopes(quantizeModel(convModel(), base));
    expect(all).toEqual(['conv/out;', 'dw/out;', 'up/out;']);
    for (const s of all) expect(scopes(quantizeModel(convModel(), recipeForScope(base, s)))).toEqual([s]);
    expect(scopes(quantizeModel(convModel(), keepFloat(base, ['conv/out;', 'up/out;'])))).toEqual([
      'dw/out;',
    ]);
    expect(scopes(quantizeModel(convModel(), keepFloat(base, [])))).toEqual(all);
    // An op-specific entry stays op-specific when restricted (int4 FC entry on the MLP's FCs only).
    const sao4 = namedRecipe('sao-dit-int4');
    const one = quantizeModel(mlpModel(), recipeForScope(sao4, 'dense1/out;')).report.quantized;
    expect(one.map((q) => [q.scope, q.config.includes('BLOCKWISE_32')])).toEqual([['dense1/out;', true]]);
  });
});

describe('layerSensitivity through LiteRT', () => {
  it('measures each op quantized alone, matching compare() on that model, most harmful first', async () => {
    const runtime = createNativeRuntime();
    const g = convModel();
    const base = namedRecipe('dynamic_wi8_afp32');
    const { layers, comparison, signature } = await layerSensitivity(g, base, 'random', runtime, {
      threads: 1,
    });
    expect(layers.map((l) => l.scope).sort()).toEqual(['conv/out;', 'dw/out;', 'up/out;']);
    for (let i = 1; i < layers.length; i++)
      expect(layers[i]!.snrDb).toBeGreaterThanOrEqual(layers[i - 1]!.snrDb);
    for (const l of layers) {
      expect(l.metrics.cosine_similarity).toBeGreaterThan(0.99);
      expect(l.metrics.cosine_similarity).toBeLessThan(1);
      // The same number compare() gives for the one-op model's output.
      const one = quantizeModel(g, recipeForScope(base, l.scope)).model;
      const res = await compare(writeTflite(g), one, 'random', runtime, { intermediates: false, threads: 1 });
      const out = (res[signature] as { output_tensors: Record<string, Record<string, number>> })
        .output_tensors;
      expect(l.metrics.snr).toBeCloseTo(out['up/out']!.snr!, 6);
    }
    const sc = comparison[signature] as { intermediate_tensors: Record<string, unknown> };
    expect(Object.keys(sc.intermediate_tensors).sort()).toEqual(['conv/out', 'dw/out', 'up/out']);
    await expect(layerSensitivity(g, base, 'random', runtime, { ops: ['FULLY_CONNECTED'] })).rejects.toThrow(
      /quantizes no op/,
    );
  });
});
