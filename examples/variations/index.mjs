// Four variations of one prompt (seeds seed, seed+1, …), with per-step progress and Ctrl-C to abort.
// Usage: node index.mjs [model folder] ["<prompt>"] [seed] [out dir]   (after `npm run build` at the repo root)
// Runs from any folder: the defaults are the repository's models/random-tiny (made by `npm run demo`) and
// out/examples/variations/ (out/ is gitignored).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyOutputPolicy, writeWav } from '@audiogen/audio-io';
import { isAudiogenError } from '@audiogen/core';
import { createNativeRuntime } from '@audiogen/runtime-native';
import { createStableAudioPipeline } from '@audiogen/stable-audio';

const repo = (path) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const [
  models = repo('models/random-tiny'),
  prompt = 'lofi hip-hop beat with warm keys',
  seedArg,
  outDir = repo('out/examples/variations'),
] = process.argv.slice(2);
const seed = seedArg === undefined ? undefined : Number(seedArg);

const controller = new AbortController();
process.once('SIGINT', () => {
  console.log('\nstopping after the current step…');
  controller.abort();
});

const pipeline = await createStableAudioPipeline({ models, runtime: createNativeRuntime() });
try {
  const result = await pipeline.generate({
    prompt,
    seed,
    variations: 4,
    signal: controller.signal,
    onProgress: (e) => {
      if (e.type === 'step')
        process.stdout.write(
          `\rvariation ${e.variation + 1}/4  step ${e.step + 1}/${e.steps}  ${e.ms.toFixed(0)} ms  `,
        );
      if (e.type === 'decode' && e.done) process.stdout.write(`decoded in ${e.ms.toFixed(0)} ms\n`);
    },
  });
  await mkdir(outDir, { recursive: true });
  for (const c of result.clips) {
    const file = join(outDir, `variation-${c.seed}.wav`);
    await writeWav(file, applyOutputPolicy(c.clip), { format: 'pcm16' });
    console.log(`wrote ${file}`);
  }
  console.log(`seed ${result.seed}: run again with the same seed to get the same four clips`);
} catch (e) {
  if (isAudiogenError(e, 'ABORTED')) {
    console.log('aborted; nothing written');
    process.exitCode = 130;
  } else throw e;
} finally {
  pipeline.dispose();
}
