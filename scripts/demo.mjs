#!/usr/bin/env node
// `npm run demo`: the main job end to end on a fresh machine, with no downloads beyond npm.
//   1. builds a random-weight Stable Audio model folder with the converter: the real architecture with tiny
//      widths and depths but the full clip length (524,288 frames, 11.89 s), in a second or two; --full builds
//      the real Stable Audio Open Small sizes instead (~2 GB of files, a minute or two, then ~1–2 min to run),
//   2. runs `audiogen generate` on it through LiteRT and writes a WAV.
// RANDOM WEIGHTS GIVE NOISE, NOT MUSIC: this shows the machinery works. For real audio, convert Stability
// AI's Stable Audio Open Small weights with `audiogen convert` (see README.md), or use a folder made by
// Arm's export scripts.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDemoModels } from './demo-models.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const full = args.includes('--full');
const prompt = args.find((a) => !a.startsWith('--')) ?? 'warm ambient pads with soft piano, 90 BPM';
const models = join(root, 'models', full ? 'random-small' : 'random-tiny');
const out = join(root, 'out', full ? 'demo-small.wav' : 'demo.wav');

const manifestPath = join(models, 'audiogen.json');
const current = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) : undefined;
if (current?.config?.sampleSize !== 524288) {
  console.log(
    `[demo] building a ${full ? 'full-size' : 'small-width'} random-weight model folder in ${relative(root, models)}/ …`,
  );
  const t0 = performance.now();
  await writeDemoModels(models, { full, onProgress: (m) => console.log(`[demo]   ${m}`) });
  console.log(`[demo] folder ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
} else {
  console.log(`[demo] using the model folder ${relative(root, models)}/ (delete it to rebuild)`);
}

const cli = join(root, 'packages', 'cli', 'bin', 'audiogen.js');
const cmd = ['generate', prompt, '--models', models, '--seconds', '10', '--seed', '42', '--out', out];
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
  console.log('[demo] `npm run demo -- --full` builds and runs the full-size random folder (~2 GB).');
