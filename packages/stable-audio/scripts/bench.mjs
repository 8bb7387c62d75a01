#!/usr/bin/env node
// `npm run bench -w @audiogen/stable-audio` (after a build): full-size Stable Audio Open Small shapes with
// RANDOM weights (made by the converter at bench time under <repo>/models/, never committed), 8 steps,
// 11.89 s of stereo. Reports per-stage times (T5, DiT per step, decoder), total and peak RSS for
// 1 and 2 threads, fp32 and int8-DiT (dynamic int8 via @audiogen/quantize). Each configuration runs in its
// own process so peak RSS is its own. The npm script holds /tmp/audiogen-bench.lock so benchmarks never overlap.
// Both model residencies: 'all' (every model loaded up front and kept) and 'stage' (low memory: each model
// loaded for its stage only). Memory comes from /proc/self/status at every stage boundary (peak per segment,
// RSS, RssAnon vs RssFile at the segment's end). --repeat N runs every configuration N times, interleaved.
//   options: --threads 1,2  --variants fp32,int8  --residency all,stage  --runs 1  --repeat 1  --no-reset
//            --json out.json  --folder DIR (default models/bench-random-small)
//            --precisions fp32,auto,fast: instead of --variants, one folder with the int8 variants written beside the
//            float files (quantizeFolderVariants 'fast'), each configuration choosing by the pipeline's `precision`.
//            --fuse-snake on,off: each configuration with the decoder's Snakes fused and as five ops (the
//            pipeline's decoderFuseSnake, over its per-CPU policy), interleaved; prints the paired ratios.
//            Without the option the pipeline's policy decides.
// Every row also has the process CPU time of the clip and of each stage (paired rounds: compare ratios).
// With --runs N > 1 the table shows the fastest run; 'peak1st' is the peak up to the end of the first clip,
// 'peakRSS' over all runs (glibc may keep freed heap between stages: try MALLOC_TRIM_THRESHOLD_=0).
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};

