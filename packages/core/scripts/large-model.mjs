// Large-model check of the .tflite writer/verifier (not part of `npm test`; needs ~8 GB RAM and
// ~5 GB of disk). Builds a chain of FULLY_CONNECTED layers whose weights total more than 2 GB,
// writes it with writeTfliteFile (Buffer.offset/size layout, streamed), verifies it on disk, and runs
// it in the official LiteRT runtime. Every weight is 1/N, so with x = ones the output is exactly ones.
//
//   cd packages/core && npx tsup && node scripts/large-model.mjs [layers=36] [width=4096]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspectTfliteFile, verifyTfliteFile, writeTfliteFile } from '../dist/tflite.js';

const layers = Number(process.argv[2] ?? 36);
const n = Number(process.argv[3] ?? 4096);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'audiogen-large-'));
const path = join(dir, 'large.tflite');
const mb = (x) => `${(x / 2 ** 20).toFixed(0)} MiB`;

try {
  const tensors = [{ name: 'x', type: 'FLOAT32', shape: [1, n] }];
  const operators = [];
  for (let i = 0; i < layers; i++) {
    const w = new Float32Array(n * n).fill(1 / n);
    tensors.push({ name: `w${i}`, type: 'FLOAT32', shape: [n, n], data: new Uint8Array(w.buffer) });
    tensors.push({ name: `h${i}`, type: 'FLOAT32', shape: [1, n] });
    const input = i === 0 ? 0 : 2 * i;
    operators.push({
      op: 'FULLY_CONNECTED',
      builtin_code: 9,
      version: 1,
      inputs: [input, 2 * i + 1, -1],
      outputs: [2 * i + 2],
      options: { type: 'FullyConnectedOptions' },
    });
  }
  const out = tensors.length - 1;
  const graph = {
    version: 3,
    description: 'audiogen large-model check',
    subgraphs: [{ name: 'main', tensors, inputs: [0], outputs: [out], operators }],
    signatures: [
      {
        signature_key: 'serving_default',
        subgraph_index: 0,
        inputs: [{ name: 'x', tensor_index: 0 }],
        outputs: [{ name: 'y', tensor_index: out }],
      },
    ],
    metadata: [],
  };
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  let t = performance.now();
  await writeTfliteFile(path, graph);
  const writeMs = performance.now() - t;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  const size = statSync(path).size;
  t = performance.now();
  verifyTfliteFile(path);
  const verifyMs = performance.now() - t;
  t = performance.now();
  const ins = inspectTfliteFile(path);
  const inspectMs = performance.now() - t;
  console.log(
    JSON.stringify({
      layers,
      width: n,
      fileBytes: size,
      file: mb(size),
      parameters: ins.parameters.count,
      writeMs: Math.round(writeMs),
      rssBeforeWrite: mb(rss0),
      rssPeakDuringWrite: mb(peak),
      verifyFileMs: Math.round(verifyMs),
      inspectFileMs: Math.round(inspectMs),
    }),
  );
  const py = `
import numpy as np, sys, time
from ai_edge_litert.interpreter import Interpreter
t = time.time(); it = Interpreter(model_path=sys.argv[1], num_threads=2); it.allocate_tensors()
d = it.get_input_details()[0]; it.set_tensor(d["index"], np.ones(d["shape"], np.float32)); it.invoke()
y = it.get_tensor(it.get_output_details()[0]["index"])
print({"litert_load_and_run_s": round(time.time() - t, 2), "max_abs_err_vs_ones": float(np.max(np.abs(y - 1)))})
`;
  console.log(execFileSync(join(root, '.venv/bin/python'), ['-c', py, path]).toString().trim());
} finally {
  rmSync(dir, { recursive: true, force: true });
}
