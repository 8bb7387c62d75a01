#!/usr/bin/env node
// The whole full-size Stable Audio Open Small decoder (11.89 s of stereo) in several graph forms, fp32 and the
// int8 `fast` variant (the float file quantized with @audiogen/quantize's sao-decoder-fast recipe), timed in
// interleaved rounds (dev-time, after `npm run build`; run under `flock /tmp/audiogen-bench.lock`: GB-scale).
// Random weights (seeded); each variant is built by buildDecoder (its defaults otherwise: open frames), written once into --dir and reused.
// Per round and variant: load, one warm-up run, --runs timed runs (process CPU time and wall), dispose — one
// decoder resident at a time. Output checked against the first variant's (cosine, max abs diff); int8 also as SNR
// against the first variant's fp32 audio. '+peak RSS' = what loading and running the decoder adds (Linux /proc).
//   options: --dir DIR (required) --variants native,measured,measured-snake4 --precisions fp32,int8
//            --rounds 3 --runs 1 --threads 2 --seed 1 --json out.json
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const dir = arg('dir');
if (!dir) {
  console.error('usage: decoder-bench.mjs --dir DIR [--variants …] [--precisions fp32,int8] [--rounds 3]');
  process.exit(2);
}
const rounds = Number(arg('rounds', '3'));
const runs = Number(arg('runs', '1'));
const threads = Number(arg('threads', '2'));
const seed = Number(arg('seed', '1'));
const { buildDecoder, decoderSpec, randomWeights, STABLE_AUDIO_OPEN_SMALL } = await import(
  '@audiogen/convert'
);
const { writeTfliteFile } = await import('@audiogen/core/tflite');
const { quantizeFile, loadRecipe } = await import('@audiogen/quantize');
const { createNativeRuntime, hostCpu } = await import('@audiogen/runtime-native');

// Graph forms: 'measured' = the converter's recorded per-layer choice (decoder-forms.ts).
const FORMS = {
  native: { transposedConv: 'native', snake: '5-op' },
  measured: { transposedConv: 'measured', snake: '5-op' },
  'measured-conv': { transposedConv: 'measured', snake: '5-op', outputConv: 'conv' },
  'measured-taps': { transposedConv: 'measured', snake: '5-op', outputConv: 'taps' },
  'measured-snake4': { transposedConv: 'measured', snake: '4-op' },
  'conv3-snake5': { transposedConv: 'conv3', snake: '5-op' },
  'native-snake4': { transposedConv: 'native', snake: '4-op' },
  // blocks 1, 3, 4, 5 rewritten (the per-layer CPU winners, before memory was weighed)
  'conv3-1345': { transposedConv: ({ block }) => (block === 2 ? 'native' : 'conv3'), snake: '5-op' },
  'conv2-snake5': { transposedConv: 'conv2', snake: '5-op' },
};
const variants = arg('variants', 'native,measured,measured-snake4').split(',');
for (const v of variants)
  if (!FORMS[v]) throw new Error(`unknown variant ${v} (${Object.keys(FORMS).join(', ')})`);
const precisions = arg('precisions', 'fp32,int8').split(',');

const cpu = hostCpu();
const flags = Object.keys(cpu.features).filter((k) => cpu.features[k] && /avx512f$|vnni|avx2|bf16/.test(k));
console.error(`host: ${cpu.cpuModel} (${flags.join(' ')}), ${threads} threads`);

mkdirSync(dir, { recursive: true });
const cfg = STABLE_AUDIO_OPEN_SMALL;
const recipe = await loadRecipe('sao-decoder-fast');
const file = (v, p) => join(dir, `decoder-${v}-seed${seed}${p === 'int8' ? '.int8' : ''}.tflite`);
for (const v of variants) {
  if (!existsSync(file(v, 'fp32'))) {
    const t0 = Date.now();
    const src = randomWeights(decoderSpec(cfg), seed);
    await writeTfliteFile(file(v, 'fp32'), buildDecoder(cfg, src, FORMS[v]));
    console.error(`built ${file(v, 'fp32')} in ${Date.now() - t0} ms`);
  }
  if (precisions.includes('int8') && !existsSync(file(v, 'int8'))) {
    await quantizeFile(file(v, 'fp32'), file(v, 'int8'), recipe);
    console.error(`quantized ${file(v, 'int8')}`);
  }
}

