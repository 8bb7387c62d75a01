#!/usr/bin/env node
// Decoder time and memory per mechanism, each case in its own process (so peak RSS is its own), cases
// interleaved over rounds. After a build, with full-size decoders (an open-frame one from the converter, and
// optionally the old fixed one with the same weights):
//
//   flock /tmp/audiogen-bench.lock node packages/stable-audio/scripts/decode-bench.mjs --open FILE
//     [--fixed FILE] [--cases fixed:256,open:256,open:225,open:117,window:128] [--threads 2] [--rounds 3]
//     [--json out.json]
//
// Cases: `fixed:N` / `open:N` decode the first N latent frames (fixed needs N = its length); `window:W`
// decodes all frames in windows of W frames, each run with the receptive-field margin on both sides (what a
// fixed shorter decoder would do); `switch` resizes one model 256 → 225 → 117 → 256 → 225 to show what a
// resize costs. Each process loads the model, runs twice (the first run pays XNNPACK's setup) and reports the
// second run's wall and process CPU time (all threads) and the process's peak RSS (VmHWM).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const HOP = 2048;
const C = 64;
const T = 256;

if (process.argv[2] === '--child') {
  const { path, kind, n, threads } = JSON.parse(process.argv[3]);
  const { createNativeRuntime } = await import('@audiogen/runtime-native');
  const { oobleckDecoderMargin } = await import('../dist/index.js');
  const mem = () => {
    const o = {};
    for (const l of readFileSync('/proc/self/status', 'utf8').split('\n')) {
      const m = /^(VmRSS|VmHWM|RssAnon|RssFile):\s+(\d+) kB/.exec(l);
      if (m) o[m[1]] = Number(m[2]) / 1024;
    }
    return o;
  };
  const latents = Float32Array.from({ length: C * T }, (_, i) => Math.sin(i * 0.7311) * 1.3);
  const t0 = performance.now();
  const model = await createNativeRuntime().load(path, { threads, label: 'decoder' });
  const loadMs = performance.now() - t0;
  const afterLoad = mem();
  const run = async (from, len) => {
    const feed = new Float32Array(C * len);
    for (let c = 0; c < C; c++) feed.set(latents.subarray(c * T + from, c * T + from + len), c * len);
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    await model.run({ latents: { dtype: 'float32', shape: [1, C, len], data: feed } });
    const cpu = process.cpuUsage(c0);
    return { ms: performance.now() - w0, cpuMs: (cpu.user + cpu.system) / 1000, frames: len };
  };
  // One whole decode of the case: returns the runs it made.
  const once = async () => {
    if (kind !== 'window') return [await run(0, n)];
    const m = Math.ceil(oobleckDecoderMargin([2, 4, 4, 8, 8]) / HOP);
    const runs = [];
    // Windows of n frames, each with m frames of context on both sides (clipped at the clip's edges); a
    // fixed-length decoder would pad the edge windows instead.
    for (let a = 0; a < T; a += n) {
      const from = Math.max(0, a - m);
      const to = Math.min(T, a + n + m);
      runs.push(await run(from, to - from));
    }
    return runs;
  };
  const sum = (rs) => ({
    ms: rs.reduce((s, r) => s + r.ms, 0),
    cpuMs: rs.reduce((s, r) => s + r.cpuMs, 0),
    frames: rs.reduce((s, r) => s + r.frames, 0),
  });
  let result;
  if (kind === 'switch') {
    const seq = [];
    for (const len of [256, 256, 225, 225, 117, 117, 256, 256, 225]) seq.push(await run(0, len));
    result = { sequence: seq };
  } else {
    const first = sum(await once());
    const second = sum(await once());
    result = { first, second };
  }
  model.dispose();
  const end = mem();
  process.stdout.write(
    `${JSON.stringify({ loadMs, afterLoadMB: afterLoad.VmRSS, peakMB: end.VmHWM, ...result })}\n`,
  );
  process.exit(0);
}

const threads = Number(arg('threads', 2));
const rounds = Number(arg('rounds', 3));
const paths = { open: arg('open'), fixed: arg('fixed') };
const cases = String(arg('cases', `${paths.fixed ? 'fixed:256,' : ''}open:256,open:225,open:117,window:128`))
  .split(',')
  .map((c) => {
    const [kind, n] = c.split(':');
    return { name: c, kind, n: Number(n ?? T), path: kind === 'fixed' ? paths.fixed : paths.open };
  });
for (const c of cases)
  if (!c.path) throw new Error(`case ${c.name} needs --${c.kind === 'fixed' ? 'fixed' : 'open'}`);
const results = Object.fromEntries(cases.map((c) => [c.name, []]));
for (let r = 0; r < rounds; r++)
  for (const c of cases) {
    const p = spawnSync(
      process.execPath,
      [process.argv[1], '--child', JSON.stringify({ path: c.path, kind: c.kind, n: c.n, threads })],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
    );
    const line = p.stdout.trim().split('\n').at(-1);
    if (p.status !== 0 || !line?.startsWith('{')) throw new Error(`${c.name}: ${p.stderr.slice(-2000)}`);
    const j = JSON.parse(line);
    results[c.name].push(j);
    console.error(`round ${r + 1} ${c.name}: ${line}`);
  }
const med = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const base = cases.find((c) => c.kind === 'open' && c.n === T)?.name;
const rows = [];
for (const c of cases.filter((c) => c.kind !== 'switch')) {
  const rs = results[c.name];
  const row = {
    case: c.name,
    frames: rs[0].second.frames,
    ms: med(rs.map((x) => x.second.ms)),
    cpuMs: med(rs.map((x) => x.second.cpuMs)),
    firstMs: med(rs.map((x) => x.first.ms)),
    peakMB: Math.max(...rs.map((x) => x.peakMB)),
    loadMs: med(rs.map((x) => x.loadMs)),
  };
  // CPU ratio to the open decoder's full decode, per round (paired), median.
  if (base) row.cpuRatio = med(rs.map((x, i) => x.second.cpuMs / results[base][i].second.cpuMs));
  rows.push(row);
}
console.log(
  `threads ${threads}, ${rounds} rounds (median; CPU = process CPU time of the second decode, all threads)`,
);
console.log('case         frames  wall ms  CPU ms  CPU ÷ open:256  1st run ms  peak RSS MB  load ms');
for (const r of rows)
  console.log(
    `${r.case.padEnd(12)} ${String(r.frames).padStart(6)}  ${r.ms.toFixed(0).padStart(7)}  ${r.cpuMs.toFixed(0).padStart(6)}  ${(r.cpuRatio ?? Number.NaN).toFixed(3).padStart(14)}  ${r.firstMs.toFixed(0).padStart(10)}  ${r.peakMB.toFixed(0).padStart(11)}  ${r.loadMs.toFixed(0).padStart(7)}`,
  );
if (results.switch)
  for (const s of results.switch)
    console.log(
      `switch: ${s.sequence.map((x) => `${x.frames}:${x.ms.toFixed(0)}ms`).join(' ')} (peak ${s.peakMB.toFixed(0)} MB)`,
    );
const out = arg('json');
if (out) writeFileSync(out, `${JSON.stringify({ threads, rounds, rows, results }, null, 2)}\n`);
