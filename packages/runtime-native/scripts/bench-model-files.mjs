#!/usr/bin/env node
// Cost of loading a model from a private in-memory copy ('copy', the default: survives its file being
// truncated or replaced; packed weights' pages freed after compile) against 'copy-keep' (the copy kept whole,
// releasePackedWeights: false), LiteRT mapping the file ('map') and 'cache' (copy + XNNPACK's weight cache
// file: the model is loaded once to write the cache, disposed, and the second load is measured). For each
// .tflite in a folder, each mode runs in its own process, interleaved over --rounds: load time, process CPU
// time of the load, RSS (anonymous, file-backed and shared memory — the memfd copy) after load and after one
// run with zero inputs, and peak RSS.
//   node scripts/bench-model-files.mjs <model folder> [--rounds 2] [--threads 2] [--only dit_model]
//        [--modes copy,copy-keep,map,cache]
// Run under the bench lock: flock /tmp/audiogen-bench.lock node scripts/bench-model-files.mjs models/full
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};

if (process.argv[2] === '--child') {
  const [, , , file, mode, threads] = process.argv;
  const { createNativeRuntime } = await import('@audiogen/runtime-native');
  const mem = () => {
    const o = {};
    for (const l of readFileSync('/proc/self/status', 'utf8').split('\n')) {
      const m = /^(VmRSS|VmHWM|RssAnon|RssFile|RssShmem):\s+(\d+) kB/.exec(l);
      if (m) o[m[1]] = Math.round(Number(m[2]) / 1024);
    }
    return o;
  };
  const rt = createNativeRuntime({
    threads: Number(threads),
    modelFiles: mode === 'map' ? 'map' : 'copy',
    releasePackedWeights: mode !== 'copy-keep',
  });
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const cacheDir = mode === 'cache' ? mkdtempSync(join(tmpdir(), 'audiogen-xnncache-')) : undefined;
  const loadOptions = cacheDir ? { weightCachePath: join(cacheDir, 'model.xnncache') } : {};
  if (cacheDir) (await rt.load(file, loadOptions)).dispose(); // writes the cache
  const base = mem();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const m = await rt.load(file, loadOptions);
  const loadMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const afterLoad = mem();
  const inputs = {};
  for (const t of m.inputs) {
    const n = t.shape.reduce((a, b) => a * Math.max(1, b), 1);
    const data =
      t.dtype === 'int64'
        ? new BigInt64Array(n)
        : t.dtype === 'int32'
          ? new Int32Array(n)
          : new Float32Array(n);
    inputs[t.name] = { dtype: t.dtype, shape: t.shape.map((d) => Math.max(1, d)), data };
  }
  const t1 = performance.now();
  await m.run(inputs);
  const runMs = performance.now() - t1;
  const afterRun = mem();
  m.dispose();
  if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
  process.stdout.write(
    JSON.stringify({
      loadMs,
      loadCpuMs: (cpu.user + cpu.system) / 1000,
      runMs,
      releasedMB: m.releasedWeightBytes / 2 ** 20,
      base,
      afterLoad,
      afterRun,
    }),
  );
  process.exit(0);
}

const dir = process.argv[2];
const rounds = Number(arg('rounds', 2));
const threads = arg('threads', '2');
const only = arg('only');
const modes = arg('modes', 'copy,copy-keep,map').split(',');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.tflite') && (!only || f.includes(only)))
  .sort();
const rows = [];
for (const f of files) {
  const res = Object.fromEntries(modes.map((m) => [m, []]));
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 ? [...modes].reverse() : modes) {
      const p = spawnSync(process.execPath, [process.argv[1], '--child', join(dir, f), mode, threads], {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      });
      if (p.status !== 0) throw new Error(`${f} ${mode}: ${p.stderr.slice(-2000)}`);
      res[mode].push(JSON.parse(p.stdout));
    }
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const mode of modes) {
    const xs = res[mode];
    rows.push({
      model: f,
      mode,
      loadMs: Math.round(med(xs.map((x) => x.loadMs))),
      loadCpuMs: Math.round(med(xs.map((x) => x.loadCpuMs))),
      runMs: Math.round(med(xs.map((x) => x.runMs))),
      releasedMB: Math.round(med(xs.map((x) => x.releasedMB))),
      anonAfterLoadMB: med(xs.map((x) => x.afterLoad.RssAnon - x.base.RssAnon)),
      fileAfterLoadMB: med(xs.map((x) => x.afterLoad.RssFile - x.base.RssFile)),
      shmemAfterLoadMB: med(xs.map((x) => x.afterLoad.RssShmem - x.base.RssShmem)),
      rssAfterRunMB: med(xs.map((x) => x.afterRun.VmRSS)),
      anonAfterRunMB: med(xs.map((x) => x.afterRun.RssAnon)),
      fileAfterRunMB: med(xs.map((x) => x.afterRun.RssFile)),
      shmemAfterRunMB: med(xs.map((x) => x.afterRun.RssShmem)),
      peakMB: med(xs.map((x) => x.afterRun.VmHWM)),
    });
  }
}
console.table(rows);
if (arg('json')) (await import('node:fs')).writeFileSync(arg('json'), JSON.stringify(rows, null, 1));
