// Quantize a DiT with AEQ's dynamic_wi8_afp32 recipe, check each layer's error, write the overlay and a chart.
// Usage: node index.mjs [model folder] [out dir]   (after `npm run build` at the repo root). Runs from any
// folder: the defaults are the repository's models/random-tiny (made by `npm run demo`) and
// out/examples/quantize-dit/ (out/ is gitignored).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkOutputTarget, makeOutputFolder, writeFileAtomic } from '@audiogen/core';
import {
  compare,
  comparisonHtml,
  modelExplorerOverlay,
  namedRecipe,
  quantizeModel,
} from '@audiogen/quantize';
import { createNativeRuntime } from '@audiogen/runtime-native';

const repo = (path) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const [models = repo('models/random-tiny'), out = repo('out/examples/quantize-dit')] = process.argv.slice(2);
// Check the output folder before any work, then write every file through core's output layer
// (complete or untouched, typed IO_ERROR on a full or read-only disk).
await checkOutputTarget(out, { kind: 'folder' });
await makeOutputFolder(out);
const text = (s) => new TextEncoder().encode(s);

const float = new Uint8Array(await readFile(join(models, 'dit_model.tflite')));
const { model, report } = quantizeModel(float, namedRecipe('dynamic_wi8_afp32'));
await writeFileAtomic(join(out, 'dit_model.int8.tflite'), model);
console.log(
  `${report.summary.quantizedOps} ops quantized; size ×${report.sizeRatio.toFixed(3)}; skipped:`,
  report.summary.skippedByOp,
);

// Every tensor of both models on the same random inputs: AEQ's five metrics per tensor.
const result = await compare(float, model, 'random', createNativeRuntime(), { threads: 2 });
await writeFileAtomic(join(out, 'dit_comparison_result.json'), text(JSON.stringify(result, null, 1)));
await writeFileAtomic(
  join(out, 'dit_overlay_mse.json'),
  text(JSON.stringify(modelExplorerOverlay(result, 'mse'))),
);
await writeFileAtomic(
  join(out, 'dit_error_chart.html'),
  text(comparisonHtml(result, { metric: 'cosine_similarity' })),
);

const sig = result.serving_default;
for (const [name, m] of Object.entries(sig.output_tensors)) {
  console.log(`output ${name}: cosine ${m.cosine_similarity.toFixed(5)}, snr ${m.snr.toFixed(1)}`);
}
const worst = Object.entries(sig.intermediate_tensors)
  .sort((a, b) => a[1].cosine_similarity - b[1].cosine_similarity)
  .slice(0, 5);
console.log(
  'least similar layers:',
  worst.map(([n, m]) => `${n} (${m.cosine_similarity.toFixed(4)})`).join(', '),
);
console.log(
  `wrote ${out}/: load dit_overlay_mse.json in Model Explorer onto dit_model.int8.tflite; open dit_error_chart.html`,
);
