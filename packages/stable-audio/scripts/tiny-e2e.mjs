#!/usr/bin/env node
// The tiny end-to-end generation as a plain node script (no vitest), for the platform lanes where the
// dev toolchain cannot run (the official Windows node under Wine: runtime-native's test-win32.sh):
// a random-weight folder of the real architecture (made by @audiogen/convert), T5 → DiT (8 steps) →
// decoder through LiteRT, a WAV written and read back. Prints one JSON line: frames, channels, whether
// two runs with the same seed were identical, how many Snake activations the runtime fused into its
// one-pass kernel in the decoder, and the samples of the first clip (rounded), which the lane compares
// with the same script's output from the host's native node.
//
//   node packages/stable-audio/scripts/tiny-e2e.mjs [--samples N]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeWav, encodeWav } from '@audiogen/audio-io';
import { writeRandomStableAudioFolder } from '@audiogen/convert';
import { createNativeRuntime } from '@audiogen/runtime-native';
import { createStableAudioPipeline, MODEL_FILE_NAMES } from '../dist/index.js';

const i = process.argv.indexOf('--samples');
const keep = i > 0 ? Number(process.argv[i + 1]) : 64;
const dir = mkdtempSync(join(tmpdir(), 'audiogen-tiny-e2e-'));
try {
  await writeRandomStableAudioFolder({ out: dir, tiny: true, seed: 3 });
  const p = await createStableAudioPipeline({ models: dir, runtime: createNativeRuntime(), threads: 1 });
  const seconds = p.maxSeconds / 2;
  const run = () => p.generate({ prompt: 'birds singing in the morning', seconds, seed: 1234 });
  const a = (await run()).clips[0].clip;
  const b = (await run()).clips[0].clip;
  p.dispose();
  const decoder = await createNativeRuntime().load(join(dir, MODEL_FILE_NAMES.decoder[0]));
  const fusedSnakes = decoder.fusedSnakes;
  decoder.dispose();
  const back = decodeWav(encodeWav(a, { format: 'f32' }));
  const same = a.channels.every((ch, c) => ch.every((v, k) => v === b.channels[c][k]));
  const finite = a.channels.every((ch) => ch.every(Number.isFinite));
  const stride = Math.max(1, Math.floor(a.channels[0].length / keep));
  const samples = Array.from({ length: keep }, (_, k) => a.channels[0][k * stride] ?? 0);
  console.log(
    JSON.stringify({
      platform: `${process.platform}-${process.arch}`,
      sampleRate: back.sampleRate,
      channels: back.channels.length,
      frames: back.channels[0].length,
      expectedFrames: Math.round(seconds * p.sampleRate),
      sameSeedIdentical: same,
      finite,
      nonZero: a.channels[0].some((v) => v !== 0),
      fusedSnakes,
      samples,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
