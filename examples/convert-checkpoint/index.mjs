// Checkpoint → .tflite model folder, in TypeScript (after `npm run build` at the repo root).
//
//   node index.mjs <out dir> <model.safetensors> <model_config.json> <t5-base dir>   real weights
//   node index.mjs [out dir]                                                        tiny random weights (noise!)
//
// Runs from any folder; the default out dir is the repository's out/examples/convert-checkpoint/sao-tiny-random (gitignored).
// Then: `npx audiogen inspect <out dir>/dit_model.tflite`, or generate with the `generate` example.
import { fileURLToPath } from 'node:url';
import {
  convertStableAudioCheckpoint,
  opReport,
  readSafetensors,
  writeRandomStableAudioFolder,
} from '@audiogen/convert';

const [
  out = fileURLToPath(new URL('../../out/examples/convert-checkpoint/sao-tiny-random', import.meta.url)),
  checkpoint,
  config,
  t5,
] = process.argv.slice(2);
const onProgress = (message) => console.error(`  ${message}`);

let result;
if (checkpoint) {
  // Peek at the checkpoint first: the header is validated and no tensor is read yet.
  const ckpt = readSafetensors(checkpoint);
  console.log(`${checkpoint}: ${ckpt.keys().length} tensors`);
  ckpt.close();
  // Missing, extra or mis-shaped keys fail here with ONE error listing all of them.
  result = await convertStableAudioCheckpoint({ checkpoint, config, t5, out, onProgress });
} else {
  console.log('no checkpoint given: writing a tiny folder with seeded RANDOM weights (it produces noise)');
  result = await writeRandomStableAudioFolder({ out, tiny: true, seed: 1, onProgress });
}
for (const [name, f] of Object.entries(result.files)) {
  if (f.ops)
    console.log(
      `${name.padEnd(13)} ${(f.bytes / 1e6).toFixed(1).padStart(8)} MB ${String(f.ops).padStart(5)} ops  off XNNPACK: ${JSON.stringify(f.builtinOps)}`,
    );
}
void opReport; // opReport(graph) gives the same XNNPACK report for graphs you build yourself.
