#!/usr/bin/env node
// Times one model with @audiogen/runtime-native (same protocol as py_bench.py), for scripts/bench.mjs.
//   node bench-one.mjs <model.tflite> <threads> <runs> [xnnpack_flags]
import { createNativeRuntime } from '../dist/index.js';

const [path, threadsArg, runsArg, flagsArg] = process.argv.slice(2).filter((a) => a !== '--serve');
const threads = Number(threadsArg);
const runs = Number(runsArg);
const rt = createNativeRuntime();
const t0 = performance.now();
const model = await rt.load(path, {
  threads,
  xnnpackFlags: flagsArg === undefined ? undefined : Number(flagsArg),
});
const loadMs = performance.now() - t0;
const inputs = {};
for (const info of model.inputs) {
  const n = info.shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(0.001 * i);
  inputs[info.name] = { dtype: 'float32', shape: info.shape, data };
}
// Output tensors reused across runs, as Python's and the C++ runner's output buffers are.
const outputs = {};
for (const [name, t] of Object.entries(await model.run(inputs))) // warm-up
  outputs[name] = { dtype: t.dtype, shape: t.shape, data: t.data.slice() };
if (process.argv.includes('--serve')) {
  // paired mode (bench.mjs): one timed run per "run" line on stdin, answering with its wall and process CPU ms
  console.log(JSON.stringify({ ready: true, load_ms: loadMs }));
  const { createInterface } = await import('node:readline');
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() !== 'run') break;
    const t = performance.now();
    const c = process.cpuUsage();
    await model.run(inputs, { outputs });
    const cpu = process.cpuUsage(c);
    console.log(JSON.stringify({ ms: performance.now() - t, cpu_ms: (cpu.user + cpu.system) / 1000 }));
  }
  console.log(JSON.stringify({ peak_rss_mb: process.resourceUsage().maxRSS / 1024 }));
  model.dispose();
  process.exit(0);
}
const times = [];
let out;
for (let i = 0; i < runs; i++) {
  const t = performance.now();
  out = await model.run(inputs);
  times.push(performance.now() - t);
}
const y = out[model.outputs[0].name].data;
let sum = 0;
for (let i = 0; i < y.length; i++) sum += y[i];
const sorted = [...times].sort((a, b) => a - b);
const mid = sorted.length >> 1;
const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
model.dispose();
console.log(
  JSON.stringify({
    runtime: 'node',
    load_ms: loadMs,
    run_ms: times,
    median_ms: median,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    out0_sum: sum,
    out0_head: Array.from(y.subarray(0, 4)),
  }),
);
