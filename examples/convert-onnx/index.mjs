// ONNX → .tflite in TypeScript (after `npm run build` at the repo root).
//
//   node index.mjs [model.onnx] [out.tflite] [name=1x64x256 ...]
//
// Without arguments it converts the tiny T5 encoder the convert package's tests use into the repository's
// out/examples/convert-onnx/t5_encoder.tflite (out/ is gitignored), from any folder.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertOnnxFile, opReport } from '@audiogen/convert';
import { checkOutputTarget, makeOutputFolder } from '@audiogen/core';
import { inspectTflite, writeTfliteFile } from '@audiogen/core/tflite';

const repo = (path) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const [
  input = repo('packages/convert/fixtures/onnx/t5_encoder.onnx'),
  output = repo('out/examples/convert-onnx/t5_encoder.tflite'),
  ...shapeArgs
] = process.argv.slice(2);

// Inputs with symbolic dimensions (e.g. "batch") need fixed shapes: name=1x64x256.
const shapes = Object.fromEntries(
  shapeArgs.map((s) => s.split('=')).map(([k, v]) => [k, v.split('x').map(Number)]),
);

// The output path is checked before converting (writable, not the input); the write is atomic.
await checkOutputTarget(output, { inputs: [input] });
await makeOutputFolder(dirname(output));

// Unsupported ops fail here with one error listing every op and node name.
const graph = convertOnnxFile(input, { shapes });
const report = opReport(graph);
await writeTfliteFile(output, graph);

console.log(
  `${input} → ${output}: ${report.operators} ops, ${(report.constantBytes / 1e6).toFixed(2)} MB of weights`,
);
console.log('on the XNNPACK path:', report.xnnpack);
console.log('builtin kernels    :', report.builtin);
for (const s of inspectTflite(graph).signatures ?? []) console.log('signature', JSON.stringify(s));
