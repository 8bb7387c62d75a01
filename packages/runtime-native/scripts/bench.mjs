#!/usr/bin/env node
// npm run bench -w @audiogen/runtime-native
// Real-size models (DiT-like FC stack in fp32 and int8 dynamic-range, Oobleck-like conv/transposed-conv
// stack) run by this package and by the official LiteRT Python runtime (ai-edge-litert 2.3.0), same files,
// same inputs, interleaved, 1 and 2 threads. Reports median latency, ratio (node/python), GFLOP/s, peak RSS.
// Wrap in `flock /tmp/audiogen-bench.lock` on shared machines. Env: BENCH_RUNS (default 7), BENCH_DIR.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..', '..');
const py = join(repo, '.venv', 'bin', 'python');
const dir = process.env.BENCH_DIR ?? join(tmpdir(), 'audiogen-runtime-bench');
const runs = Number(process.env.BENCH_RUNS ?? 7);
if (!existsSync(py)) throw new Error(`${py} missing: run scripts/setup-dev.sh first`);
if (!existsSync(join(dir, 'flops.json'))) {
  mkdirSync(dir, { recursive: true });
  console.error(`[bench] building models in ${dir}`);
  execFileSync(py, [join(here, 'make_models.py'), 'bench', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
}
const flops = JSON.parse(readFileSync(join(dir, 'flops.json'), 'utf8'));
const models = Object.keys(flops);
const threadsList = (process.env.BENCH_THREADS ?? '1,2').split(',').map(Number);
const env = { ...process.env };

function one(cmd, args) {
  const out = execFileSync(cmd, args, {
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 1 << 20,
  }).toString();
  return JSON.parse(out.trim().split('\n').pop());
}

const rows = [];
for (const name of models) {
  const file = join(dir, `${name}.tflite`);
  for (const threads of threadsList) {
    // interleave: node, python, node, python (two rounds each; keep the better median of each)
    const n1 = one(process.execPath, [join(here, 'bench-one.mjs'), file, String(threads), String(runs)]);
    const p1 = one(py, [join(here, 'py_bench.py'), file, String(threads), String(runs)]);
    const n2 = one(process.execPath, [join(here, 'bench-one.mjs'), file, String(threads), String(runs)]);
    const p2 = one(py, [join(here, 'py_bench.py'), file, String(threads), String(runs)]);
    const node = Math.min(n1.median_ms, n2.median_ms);
    const python = Math.min(p1.median_ms, p2.median_ms);
    const relDiff = Math.abs(n1.out0_sum - p1.out0_sum) / Math.max(1e-12, Math.abs(p1.out0_sum));
    rows.push({
      model: name,
      threads,
      node_ms: +node.toFixed(2),
      python_ms: +python.toFixed(2),
      ratio: +(node / python).toFixed(3),
      gflops_node: +(flops[name] / node / 1e6).toFixed(1),
      gflops_python: +(flops[name] / python / 1e6).toFixed(1),
      peak_rss_mb_node: Math.round(Math.max(n1.peak_rss_mb, n2.peak_rss_mb)),
      peak_rss_mb_python: Math.round(Math.max(p1.peak_rss_mb, p2.peak_rss_mb)),
      load_ms_node: Math.round(n1.load_ms),
      load_ms_python: Math.round(p1.load_ms),
      output_rel_diff: relDiff,
    });
    console.error(JSON.stringify(rows.at(-1)));
  }
}
console.log(
  '| model | threads | node ms | python ms | ratio | GFLOP/s node | GFLOP/s python | peak RSS MB node/python | out0 rel diff |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.model} | ${r.threads} | ${r.node_ms} | ${r.python_ms} | ${r.ratio} | ${r.gflops_node} | ${r.gflops_python} | ${r.peak_rss_mb_node}/${r.peak_rss_mb_python} | ${r.output_rel_diff.toExponential(1)} |`,
  );
}
const out = join(dir, 'bench-results.json');
writeFileSync(out, JSON.stringify(rows, null, 2));
console.error(`[bench] results in ${out}`);