const status = () => {
  const o = {};
  for (const l of readFileSync('/proc/self/status', 'utf8').split('\n')) {
    const m = /^(VmRSS|VmHWM):\s+(\d+) kB/.exec(l);
    if (m) o[m[1]] = Number(m[2]) / 1024;
  }
  return o;
};
const runtime = createNativeRuntime();
const latents = new Float32Array(64 * 256).map((_, i) => Math.sin(i * 0.37) * 1.5);
const results = {};
const reference = {};
for (const precision of precisions) {
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round so no variant always runs first.
    const order = variants.map((_, i) => variants[(i + r) % variants.length]);
    for (const v of order) {
      // Memory the decoder adds: RSS peak from before its load to the end of its warm-up run (VmHWM reset).
      const rss0 = status().VmRSS;
      writeFileSync('/proc/self/clear_refs', '5');
      const model = await runtime.load(file(v, precision), { threads, label: `${v}/${precision}` });
      const feed = { latents: { dtype: 'float32', shape: [1, 64, 256], data: latents } };
      const warm = (await model.run(feed)).audio.data;
      const key = `${v}/${precision}`;
      results[key] ??= { variant: v, precision, cpuMs: [], wallMs: [], addedPeakMB: [] };
      results[key].addedPeakMB.push(status().VmHWM - rss0);
      for (let k = 0; k < runs; k++) {
        const c0 = process.cpuUsage();
        const w0 = performance.now();
        await model.run(feed);
        const wall = performance.now() - w0;
        const c = process.cpuUsage(c0);
        results[key].cpuMs.push((c.user + c.system) / 1000);
        results[key].wallMs.push(wall);
      }
      model.dispose();
      // Output check against the first variant of this precision (its warm-up run).
      reference[precision] ??= { variant: v, data: Float32Array.from(warm) };
      if (results[key].maxAbsDiff === undefined) {
        const ref = reference[precision].data;
        let d = 0;
        let dot = 0;
        let na = 0;
        let nb = 0;
        for (let i = 0; i < ref.length; i++) {
          d = Math.max(d, Math.abs(ref[i] - warm[i]));
          dot += ref[i] * warm[i];
          na += ref[i] ** 2;
          nb += warm[i] ** 2;
        }
        Object.assign(results[key], {
          vs: reference[precision].variant,
          maxAbsDiff: d,
          cosine: dot / Math.sqrt(na * nb),
          peak: ref.reduce((p, x) => Math.max(p, Math.abs(x)), 0),
        });
        // int8: its quality, as output SNR against the first variant's fp32 audio.
        const f = reference.fp32?.data;
        if (precision !== 'fp32' && f) {
          let sig = 0;
          let err = 0;
          for (let i = 0; i < f.length; i++) {
            sig += f[i] ** 2;
            err += (f[i] - warm[i]) ** 2;
          }
          results[key].snrDbVsFp32 = 10 * Math.log10(sig / err);
        }
      }
      console.error(
        `round ${r + 1} ${key}: cpu ${results[key].cpuMs.slice(-runs).map((x) => x.toFixed(0))} ms, wall ${results[key].wallMs.slice(-runs).map((x) => x.toFixed(0))} ms`,
      );
    }
  }
}

const med = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
console.log(
  `Full-size decoder, ${threads} threads, ${rounds} interleaved rounds × ${runs} run(s); ${cpu.cpuModel} (${flags.join(' ')}); machine shared`,
);
console.log(
  'variant            precision  cpu ms (median, min–max)     vs first  wall ms (median)  file MB  +peak RSS MB  cosine vs first  max|diff|',
);
for (const precision of precisions) {
  const base = med(results[`${variants[0]}/${precision}`].cpuMs);
  for (const v of variants) {
    const x = results[`${v}/${precision}`];
    x.cpuMedian = med(x.cpuMs);
    x.wallMedian = med(x.wallMs);
    x.ratio = x.cpuMedian / base;
    console.log(
      `${v.padEnd(18)} ${precision.padEnd(9)}  ${x.cpuMedian.toFixed(0).padStart(6)} (${Math.min(...x.cpuMs).toFixed(0)}–${Math.max(...x.cpuMs).toFixed(0)})`.padEnd(
        57,
      ) +
        `${x.ratio.toFixed(3).padStart(6)}  ${x.wallMedian.toFixed(0).padStart(15)}  ${(statSync(file(v, precision)).size / 1e6).toFixed(0).padStart(7)}  ${med(x.addedPeakMB).toFixed(0).padStart(12)}  ${x.cosine.toFixed(9).padStart(15)}  ${x.maxAbsDiff.toExponential(2)}${x.snrDbVsFp32 === undefined ? '' : `  SNR vs fp32 ${x.snrDbVsFp32.toFixed(2)} dB`}`,
    );
  }
}
const out = arg('json');
if (out)
  writeFileSync(out, `${JSON.stringify({ host: cpu, threads, rounds, runs, seed, results }, null, 1)}\n`);