if (process.argv[2] === '--child') {
  // One configuration: load, `runs` generations (no warm-up), report.
  const { models, threads, runs, residency, reset, precision, fuseSnake } = JSON.parse(process.argv[3]);
  const { readFileSync, writeFileSync: write } = await import('node:fs');
  const { createNativeRuntime } = await import('@audiogen/runtime-native');
  const { createStableAudioPipeline } = await import('@audiogen/stable-audio');
  // Memory from the kernel: /proc/self/status at every stage boundary. Unless --no-reset, the peak (VmHWM)
  // is reset at each boundary (clear_refs 5), so each segment reports its own peak; the process peak is
  // the largest segment peak (the reset also resets getrusage's maxRSS, which then is not used).
  const status = () => {
    const o = {};
    for (const l of readFileSync('/proc/self/status', 'utf8').split('\n')) {
      const m = /^(VmRSS|VmHWM|RssAnon|RssFile):\s+(\d+) kB/.exec(l);
      if (m) o[m[1]] = Number(m[2]) / 1024;
    }
    return o;
  };
  const segments = [];
  let current = 'start';
  let segStart = performance.now();
  let cpuStart = process.cpuUsage();
  const boundary = (next) => {
    const s = status();
    const t = performance.now();
    const cpu = process.cpuUsage(cpuStart);
    cpuStart = process.cpuUsage();
    segments.push({
      name: current,
      ms: t - segStart,
      // Process CPU time (all threads): stable on a shared machine where wall time is not.
      cpuMs: (cpu.user + cpu.system) / 1000,
      peakMB: s.VmHWM,
      endMB: s.VmRSS,
      anonMB: s.RssAnon,
      fileMB: s.RssFile,
    });
    if (reset) write('/proc/self/clear_refs', '5');
    current = next;
    segStart = t;
  };
  const onProgress = (e) => {
    if (e.type === 'load' && !e.done) boundary(`load ${e.model}`);
    else if (e.type === 'encode' && !e.done) boundary('T5');
    else if (e.type === 'step' && e.step === 0 && e.variation === 0) boundary('DiT');
    else if (e.type === 'decode' && !e.done && e.variation === 0) boundary('decoder');
    else if (e.type === 'done') boundary('idle');
  };
  const t0 = performance.now();
  const p = await createStableAudioPipeline({
    models,
    runtime: createNativeRuntime(),
    // The pipeline's own option: a load option from its policy would win over the runtime's default.
    ...(fuseSnake === undefined ? {} : { decoderFuseSnake: fuseSnake }),
    threads,
    loadEncoder: false,
    residency,
    onProgress,
    ...(precision ? { precision } : {}),
  });
  const createMs = performance.now() - t0;
  const results = [];
  for (let r = 0; r < runs; r++) {
    const g0 = performance.now();
    const c0 = process.cpuUsage();
    const res = await p.generate({
      prompt: 'warm ambient pads with soft piano, 90 BPM',
      fullLength: true, // the decoder's whole output (11.89 s)
      seed: 42 + r,
      onProgress,
    });
    const cg = process.cpuUsage(c0);
    const t = res.timings;
    const steps = t.stepMs[0];
    results.push({
      genLoadMs: Object.values(t.loadMs).reduce((a, b) => a + b, 0),
      t5Ms: t.encodeMs,
      ditMsPerStep: steps.reduce((a, b) => a + b, 0) / steps.length,
      ditMs: t.denoiseMs,
      decoderMs: t.decodeMs,
      totalMs: t.totalMs,
      wallMs: performance.now() - g0,
      cpuMs: (cg.user + cg.system) / 1000,
      frames: res.clips[0].clip.channels[0].length,
    });
  }
  boundary('dispose');
  p.dispose();
  await new Promise((r) => setTimeout(r, 200));
  boundary('end');
  const createLoadMs = Object.values(p.loadMs).reduce((a, b) => a + b, 0);
  const peakRssMB = reset
    ? Math.max(...segments.map((s) => s.peakMB))
    : process.resourceUsage().maxRSS / 1024;
  process.stdout.write(
    `${JSON.stringify({ createMs, createLoadMs, loadByModel: p.loadMs, results, segments, peakRssMB, precision: { requested: p.precision.requested, dit: p.precision.dit.precision, decoder: p.precision.decoder.precision, reasons: p.precision.reasons } })}\n`,
  );
  process.exit(0);
}

if (process.argv[2] === '--quantize') {
  // Separate process, so the quantizer's memory is gone before the timed children run.
  const [, , , input, output] = process.argv;
  const { quantizeFile } = await import('@audiogen/quantize');
  const rep = await quantizeFile(input, output, 'sao-dit-int8');
  process.stdout.write(
    `${JSON.stringify({ quantizedBytes: rep.quantizedBytes, sizeRatio: rep.sizeRatio })}\n`,
  );
  process.exit(0);
}

// Options are checked before anything is built (an unknown one, e.g. a typo, would otherwise start a
// minutes-long folder build with the defaults); --help prints the header above.
const KNOWN = new Set([
  'threads',
  'variants',
  'residency',
  'runs',
  'repeat',
  'no-reset',
  'json',
  'folder',
  'precisions',
  'fuse-snake',
  'litert',
]);
const VALUELESS = new Set(['no-reset']);
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '-h' || a === '--help') {
    const { readFileSync } = await import('node:fs');
    const head = readFileSync(fileURLToPath(import.meta.url), 'utf8')
      .split('\n')
      .slice(1);
    console.log(
      head
        .slice(
          0,
          head.findIndex((l) => !l.startsWith('//')),
        )
        .map((l) => l.replace(/^\/\/ ?/, ''))
        .join('\n'),
    );
    process.exit(0);
  }
  const name = a.startsWith('--') ? a.slice(2) : undefined;
  if (!name || !KNOWN.has(name)) {
    console.error(`bench.mjs: unknown argument ${a} (--help lists the options)`);
    process.exit(2);
  }
  if (!VALUELESS.has(name)) i++;
}

