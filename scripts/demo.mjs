#!/usr/bin/env node
// `npm run demo`: the main job end to end on a fresh machine, with no downloads beyond npm.
//   1. builds a random-weight Stable Audio model folder with the converter (tiny by default, --full for
//      the real Stable Audio Open Small shapes: ~2 GB of files and a few minutes),
//   2. runs `audiogen generate` on it through LiteRT and writes a WAV.
// RANDOM WEIGHTS GIVE NOISE, NOT MUSIC: this shows the machinery works. For real audio, convert Stability
// AI's Stable Audio Open Small weights with `audiogen convert` (see README.md), or use a folder made by
// Arm's export scripts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const full = args.includes('--full');
const prompt = args.find((a) => !a.startsWith('--')) ?? 'warm ambient pads with soft piano, 90 BPM';
const models = join(root, 'models', full ? 'random-small' : 'random-tiny');
const out = join(root, 'out', full ? 'demo-small.wav' : 'demo-tiny.wav');

const { writeRandomStableAudioFolder } = await import('@audiogen/convert');

if (!existsSync(join(models, 'audiogen.json'))) {
  console.log(
    `[demo] building a ${full ? 'full-size' : 'tiny'} random-weight model folder in ${relative(root, models)}/ …`,
  );
  const t0 = performance.now();
  await writeRandomStableAudioFolder({
    out: models,
    tiny: !full,
    seed: 0,
    onProgress: (m) => console.log(`[demo]   ${m}`),
  });
  console.log(`[demo] folder ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
} else {
  console.log(`[demo] using the model folder ${relative(root, models)}/ (delete it to rebuild)`);
}

const cli = join(root, 'packages', 'cli', 'bin', 'audiogen.js');
const cmd = ['generate', prompt, '--models', models, '--seed', '42', '--out', out];
console.log(`[demo] audiogen ${cmd.map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ')}`);
const r = spawnSync(process.execPath, [cli, ...cmd], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
console.log('');
console.log('[demo] NOTE: these models have RANDOM WEIGHTS, so the WAV is noise, not music.');
console.log('[demo] For real audio, convert Stable Audio Open Small (Stability AI, under its licence):');
console.log(
  '[demo]   audiogen convert … (see README.md "Quick start"), then audiogen generate "<prompt>" --models <folder>',
);
if (!full)
  console.log(
    '[demo] `npm run demo -- --full` builds the full-size random folder (11.89 s of stereo, ~2 GB).',
  );
