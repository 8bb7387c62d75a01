// ONNX → .tflite in TypeScript (after `npm run build` at the repo root).
//
//   node index.mjs [model.onnx] [out.tflite] [name=1x64x256 ...]
//
// Without arguments it converts the tiny T5 encoder the convert package's tests use.
import { fileURLToPath } from 'node:url';
import { convertOnnxFile, opReport } from '@audiogen/convert';
import { checkOutputTarget } from '@audiogen/core';
import { inspectTflite, writeTfliteFile } from '@audiogen/core/tflite';

const fixture = fileURLToPath(
  new URL('../../packages/convert/fixtures/onnx/t5_encoder.onnx', import.meta.url),
);
const [input = fixture, output = 'model.tflite', ...shapeArgs] = process.argv.slice(2);

// Inputs with symbolic dimensions (e.g. "batch") need fixed shapes: name=1x64x256.
const shapes = Object.fromEntries(
  shapeArgs.map((s) => s.split('=')).map(([k, v]) => [k, v.split('x').map(Number)]),
);

// The output path is checked before converting (writable, not the input); the write is atomic.
await checkOutputTarget(output, { inputs: [input] });

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