const threadsList = arg('threads', '1,2').split(',').map(Number);
// --precisions fp32,auto,fast: one folder carrying every precision, the pipeline's `precision` option chooses.
const precisions = arg('precisions')?.split(',');
const variants = precisions ?? arg('variants', 'fp32,int8').split(',');
const runs = Number(arg('runs', '1'));
const base = resolve(arg('folder') ?? join(root, 'models', 'bench-random-small'));
const log = (m) => console.error(`[bench] ${m}`);

if (!existsSync(join(base, 'audiogen.json'))) {
  log(`building the full-size random-weight folder in ${base} (RANDOM WEIGHTS: output is noise)…`);
  const { writeRandomStableAudioFolder } = await import('@audiogen/convert');
  const t0 = performance.now();
  await writeRandomStableAudioFolder({
    out: base,
    tiny: false,
    seed: 0,
    encoder: false,
    onProgress: (m) => log(`  ${m}`),
  });
  log(`folder built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

const folders = { fp32: base };
if (precisions) {
  // The variants beside the float files, written by the quantizer in its own process.
  const q = spawnSync(
    process.execPath,
    [
      '-e',
      `import('@audiogen/quantize').then((q) => q.quantizeFolderVariants(${JSON.stringify(base)}, 'fast')).then((r) => console.log(JSON.stringify(r.map((x) => [x.out, x.status]))))`,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], cwd: here },
  );
  if (q.status !== 0) throw new Error(`writing the int8 variants failed (exit ${q.status})`);
  log(`variants: ${q.stdout.trim()}`);
  for (const p of precisions) folders[p] = base;
} else if (variants.includes('int8')) {
  const int8 = join(root, 'models', 'bench-random-small-int8dit');
  if (!existsSync(join(int8, 'dit_model.tflite'))) {
    let quantizeFile;
    try {
      ({ quantizeFile } = await import('@audiogen/quantize'));
    } catch {}
    if (typeof quantizeFile !== 'function') {
      log('@audiogen/quantize has no quantizeFile: skipping int8-DiT');
    } else {
      mkdirSync(int8, { recursive: true });
      for (const f of ['conditioners.tflite', 'autoencoder_model.tflite', 'spiece.model', 'audiogen.json']) {
        try {
          linkSync(join(base, f), join(int8, f));
        } catch {
          symlinkSync(join(base, f), join(int8, f));
        }
      }
      log('quantizing the DiT (sao-dit-int8: dynamic int8 per-channel)…');
      const t0 = performance.now();
      const q = spawnSync(
        process.execPath,
        [
          fileURLToPath(import.meta.url),
          '--quantize',
          join(base, 'dit_model.tflite'),
          join(int8, 'dit_model.tflite'),
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
      );
      if (q.status !== 0) throw new Error(`quantizing the DiT failed (exit ${q.status}, signal ${q.signal})`);
      const rep = JSON.parse(q.stdout.trim().split('\n').at(-1));
      log(
        `int8 DiT: ${(rep.quantizedBytes / 1e6).toFixed(0)} MB (${(rep.sizeRatio * 100).toFixed(0)}% of fp32) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    }
  }
  if (existsSync(join(int8, 'dit_model.tflite'))) folders.int8 = int8;
}

const residencies = arg('residency', 'all,stage').split(',');
const repeat = Number(arg('repeat', '1'));
const reset = !process.argv.includes('--no-reset');
// glibc malloc settings change how much freed memory goes back to the OS between stages: say which apply.
const mallocEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('MALLOC_')));
if (Object.keys(mallocEnv).length) log(`malloc environment: ${JSON.stringify(mallocEnv)}`);
// Which LiteRT library the runtime loads (the pinned version differs per platform and changes over time).
let engine = {};
try {
  const { describeHost } = await import('@audiogen/runtime-native');
  const e = describeHost().engine;
  engine = { version: e.version, librarySha256: e.librarySha256, libraryPinned: e.libraryPinned };
  log(`LiteRT ${e.version} (libLiteRt.so sha256 ${String(e.librarySha256).slice(0, 12)}…)`);
} catch {}
// --litert pinned,DIR: also run each configuration on another libLiteRt.so (DIR holds it; LD_LIBRARY_PATH
// wins over the addon's RUNPATH), interleaved with the pinned one — to compare LiteRT releases on whole clips.
const engines = arg('litert', 'pinned').split(',');
// 'policy': the pipeline decides per CPU (no override).
const fuses = arg('fuse-snake', 'policy').split(',');
if (fuses.some((x) => x !== 'on' && x !== 'off' && x !== 'policy'))
  throw new Error('--fuse-snake takes on, off or on,off');
