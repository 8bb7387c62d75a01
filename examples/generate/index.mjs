// Text to a WAV in 20 lines. Usage: node index.mjs [model folder] ["<prompt>"] [out.wav]
// (after `npm run build` at the repo root). Runs from any folder: the defaults are the repository's
// models/random-tiny (made by `npm run demo`) and out/examples/generate/out.wav (out/ is gitignored).
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyOutputPolicy, writeWav } from '@audiogen/audio-io';
import { createNativeRuntime } from '@audiogen/runtime-native';
import { createStableAudioPipeline } from '@audiogen/stable-audio';

const repo = (path) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const [
  models = repo('models/random-tiny'),
  prompt = 'rain on a tin roof',
  out = repo('out/examples/generate/out.wav'),
] = process.argv.slice(2);
await mkdir(dirname(out), { recursive: true });

const pipeline = await createStableAudioPipeline({ models, runtime: createNativeRuntime(), threads: 2 });
try {
  // Family defaults: 8 ping-pong steps, CFG 1; seconds must be in (0, 11.89] (the model's longest clip).
  const result = await pipeline.generate({ prompt, seconds: 10 });
  await writeWav(out, applyOutputPolicy(result.clips[0].clip), { format: 'pcm16' });
  console.log(
    `wrote ${out}: ${result.seconds.toFixed(2)} s, seed ${result.seed}, ${result.timings.totalMs.toFixed(0)} ms`,
  );
} finally {
  pipeline.dispose();
}
