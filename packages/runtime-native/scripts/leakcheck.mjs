#!/usr/bin/env node
// npm run leakcheck -w @audiogen/runtime-native
// 600 warm-up + 500 measured load/run/dispose cycles (file and bytes sources alternating, plus a run aborted before start and a
// dispose during a run every 50 cycles, and an undisposed model left to the GC every 25); RSS must stay flat
// after warm-up, and so must the open file descriptors (a leaked model memfd keeps the whole file in shared
// memory, which RSS does not show once unmapped). Exit code 1 on growth > LIMIT_MB or any fd growth.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNativeRuntime } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const fx = (n) => join(here, '..', 'fixtures', n);
const WARMUP = Number(process.env.WARMUP ?? 600); // malloc arenas of the libuv workers + JIT warm up: not counted
const CYCLES = Number(process.env.CYCLES ?? 500);
const LIMIT_MB = Number(process.env.LIMIT_MB ?? 4);
const rt = createNativeRuntime({ threads: 1 });
const bytes = new Uint8Array(readFileSync(fx('fc_probe.tflite')));
const x = { dtype: 'float32', shape: [1, 512], data: new Float32Array(512).fill(1) };
const rss = () => process.memoryUsage().rss / 2 ** 20;
const fds = () => (process.platform === 'linux' ? readdirSync('/proc/self/fd').length : 0);
const fdSamples = [];
const samples = [];
for (let i = 1; i <= WARMUP + CYCLES; i++) {
  const m = await rt.load(i % 2 ? fx('fc_probe.tflite') : bytes, { threads: 1 });
  const out = await m.run({ x });
  if (out.y.data.length !== 64) throw new Error('bad output');
  if (i % 25 === 0) {
    // a model that is never disposed: the GC finalizer must free it
    const leaked = await rt.load(fx('fc_probe.tflite'), { threads: 1 });
    await leaked.run({ x });
  }
  if (i % 50 === 0) {
    const ac = new AbortController();
    ac.abort();
    await m.run({ x }, { signal: ac.signal }).catch(() => {});
    const p = m.run({ x }).catch(() => {});
    m.dispose();
    await p;
  } else m.dispose();
  if (i % 50 === 0) {
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 10));
    globalThis.gc?.();
    const r = rss();
    samples.push([i, +r.toFixed(1)]);
    if (i > WARMUP) fdSamples.push(fds()); // after a GC: the undisposed models' memfds are closed too
    console.error(`cycle ${i}: rss ${r.toFixed(1)} MB, ${fds()} fds`);
  }
}
const fdGrowth = fdSamples.length ? fdSamples[fdSamples.length - 1] - fdSamples[0] : 0;
// RSS jitters by a few MB (allocator): compare the mean of the first 4 samples after warm-up with the
// mean of the last 4.
const measured = samples.filter(([i]) => i > WARMUP).map(([, r]) => r);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const start = mean(measured.slice(0, 4));
const end = mean(measured.slice(-4));
const growth = end - start;
console.log(
  JSON.stringify({
    warmupCycles: WARMUP,
    measuredCycles: CYCLES,
    rssStartMB: +start.toFixed(1),
    rssEndMB: +end.toFixed(1),
    growthMB: +growth.toFixed(1),
    fdGrowth,
    samples,
  }),
);
if (growth > LIMIT_MB) {
  console.error(
    `RSS grew ${growth.toFixed(1)} MB over ${CYCLES} cycles after warm-up (limit ${LIMIT_MB} MB)`,
  );
  process.exit(1);
}
if (fdGrowth > 0) {
  console.error(`${fdGrowth} more open file descriptors after ${CYCLES} cycles`);
  process.exit(1);
}
