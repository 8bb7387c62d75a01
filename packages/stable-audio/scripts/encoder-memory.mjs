#!/usr/bin/env node
// What the audio-to-audio encoder costs a text-to-audio app, at full size (issue 13): each case in its own
// process, peak RSS from getrusage (maxRSS), load times from the pipeline. Cases:
//   t2a-lazy   default pipeline (encoder described from its tables only), one text-to-audio clip
//   t2a-eager  loadEncoder: true (the old default), one text-to-audio clip
//   a2a-lazy   default pipeline, one text-to-audio clip, then one audio-to-audio clip (encoder loaded then)
// The folder: <repo>/models/bench-random-small-enc (full-size RANDOM weights with the encoder, built here).
// Run under the bench lock: flock /tmp/audiogen-bench.lock node packages/stable-audio/scripts/encoder-memory.mjs
//   options: --threads 2  --repeat 1  --cases t2a-lazy,t2a-eager,a2a-lazy
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};

if (process.argv[2] === '--child') {
  const { models, threads, kase } = JSON.parse(process.argv[3]);
  const { createNativeRuntime } = await import('@audiogen/runtime-native');
  const { createStableAudioPipeline } = await import('@audiogen/stable-audio');
  const rss = () => process.resourceUsage().maxRSS / 1024;
  const t0 = performance.now();
  const p = await createStableAudioPipeline({
    models,
    runtime: createNativeRuntime(),
    threads,
    ...(kase === 't2a-eager' ? { loadEncoder: true } : {}),
  });
  const createMs = performance.now() - t0;
  const afterCreateMB = rss();
  const base = { prompt: 'warm ambient pads with soft piano', seconds: 10, seed: 7 };
  const t2a = await p.generate(base);
  const out = {
    kase,
    createMs,
    loadMs: p.loadMs,
    afterCreateMB,
    t2a: { totalMs: t2a.timings.totalMs, peakMB: rss() },
  };
  if (kase === 'a2a-lazy') {
    const a2a = await p.generate({ ...base, initAudio: t2a.clips[0].clip, initNoiseLevel: 0.7 });
    out.a2a = { totalMs: a2a.timings.totalMs, encoderLoadMs: a2a.timings.loadMs.encoder, peakMB: rss() };
  }
  p.dispose();
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

const folder = join(root, 'models', 'bench-random-small-enc');
const log = (m) => console.error(`[encoder-memory] ${m}`);
if (!existsSync(join(folder, 'audiogen.json'))) {
  log(`building the full-size random-weight folder with the encoder in ${folder} (RANDOM WEIGHTS)…`);
  const { writeRandomStableAudioFolder } = await import('@audiogen/convert');
  const t0 = performance.now();
  await writeRandomStableAudioFolder({ out: folder, tiny: false, seed: 0, encoder: true });
  log(`built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
const threads = Number(arg('threads', '2'));
const cases = arg('cases', 't2a-lazy,t2a-eager,a2a-lazy').split(',');
const repeat = Number(arg('repeat', '1'));
const rows = [];
for (let r = 0; r < repeat; r++) {
  for (const kase of cases) {
    const c = spawnSync(
      process.execPath,
      [fileURLToPath(import.meta.url), '--child', JSON.stringify({ models: folder, threads, kase })],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    if (c.status !== 0) throw new Error(`${kase} failed (exit ${c.status}, signal ${c.signal})`);
    const row = JSON.parse(c.stdout.trim().split('\n').at(-1));
    log(JSON.stringify(row));
    rows.push(row);
  }
}
process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
