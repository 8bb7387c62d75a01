/**
 * Full-size Stable Audio Open Small DiT (random weights of the real shapes, from the converter):
 * size ratio int8/fp32, DiT step time fp32 vs dynamic int8 with 1 and 2 threads, and latent cosine
 * similarity to fp32 after 1 and after all 8 ping-pong steps.
 *   PHASE=build npm run dit -w @audiogen/quantize     (builds .out/dit_fp32.tflite, .out/dit_int8.tflite)
 *   PHASE=bench flock /tmp/audiogen-bench.lock npm run dit -w @audiogen/quantize
 * Results: .out/dit-results.json.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Model, Tensor } from '@audiogen/core';
import { writeTfliteFile } from '@audiogen/core/tflite';
import { it } from 'vitest';
import { cosineSimilarity } from '../src/metrics';
import { namedRecipe } from '../src/recipes';
import { detRandn } from '../src/test-models';
import { quantizeGraph } from '../src/transform';

const out = resolve(__dirname, '../.out');
const fp32Path = join(out, 'dit_fp32.tflite');
const int8Path = join(out, 'dit_int8.tflite');
const resultsPath = join(out, 'dit-results.json');
const phase = process.env.PHASE ?? 'all';

function readResults(): Record<string, unknown> {
  return existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, 'utf8')) : {};
}
function saveResults(r: Record<string, unknown>) {
  writeFileSync(resultsPath, JSON.stringify(r, null, 1));
  console.log(JSON.stringify(r, null, 1));
}

it('builds and quantizes the full-size DiT', async () => {
  if (phase !== 'build' && phase !== 'all') return;
  mkdirSync(out, { recursive: true });
  const convert = await import('@audiogen/convert');
  const cfg = convert.STABLE_AUDIO_OPEN_SMALL;
  const weights = convert.randomStableAudioWeights(cfg, 0).checkpoint[convert.DIT_PREFIX]!;
  let t0 = performance.now();
  const graph = convert.buildDit(cfg, weights);
  await writeTfliteFile(fp32Path, graph);
  const buildS = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const { graph: q, report } = quantizeGraph(graph, namedRecipe('dynamic_wi8_afp32'));
  const quantS = (performance.now() - t0) / 1000;
  await writeTfliteFile(int8Path, q);
  const fp32Bytes = statSync(fp32Path).size;
  const int8Bytes = statSync(int8Path).size;
  saveResults({
    ...readResults(),
    build: {
      fp32Bytes,
      int8Bytes,
      sizeRatio: int8Bytes / fp32Bytes,
      buildSeconds: buildS,
      quantizeSeconds: quantS,
      quantizedOps: report.summary.quantizedOps,
      skippedByOp: report.summary.skippedByOp,
    },
  });
});

function ditInputs(model: Model, seed: number): Record<string, Tensor> {
  const inputs: Record<string, Tensor> = {};
  model.inputs.forEach((info, k) => {
    const n = info.shape.reduce((a, b) => a * Math.max(b, 1), 1);
    inputs[info.name] = {
      dtype: 'float32',
      shape: info.shape.map((d) => Math.max(d, 1)),
      data: detRandn(n, seed * 100 + k + 1, 1),
    };
  });
  return inputs;
}

it('benchmarks step time and latent similarity', async () => {
  if (phase !== 'bench' && phase !== 'all') return;
  const { createNativeRuntime } = await import('@audiogen/runtime-native');
  const sampler = await import('@audiogen/sampler');
  const rt = createNativeRuntime();
  const results = readResults();
  const timing: Record<string, unknown> = {};
  const runs = Number(process.env.RUNS ?? 3);
  for (const threads of [1, 2]) {
    // Both models loaded; runs alternate fp32/int8 so that load from other processes hits both alike.
    const models: Record<string, Model> = {};
    const loadMs: Record<string, number> = {};
    for (const [label, path] of [
      ['fp32', fp32Path],
      ['int8', int8Path],
    ] as const) {
      const t0 = performance.now();
      models[label] = await rt.load(path, { threads, label });
      loadMs[label] = Math.round(performance.now() - t0);
    }
    const inputs = ditInputs(models.fp32!, 1);
    inputs.t = { dtype: 'float32', shape: [1], data: new Float32Array([0.7]) };
    for (const m of Object.values(models)) await m.run(inputs); // warm-up
    const ms: Record<string, number[]> = { fp32: [], int8: [] };
    // CPU time of this process per run (user + system): less sensitive to other jobs than wall time.
    const cpu: Record<string, number[]> = { fp32: [], int8: [] };
    for (let i = 0; i < runs; i++) {
      for (const label of ['fp32', 'int8']) {
        const s = performance.now();
        const c = process.cpuUsage();
        await models[label]!.run(inputs);
        const dc = process.cpuUsage(c);
        ms[label]!.push(Math.round(performance.now() - s));
        cpu[label]!.push(Math.round((dc.user + dc.system) / 1000));
      }
    }
    for (const label of ['fp32', 'int8']) {
      const sorted = [...ms[label]!].sort((a, b) => a - b);
      const cs = [...cpu[label]!].sort((a, b) => a - b);
      timing[`${label}_t${threads}`] = {
        loadMs: loadMs[label],
        stepMs: ms[label],
        minMs: sorted[0],
        medianMs: sorted[Math.floor(sorted.length / 2)],
        cpuMs: cpu[label],
        cpuMedianMs: cs[Math.floor(cs.length / 2)],
      };
      console.log(label, threads, timing[`${label}_t${threads}`]);
      models[label]!.dispose();
    }
  }
  const get = (k: string, f: 'minMs' | 'medianMs') => (timing[k] as Record<string, number>)[f]!;
  for (const t of [1, 2]) {
    timing[`speedup_t${t}_min`] = get(`fp32_t${t}`, 'minMs') / get(`int8_t${t}`, 'minMs');
    timing[`speedup_t${t}_median`] = get(`fp32_t${t}`, 'medianMs') / get(`int8_t${t}`, 'medianMs');
    timing[`speedup_t${t}_cpu_median`] =
      (timing[`fp32_t${t}`] as Record<string, number>).cpuMedianMs! /
      (timing[`int8_t${t}`] as Record<string, number>).cpuMedianMs!;
  }
  timing.loadAverage = (await import('node:os')).loadavg();

  // Latent similarity: same seed, same conditioning, 8 ping-pong steps.
  const latents: Record<string, { step1: Float32Array; final: Float32Array }> = {};
  for (const [label, path] of [
    ['fp32', fp32Path],
    ['int8', int8Path],
  ] as const) {
    const m = await rt.load(path, { threads: 2, label });
    const cond = ditInputs(m, 2);
    const xInfo = m.inputs.find((i) => i.name === 'x')!;
    const n = xInfo.shape.reduce((a, b) => a * b, 1);
    const velocity = async (x: Float32Array, t: number) => {
      const o = await m.run({
        ...cond,
        x: { dtype: 'float32', shape: xInfo.shape, data: x },
        t: { dtype: 'float32', shape: [1], data: new Float32Array([t]) },
      });
      return Object.values(o)[0]!.data as Float32Array;
    };
    const noise = sampler.createNoiseSource(42);
    const x0 = new Float32Array(n);
    noise.stream('init').fillNormal(x0);
    let step1: Float32Array | undefined;
    const final = await sampler.createSampler({ name: 'pingpong', steps: 8 }).sample({
      model: velocity,
      x: x0,
      schedule: sampler.rfSchedule({ steps: 8 }),
      noise,
      callback: (info) => {
        if (info.step === 0) step1 = info.x.slice();
      },
    });
    latents[label] = { step1: step1!, final };
    m.dispose();
  }
  const similarity = {
    cosineAfter1Step: cosineSimilarity(latents.int8!.step1, latents.fp32!.step1),
    cosineAfter8Steps: cosineSimilarity(latents.int8!.final, latents.fp32!.final),
    cosineDenoisedVsNoise: cosineSimilarity(latents.fp32!.final, latents.fp32!.step1),
  };
  saveResults({
    ...results,
    host: { cpus: (await import('node:os')).cpus().length, cpu: (await import('node:os')).cpus()[0]?.model },
    timing,
    similarity,
  });
});
