#!/usr/bin/env node
// `npm run bench -w @audiogen/stable-audio` (after a build): full-size Stable Audio Open Small shapes with
// RANDOM weights (made by the converter at bench time under <repo>/models/, never committed), 8 steps,
// 11.89 s of stereo. Reports per-stage times (T5, DiT per step, decoder), total and peak RSS for
// 1 and 2 threads, fp32 and int8-DiT (dynamic int8 via @audiogen/quantize). Each configuration runs in its
// own process so peak RSS is its own. The npm script holds /tmp/audiogen-bench.lock so benchmarks never overlap.
//   options: --threads 1,2  --variants fp32,int8  --runs 1  --json out.json
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};

if (process.argv[2] === '--child') {
  // One configuration: load, one warm-up-free generation, report.
  const { models, threads, runs } = JSON.parse(process.argv[3]);
  const { createNativeRuntime } = await import('@audiogen/runtime-native');
  const { createStableAudioPipeline } = await import('@audiogen/stable-audio');
  const t0 = performance.now();
  const p = await createStableAudioPipeline({
    models,
    runtime: createNativeRuntime(),
    threads,
    loadEncoder: false,
  });
  const loadMs = performance.now() - t0;
  const results = [];
  for (let r = 0; r < runs; r++) {
    const res = await p.generate({
      prompt: 'warm ambient pads with soft piano, 90 BPM',
      seconds: 11.89,
      seed: 42 + r,
    });
    const t = res.timings;
    const steps = t.stepMs[0];
    results.push({
      t5Ms: t.encodeMs,
      ditMsPerStep: steps.reduce((a, b) => a + b, 0) / steps.length,
      ditMs: t.denoiseMs,
      decoderMs: t.decodeMs,
      totalMs: t.totalMs,
      frames: res.clips[0].clip.channels[0].length,
    });
  }
  p.dispose();
  process.stdout.write(
    `${JSON.stringify({ loadMs, loadByModel: p.loadMs, results, peakRssMB: process.resourceUsage().maxRSS / 1024 })}\n`,
  );
  process.exit(0);
}

if (process.argv[2] === '--quantize') {
  // Separate process, so the quantizer's memory is gone before the timed children run.
  const [, , , input, output] = process.argv;
  const { quantizeFile } = await import('@audiogen/quantize');
  const rep = await quantizeFile(input, output, 'sao-dit-int8');
  process.stdout.write(
    `${JSON.stringify({ quantizedBytes: rep.quantizedBytes, sizeRatio: rep.sizeRatio })}\n`,
  );
  process.exit(0);
}

const threadsList = arg('threads', '1,2').split(',').map(Number);
const variants = arg('variants', 'fp32,int8').split(',');
const runs = Number(arg('runs', '1'));
const base = join(root, 'models', 'bench-random-small');
const log = (m) => console.error(`[bench] ${m}`);

if (!existsSync(join(base, 'audiogen.json'))) {
  log(`building the full-size random-weight folder in ${base} (RANDOM WEIGHTS: output is noise)…`);
  const { writeRandomStableAudioFolder } = await import('@audiogen/convert');
  const t0 = performance.now();
  await writeRandomStableAudioFolder({
    out: base,
    tiny: false,
    seed: 0,
    encoder: false,
    onProgress: (m) => log(`  ${m}`),
  });
  log(`folder built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

const folders = { fp32: base };
if (variants.includes('int8')) {
  const int8 = join(root, 'models', 'bench-random-small-int8dit');
  if (!existsSync(join(int8, 'dit_model.tflite'))) {
    let quantizeFile;
    try {
      ({ quantizeFile } = await import('@audiogen/quantize'));
    } catch {}
    if (typeof quantizeFile !== 'function') {
      log('@audiogen/quantize has no quantizeFile: skipping int8-DiT');
    } else {
      mkdirSync(int8, { recursive: true });
      for (const f of ['conditioners.tflite', 'autoencoder_model.tflite', 'spiece.model', 'audiogen.json']) {
        try {
          linkSync(join(base, f), join(int8, f));
        } catch {
          symlinkSync(join(base, f), join(int8, f));
        }
      }
      log('quantizing the DiT (sao-dit-int8: dynamic int8 per-channel)…');
      const t0 = performance.now();
      const q = spawnSync(
        process.execPath,
        [
          fileURLToPath(import.meta.url),
          '--quantize',
          join(base, 'dit_model.tflite'),
          join(int8, 'dit_model.tflite'),
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
      );
      if (q.status !== 0) throw new Error(`quantizing the DiT failed (exit ${q.status}, signal ${q.signal})`);
      const rep = JSON.parse(q.stdout.trim().split('\n').at(-1));
      log(
        `int8 DiT: ${(rep.quantizedBytes / 1e6).toFixed(0)} MB (${(rep.sizeRatio * 100).toFixed(0)}% of fp32) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    }
  }
  if (existsSync(join(int8, 'dit_model.tflite'))) folders.int8 = int8;
}

const rows = [];
for (const v of variants) {
  if (!folders[v]) continue;
  for (const threads of threadsList) {
    log(`${v}, ${threads} thread(s)…`);
    const r = spawnSync(
      process.execPath,
      [fileURLToPath(import.meta.url), '--child', JSON.stringify({ models: folders[v], threads, runs })],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 1 << 24,
      },
    );
    if (r.status !== 0) {
      log(
        `${v}/${threads} failed (exit ${r.status}, signal ${r.signal}${r.error ? `, ${r.error.message}` : ''})`,
      );
      continue;
    }
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1));
    const best = out.results.reduce((a, b) => (b.totalMs < a.totalMs ? b : a));
    rows.push({ variant: v, threads, loadMs: out.loadMs, ...best, peakRssMB: out.peakRssMB });
  }
}

const f = (n) => n.toFixed(0).padStart(8);
console.log(
  `Stable Audio Open Small shapes, random weights, 8 ping-pong steps, ${rows[0]?.frames ?? '?'} frames stereo (11.89 s)`,
);
console.log('variant threads     load       T5  DiT/step      DiT  decoder    total  peakRSS(MB)');
for (const r of rows) {
  console.log(
    `${r.variant.padEnd(7)} ${String(r.threads).padStart(7)} ${f(r.loadMs)} ${f(r.t5Ms)} ${f(r.ditMsPerStep).padStart(9)} ${f(r.ditMs)} ${f(r.decoderMs)} ${f(r.totalMs)} ${f(r.peakRssMB).padStart(12)}`,
  );
}
const jsonOut = arg('json');
if (jsonOut)
  writeFileSync(
    jsonOut,
    `${JSON.stringify({ host: { arch: process.arch, platform: process.platform }, rows }, null, 2)}\n`,
  );
