#!/usr/bin/env node
// npm run bench -w @audiogen/runtime-native
// Real-size models (DiT-like FC stack in fp32 and int8 dynamic-range, Oobleck-like conv/transposed-conv
// stack) run by this package and by the official LiteRT Python runtime (ai-edge-litert 2.3.0), same files,
// same inputs, 1 and 2 threads. Both runtimes stay loaded and alternate single timed runs (N, P, N, P …)
// so they share the machine's load; reports medians, the median of the per-pair node/python ratios (wall
// time, and process CPU time, which other jobs on a shared machine disturb less),
// GFLOP/s, peak RSS, load time, and output agreement.
// Wrap in `flock /tmp/audiogen-bench.lock` on shared machines. Env: BENCH_PAIRS (12), BENCH_THREADS (1,2),
// BENCH_DIR.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { paired } from './bench-paired.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..', '..');
const py = join(repo, '.venv', 'bin', 'python');
const dir = process.env.BENCH_DIR ?? join(tmpdir(), 'audiogen-runtime-bench');
const pairs = Number(process.env.BENCH_PAIRS ?? 12);
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

// The plain C++ runner (same LiteRT calls as the addon, no Node) separates binding overhead from
// differences between LiteRT builds (the wheel's Python extension runs its own statically linked LiteRT).
const cbench = join(here, '..', 'build', 'bench_c');
execFileSync(
  process.env.CXX || 'g++',
  [
    '-O2',
    '-std=c++17',
    join(here, '..', 'native', 'bench_c.cc'),
    `-I${join(here, '..', 'native')}`,
    `-L${join(here, '..', 'vendor', `linux-${process.arch}`)}`,
    '-l:libLiteRt.so',
    `-Wl,-rpath,${join(here, '..', 'vendor', `linux-${process.arch}`)}`,
    '-o',
    cbench,
  ],
  { stdio: 'inherit' },
);
const rows = [];
for (const name of models) {
  const file = join(dir, `${name}.tflite`);
  for (const threads of threadsList) {
    const r = await paired(file, threads, pairs, cbench);
    rows.push({
      model: name,
      threads,
      node_median_ms: +r.node_median_ms.toFixed(1),
      python_median_ms: +r.python_median_ms.toFixed(1),
      pair_ratio_median: +r.pair_ratio_median.toFixed(3),
      cpu_pair_ratio_median: +r.cpu_pair_ratio_median.toFixed(3),
      cpp_median_ms: +r.cpp_median_ms.toFixed(1),
      cpp_to_python: +r.cpp_pair_ratio_median.toFixed(3),
      node_to_cpp: +r.node_to_cpp_ratio_median.toFixed(3),
      cpu_node_to_cpp: +r.cpu_node_to_cpp_ratio_median.toFixed(3),
      gflops_node: +(flops[name] / r.node_median_ms / 1e6).toFixed(1),
      gflops_python: +(flops[name] / r.python_median_ms / 1e6).toFixed(1),
      node_min_ms: +r.node_min_ms.toFixed(1),
      python_min_ms: +r.python_min_ms.toFixed(1),
      peak_rss_mb_node: Math.round(r.node_peak_rss_mb),
      peak_rss_mb_python: Math.round(r.python_peak_rss_mb),
      load_ms_node: Math.round(r.node_load_ms),
      load_ms_python: Math.round(r.python_load_ms),
    });
    console.error(JSON.stringify(rows.at(-1)));
  }
}
// Same file, same inputs => same numbers: compare output 0 of one run of each.
const agree = {};
for (const name of models) {
  const file = join(dir, `${name}.tflite`);
  const a = one(process.execPath, [join(here, 'bench-one.mjs'), file, '1', '1']);
  const b = one(py, [join(here, 'py_bench.py'), file, '1', '1']);
  agree[name] = Math.abs(a.out0_sum - b.out0_sum) / Math.max(1e-12, Math.abs(b.out0_sum));
}
console.log(
  '| model | threads | median ms node / python / C++ | node÷python | node÷python CPU time | C++÷python | node÷C++ | node÷C++ CPU time | GFLOP/s node / python | min ms node / python | peak RSS MB node / python | load ms node / python | out0 rel diff |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.model} | ${r.threads} | ${r.node_median_ms} / ${r.python_median_ms} / ${r.cpp_median_ms} | ${r.pair_ratio_median} | ${r.cpu_pair_ratio_median} | ${r.cpp_to_python} | ${r.node_to_cpp} | ${r.cpu_node_to_cpp} | ${r.gflops_node} / ${r.gflops_python} | ${r.node_min_ms} / ${r.python_min_ms} | ${r.peak_rss_mb_node} / ${r.peak_rss_mb_python} | ${r.load_ms_node} / ${r.load_ms_python} | ${agree[r.model].toExponential(1)} |`,
  );
}
const out = join(dir, 'bench-results.json');
writeFileSync(out, JSON.stringify({ rows, outputRelDiff: agree }, null, 2));
console.error(`[bench] results in ${out}`);