const rows = [];
for (let rep = 0; rep < repeat; rep++) {
  for (const v of variants) {
    if (!folders[v]) continue;
    for (const threads of threadsList) {
      for (const residency of residencies) {
        for (const [engineDir, fuse] of engines.flatMap((e) => fuses.map((x) => [e, x]))) {
          const env =
            engineDir === 'pinned'
              ? process.env
              : {
                  ...process.env,
                  LD_LIBRARY_PATH: [engineDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
                };
          log(
            `${v}, ${threads} thread(s), residency ${residency}, LiteRT ${engineDir}, Snake fusion ${fuse} (round ${rep + 1}/${repeat})…`,
          );
          const r = spawnSync(
            process.execPath,
            [
              fileURLToPath(import.meta.url),
              '--child',
              JSON.stringify({
                models: folders[v],
                threads,
                runs,
                residency,
                reset,
                ...(precisions ? { precision: v } : {}),
                ...(fuse === 'policy' ? {} : { fuseSnake: fuse === 'on' }),
              }),
            ],
            {
              encoding: 'utf8',
              stdio: ['ignore', 'pipe', 'inherit'],
              maxBuffer: 1 << 24,
              env,
            },
          );
          if (r.status !== 0) {
            log(
              `${v}/${threads}/${residency} failed (exit ${r.status}, signal ${r.signal}${r.error ? `, ${r.error.message}` : ''})`,
            );
            continue;
          }
          const out = JSON.parse(r.stdout.trim().split('\n').at(-1));
          const best = out.results.reduce((a, b) => (b.totalMs < a.totalMs ? b : a));
          // Peak over creation + the first generation (segments before the first 'idle'); peakRssMB covers all runs.
          const firstIdle = out.segments.findIndex((s) => s.name === 'idle');
          const peakFirstMB = Math.max(
            ...out.segments.slice(0, firstIdle < 0 ? undefined : firstIdle).map((s) => s.peakMB),
          );
          const row = {
            variant: `${engines.length > 1 ? `${v}@${engineDir === 'pinned' ? 'pinned' : basename(engineDir)}` : v}${fuses.length > 1 ? `/snake-${fuse}` : ''}`,
            litert: engineDir,
            fuseSnake: fuse,
            threads,
            residency,
            round: rep + 1,
            // Model loading paid before the first clip: at creation ('all') or inside generate ('stage').
            loadMs: out.createLoadMs + out.results[0].genLoadMs,
            createMs: out.createMs,
            ...best,
            // Time to the first clip: create the pipeline + the first generate.
            firstMs: out.createMs + out.results[0].wallMs,
            peakRssMB: out.peakRssMB,
            peakFirstMB,
            runs: out.results,
            segments: out.segments,
            precision: out.precision,
          };
          rows.push(row);
          const seg = out.segments
            .filter((s) => s.name !== 'start')
            .map((s) => `${s.name} ${s.peakMB.toFixed(0)}/${s.endMB.toFixed(0)}`)
            .join(', ');
          if (precisions) log(`  precision ${v}: DiT ${out.precision.dit}, decoder ${out.precision.decoder}`);
          log(
            `  clip ${(best.wallMs / 1000).toFixed(2)} s wall, ${(best.cpuMs / 1000).toFixed(2)} s CPU; first clip ${(row.firstMs / 1000).toFixed(1)} s, peak ${row.peakFirstMB.toFixed(0)} MB (all runs ${row.peakRssMB.toFixed(0)} MB); per segment peak/end MB: ${seg}`,
          );
        }
      }
    }
  }
}

const f = (n) => n.toFixed(0).padStart(8);
console.log(
  `Stable Audio Open Small shapes, random weights, 8 ping-pong steps, ${rows[0]?.frames ?? '?'} frames stereo (11.89 s)`,
);
console.log(
  'variant threads residency round     load       T5  DiT/step      DiT  decoder    total   CPU ms  DiT CPU  dec CPU    first  peak1st(MB)  peakRSS(MB)',
);
const segCpu = (r, name) => r.segments.find((s) => s.name === name)?.cpuMs ?? Number.NaN;
for (const r of rows) {
  console.log(
    `${r.variant.padEnd(7)} ${String(r.threads).padStart(7)} ${r.residency.padEnd(9)} ${String(r.round).padStart(5)} ${f(r.loadMs)} ${f(r.t5Ms)} ${f(r.ditMsPerStep).padStart(9)} ${f(r.ditMs)} ${f(r.decoderMs)} ${f(r.totalMs)} ${f(r.cpuMs)} ${f(segCpu(r, 'DiT'))} ${f(segCpu(r, 'decoder'))} ${f(r.firstMs)} ${f(r.peakFirstMB).padStart(12)} ${f(r.peakRssMB).padStart(12)}`,
  );
}
// Ratios to fp32 within each round (paired): wall and process CPU time of the whole clip.
if (variants.includes('fp32')) {
  console.log('\nPer round, ratio to fp32 on the same LiteRT in the same round (clip wall / clip CPU):');
  for (const r of rows) {
    const ref = rows.find(
      (x) =>
        x.variant.split(/[@/]/)[0] === 'fp32' &&
        x.litert === r.litert &&
        x.fuseSnake === r.fuseSnake &&
        x.round === r.round &&
        x.threads === r.threads &&
        x.residency === r.residency,
    );
    if (!ref || r === ref) continue;
    console.log(
      `  ${r.variant} ${r.threads}t ${r.residency} round ${r.round}: ${(r.wallMs / ref.wallMs).toFixed(3)} / ${(r.cpuMs / ref.cpuMs).toFixed(3)}`,
    );
  }
}
if (fuses.length > 1) {
  console.log(
    '\nPer round, Snake fused ÷ five ops, same configuration (clip wall / clip CPU / decoder wall / decoder CPU):',
  );
  for (const r of rows.filter((x) => x.fuseSnake === 'on')) {
    const off = rows.find(
      (x) =>
        x.fuseSnake === 'off' &&
        x.variant.replace('/snake-off', '') === r.variant.replace('/snake-on', '') &&
        x.litert === r.litert &&
        x.round === r.round &&
        x.threads === r.threads &&
        x.residency === r.residency,
    );
    if (!off) continue;
    const q = (a, b) => (a / b).toFixed(3);
    console.log(
      `  ${r.variant.replace('/snake-on', '')} ${r.threads}t ${r.residency} round ${r.round}: ${q(r.wallMs, off.wallMs)} / ${q(r.cpuMs, off.cpuMs)} / ${q(r.decoderMs, off.decoderMs)} / ${q(segCpu(r, 'decoder'), segCpu(off, 'decoder'))}`,
    );
  }
}
console.log('\nPer stage (MB): peak within the segment / RSS at its end (anon + file)');
for (const r of rows) {
  const seg = r.segments
    .filter((s) => s.name !== 'start')
    .map(
      (s) =>
        `${s.name}: ${s.peakMB.toFixed(0)}/${s.endMB.toFixed(0)} (${s.anonMB.toFixed(0)}+${s.fileMB.toFixed(0)})`,
    )
    .join('; ');
  console.log(`${r.variant}/${r.threads}/${r.residency}/${r.round}: ${seg}`);
}
const jsonOut = arg('json');
if (jsonOut)
  writeFileSync(
    jsonOut,
    `${JSON.stringify({ host: { arch: process.arch, platform: process.platform }, engine, reset, mallocEnv, rows }, null, 2)}\n`,
  );
