import { writeTflite } from '@audiogen/core/tflite';
import { describe, expect, it } from 'vitest';
import {
  compare,
  comparisonHtml,
  constantValues,
  modelExplorerOverlay,
  withIntermediateOutputs,
} from './compare';
import { quantizeModel } from './model';
import { namedRecipe } from './recipes';
import { mlpModel } from './test-models';

async function nativeRuntime() {
  try {
    const rt = await import('@audiogen/runtime-native');
    const r = rt.createNativeRuntime();
    // probe: load a model once
    const m = await r.load(writeTflite(mlpModel()));
    m.dispose();
    return r;
  } catch {
    return undefined;
  }
}
const runtime = await nativeRuntime();

describe('debug copies and constants', () => {
  it('withIntermediateOutputs adds every float activation as a signature output', () => {
    const g = mlpModel();
    const { graph, names } = withIntermediateOutputs(g);
    const sig = graph.signatures[0]!;
    expect(sig.outputs.map((o) => o.name)).toEqual([
      'proj_out',
      'dbg:dense1/out',
      'dbg:gelu/out',
      'dbg:dense2/out',
      'dbg:residual/out',
    ]);
    expect(names.get('dbg:gelu/out')).toBe('gelu/out');
    expect(graph.subgraphs[0]!.outputs.length).toBe(5);
    expect(g.signatures[0]!.outputs.length).toBe(1); // original untouched
  });

  it('constantValues dequantizes per-channel int8, blockwise int4 and fp16 weights close to the float weights', () => {
    const g = mlpModel();
    const w = g.subgraphs[0]!.tensors.find((t) => t.name === 'dense1/kernel')!;
    const ref = constantValues(g, 0, w)!;
    const maxAbs = ref.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
    for (const [name, tol] of [
      ['dynamic_wi8_afp32', maxAbs / 127 / 2 + 1e-7],
      ['dynamic_wi4b32_afp32', maxAbs / 7],
      ['float16', 1e-3],
    ] as const) {
      const q = quantizeModel(g, namedRecipe(name)).graph;
      const t = q.subgraphs[0]!.tensors.find((x) => x.name === 'dense1/kernel')!;
      const v = constantValues(q, 0, t)!;
      let err = 0;
      for (let i = 0; i < v.length; i++) err = Math.max(err, Math.abs(v[i]! - ref[i]!));
      expect(err, name).toBeLessThanOrEqual(tol);
      expect(err, name).toBeGreaterThan(0);
    }
  });
});

describe.skipIf(!runtime)('compare through the native runtime', () => {
  it('reports the five metrics per tensor in AEQ layout, an overlay and a chart', async () => {
    const floatBytes = writeTflite(mlpModel());
    const { model } = quantizeModel(floatBytes, namedRecipe('dynamic_wi8_afp32'));
    const res = await compare(floatBytes, model, 'random', runtime!);
    expect(res.reduced_size_bytes).toBe(floatBytes.byteLength - model.byteLength);
    const sc = res.serving_default as Exclude<(typeof res)['serving_default'], number>;
    expect(Object.keys(sc).sort()).toEqual([
      'constant_tensors',
      'input_tensors',
      'intermediate_tensors',
      'output_tensors',
    ]);
    expect(Object.keys(sc.output_tensors)).toEqual(['proj/out']);
    expect(Object.keys(sc.intermediate_tensors).sort()).toEqual([
      'dense1/out',
      'dense2/out',
      'gelu/out',
      'residual/out',
    ]);
    expect(sc.input_tensors.x!.mse).toBe(0);
    const out = sc.output_tensors['proj/out']!;
    expect(Object.keys(out).sort()).toEqual([
      'cosine_similarity',
      'kl_divergence',
      'median_diff_ratio',
      'mse',
      'snr',
    ]);
    expect(out.cosine_similarity).toBeGreaterThan(0.999);
    expect(out.cosine_similarity).toBeLessThan(1);
    expect(sc.constant_tensors['dense1/kernel']!.mse).toBeGreaterThan(0);
    expect(sc.constant_tensors['dense1/bias']!.mse).toBe(0);
    const overlay = modelExplorerOverlay(res, 'mse');
    expect(overlay.results['proj/out']!.value).toBe(out.mse);
    expect(overlay.thresholds[0]).toEqual({ value: 0.05, bgColor: 'rgb(200, 255, 0)' });
    expect(overlay.thresholds[6]).toEqual({ value: 100, bgColor: 'rgb(200, 39, 0)' });
    const html = comparisonHtml(res);
    expect(html).toContain('<svg');
    expect(html).toContain('proj/out');
    // identical models: zero error everywhere
    const same = await compare(floatBytes, floatBytes, 'random', runtime!);
    const s2 = same.serving_default as typeof sc;
    expect(s2.output_tensors['proj/out']!.mse).toBe(0);
    expect(s2.output_tensors['proj/out']!.cosine_similarity).toBeCloseTo(1, 12);
  });
});
