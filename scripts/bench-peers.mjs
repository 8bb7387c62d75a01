#!/usr/bin/env node
// `npm run bench:peers` (dev-time): the same clip through the PyTorch reference (stable-audio-tools 0.0.19),
// Python LiteRT on the SDK's .tflite files, and the SDK, interleaved round-robin in one run; per-stage wall
// time, process CPU time and peak RSS as ratios to the reference and to each other. `--help` for options.
//
// Same weights everywhere: random full-size weights with the real key names, made once from a seed as a
// stable-audio-tools checkpoint (what the PyTorch side loads) and converted by @audiogen/convert (what LiteRT
// runs), int8 variants by @audiogen/quantize. Same numbers everywhere: every peer gets the SDK's Philox noise
// for the seed and the same schedule; the report checks token ids and the decoded audio's cosine.
// Each configuration runs in its own process (its peak RSS is its own); Python peers: scripts/bench_peers.py.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  configsOf,
  cosine,
  floorsOf,
  formatReport,
  parsePeersArgs,
  roundOrder,
  USAGE,
} from './bench-peers-lib.mjs';
import { ISA_MASKS, isaMaskEnv, isaMaskUnavailable } from './isa-mask.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const self = fileURLToPath(import.meta.url);
const log = (m) => console.error(`[bench:peers] ${m}`);
const LOCK = '/tmp/audiogen-bench.lock';

// ------------------------------------------------------------------------------------ stage accounting

function statusMB() {
  const o = {};
  for (const l of readFileSync('/proc/self/status', 'utf8').split('\n')) {
    const m = /^(VmRSS|VmHWM):\s+(\d+) kB/.exec(l);
    if (m) o[m[1]] = Number(m[2]) / 1024;
  }
  return o;
}

/** Wall time, process CPU time and peak RSS (VmHWM, reset at each cut) per stage, as bench_peers.py's Stages. */
function stages() {
  const resetPeak = () => {
    try {
      writeFileSync('/proc/self/clear_refs', '5');
    } catch {}
  };
  let t = performance.now();
  let c = process.cpuUsage();
  const out = {};
  resetPeak();
  return {
    out,
    cut(name) {
      const now = performance.now();
      const cpu = process.cpuUsage(c);
      const s = statusMB();
      out[name] = { ms: now - t, cpuMs: (cpu.user + cpu.system) / 1000, peakMB: s.VmHWM, endMB: s.VmRSS };
      t = now;
      c = process.cpuUsage();
      resetPeak();
    },
  };
}

function finish(r, st) {
  const s = st.out;
  const clip = ['conditioners', 'dit', 'decoder', 'tail'].map((k) => s[k]);
  r.stages = s;
  r.clip = {
    ms: clip.reduce((a, x) => a + x.ms, 0),
    cpuMs: clip.reduce((a, x) => a + x.cpuMs, 0),
    peakMB: Math.max(...clip.map((x) => x.peakMB)),
  };
  r.peakMB = Math.max(...Object.values(s).map((x) => x.peakMB));
  return r;
}

// --------------------------------------------------------------------------------------- child: the SDK

async function childSdk(a) {
  const st = stages();
  const { writeNpy, tensor } = await import('@audiogen/core');
  const { createNativeRuntime } = await import('@audiogen/runtime-native');
  const { createStableAudioPipeline } = await import('@audiogen/stable-audio');
  const clip = JSON.parse(readFileSync(a.clip, 'utf8'));
  const p = await createStableAudioPipeline({
    models: clip.folder,
    runtime: createNativeRuntime(),
    threads: a.threads,
    loadEncoder: false,
    residency: 'all',
    precision: a.precision,
  });
  st.cut('load');
  const res = await p.generate({
    prompt: clip.prompt,
    seconds: clip.seconds,
    seed: clip.seed,
    steps: clip.steps,
    cfgScale: clip.cfgScale,
    onProgress: (e) => {
      if (e.type === 'encode' && e.done) st.cut('conditioners');
      else if (e.type === 'decode' && !e.done) st.cut('dit');
      else if (e.type === 'decode' && e.done) st.cut('decoder');
    },
  });
  st.cut('tail');
  const ch = res.clips[0].clip.channels;
  const audio = new Float32Array(ch.length * ch[0].length);
  for (const [i, c] of ch.entries()) audio.set(c, i * c.length);
  mkdirSync(a.out, { recursive: true });
  writeFileSync(join(a.out, 'audio.npy'), writeNpy(tensor('float32', [ch.length, ch[0].length], audio)));
  const lat = res.clips[0].latents;
  writeFileSync(join(a.out, 'latents.npy'), writeNpy(tensor('float32', [lat.length], lat)));
  // The libLiteRt.so this process really runs (LD_LIBRARY_PATH may put another before the pinned one).
  const lib = /\s(\/\S*libLiteRt\.so)$/m.exec(readFileSync('/proc/self/maps', 'utf8'))?.[1];
  const r = finish(
    {
      stepMs: res.timings.stepMs[0],
      files: { dit: p.precision.dit.precision, decoder: p.precision.decoder.precision },
      library: lib && { path: lib, sha256: createHash('sha256').update(readFileSync(lib)).digest('hex') },
    },
    st,
  );
  p.dispose();
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

// ----------------------------------------------------------------------------- child: weights and folder

/** The converter's and quantizer's builds: a changed converter (a graph rewrite) reconverts the folder. */
function toolsHash() {
  const req = createRequire(import.meta.url);
  const h = createHash('sha256');
  for (const m of ['@audiogen/convert', '@audiogen/quantize']) h.update(readFileSync(req.resolve(m)));
  return h.digest('hex').slice(0, 16);
}

async function childPrepare(a) {
  const { convertStableAudioCheckpoint, writeRandomStableAudioCheckpoint } = await import(
    '@audiogen/convert'
  );
  const stampPath = join(a.models, 'peers.json');
  const stamp = existsSync(stampPath) ? JSON.parse(readFileSync(stampPath, 'utf8')) : {};
  const weights = { weightsSeed: a.weightsSeed, tiny: a.tiny };
  const sameWeights =
    stamp.weights?.weightsSeed === a.weightsSeed &&
    stamp.weights?.tiny === a.tiny &&
    existsSync(join(a.models, 'checkpoint', 'model.safetensors'));
  const t0 = performance.now();
  if (!sameWeights) {
    log(
      `writing the ${a.tiny ? 'tiny' : 'full-size'} random checkpoint (seed ${a.weightsSeed}) to ${a.models}…`,
    );
    await writeRandomStableAudioCheckpoint(a.models, { seed: a.weightsSeed, tiny: a.tiny });
  }
  const tools = toolsHash();
  const folder = join(a.models, 'folder');
  if (!sameWeights || stamp.tools !== tools || !existsSync(join(folder, 'audiogen.json'))) {
    log('converting it with @audiogen/convert…');
    await convertStableAudioCheckpoint({
      checkpoint: join(a.models, 'checkpoint', 'model.safetensors'),
      config: join(a.models, 'checkpoint', 'model_config.json'),
      t5: join(a.models, 't5'),
      out: folder,
      encoder: false,
    });
    // The int8 variants in their own process, so this one's memory is gone first.
    const q = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const q = await import('@audiogen/quantize'); await q.quantizeFolderVariants(${JSON.stringify(folder)}, 'fast', { force: true });`,
      ],
      { stdio: ['ignore', 'inherit', 'inherit'], cwd: here },
    );
    if (q.status !== 0) throw new Error(`writing the int8 variants failed (exit ${q.status})`);
    writeFileSync(stampPath, `${JSON.stringify({ weights, tools }, null, 1)}\n`);
    log(`model folder ready in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
}

// ------------------------------------------------------------------------------------------ the driver

function lscpu() {
  let model = cpus()[0]?.model ?? 'unknown';
  let flags = [];
  const r = spawnSync('lscpu', [], { encoding: 'utf8' });
  const text = r.status === 0 ? r.stdout : '';
  const get = (k) => new RegExp(`^${k}:\\s*(.+)$`, 'm').exec(text)?.[1]?.trim();
  model = get('Model name') ?? model;
  // A VM may name only the brand ("AMD EPYC"): family and model tell the generation (25/17: Zen 4).
  const family = get('CPU family');
  if (family)
    model += ` (family ${family}, model ${get('Model') ?? '?'}${get('Hypervisor vendor') ? `, ${get('Hypervisor vendor')} VM` : ''})`;
  flags = (get('Flags') ?? '').split(/\s+/).filter(Boolean);
  if (!flags.length && existsSync('/proc/cpuinfo')) {
    const m = /^(?:flags|Features)\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    flags = m ? m[1].split(/\s+/) : [];
  }
  // The flags that decide which XNNPACK / torch kernels run.
  const relevant = [
    'avx2',
    'fma',
    'f16c',
    'avx512f',
    'avx512bw',
    'avx512vl',
    'avx512_vnni',
    'avx512_bf16',
    'avx512_fp16',
    'avx_vnni',
    'amx_tile',
    'amx_int8',
    'amx_bf16',
    'asimddp',
    'i8mm',
    'sme',
    'sme2',
    'asimdhp',
  ].filter((f) => flags.includes(f));
  return { cpuModel: model, cpus: cpus().length, flags: relevant, allFlags: flags };
}

/** Busy and total jiffies of the machine, and this process's waited-for children's CPU (for "others"). */
function cpuTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f;
  const st = readFileSync('/proc/self/stat', 'utf8');
  const rest = st.slice(st.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 (cutime, cstime) are the 14th and 15th after the command name.
  const children = Number(rest[13]) + Number(rest[14]);
  return {
    busy: user + nice + system + irq + softirq + steal,
    total: user + nice + system + idle + iowait + irq + softirq + steal,
    children,
  };
}

// Children's stderr (LiteRT's INFO lines, tqdm) is kept and shown only when the child fails.
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 26,
    cwd: root,
    ...opts,
  });
  if (r.status !== 0) {
    if (r.stderr) process.stderr.write(r.stderr.split('\n').slice(-40).join('\n'));
    throw new Error(
      `${cmd} ${args.slice(0, 2).join(' ')} failed (exit ${r.status}, signal ${r.signal})${r.error ? `: ${r.error.message}` : ''}`,
    );
  }
  return r.stdout;
}

const lastJson = (out) => JSON.parse(out.trim().split('\n').at(-1));

/** The Python wheel's libLiteRt.so (.venv), alone in a folder for LD_LIBRARY_PATH. */
function pythonLiteRt() {
  const lib = join(root, '.venv', 'lib');
  for (const py of existsSync(lib) ? readdirSync(lib) : []) {
    const f = join(lib, py, 'site-packages', 'ai_edge_litert', 'libLiteRt.so');
    if (existsSync(f)) return f;
  }
  throw new Error('no ai_edge_litert/libLiteRt.so in .venv (run scripts/setup-dev.sh)');
}
let pyLibSha;
function pyLib(work) {
  const dir = join(work, 'python-litert');
  const src = pythonLiteRt();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  symlinkSync(src, join(dir, 'libLiteRt.so'));
  pyLibSha ??= createHash('sha256').update(readFileSync(src)).digest('hex');
  return dir;
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child-sdk') return childSdk(JSON.parse(argv[1]));
  if (argv[0] === '--child-prepare') return childPrepare(JSON.parse(argv[1]));
  let opts;
  try {
    opts = parsePeersArgs(argv);
  } catch (e) {
    console.error(`${e.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (opts.help) {
    console.log(USAGE);
    return;
  }
  // Output paths checked before the slow part.
  for (const f of [opts.json, opts.markdown].filter(Boolean)) {
    const d = dirname(resolve(f));
    if (!existsSync(d) || !statSync(d).isDirectory()) {
      console.error(`bench:peers: the folder of ${f} does not exist`);
      process.exit(2);
    }
  }
  if (opts.isa) {
    const why = isaMaskUnavailable();
    if (why) {
      console.error(`bench:peers: --isa ${opts.isa} cannot run here: ${why}`);
      process.exit(2);
    }
  }
  const models = resolve(opts.models ?? join(root, 'models', opts.tiny ? 'peers-tiny' : 'peers'));
  const torchPy = join(root, '.venv-torch', 'bin', 'python');
  const litertPy = join(root, '.venv', 'bin', 'python');

  if (opts.setup) {
    if (opts.peers.includes('litert')) run('bash', ['scripts/setup-dev.sh'], { stdio: 'inherit' });
    if (opts.peers.includes('torch')) run('bash', ['scripts/setup-conformance.sh'], { stdio: 'inherit' });
  }
  // Under --isa the whole run (this driver's precision choices, every peer) sees the masked CPU.
  if (opts.isa && process.env.AUDIOGEN_ISA_MASK !== opts.isa) {
    const r = spawnSync(process.execPath, [self, ...argv, '--no-setup'], {
      stdio: 'inherit',
      env: isaMaskEnv(opts.isa),
    });
    process.exit(r.status ?? 1);
  }
  // One full-size job at a time on this machine: the rest runs under the benchmark lock.
  if (opts.lock) {
    log(`waiting for ${LOCK}…`);
    const r = spawnSync('flock', [LOCK, process.execPath, self, ...argv, '--no-lock', '--no-setup'], {
      stdio: 'inherit',
    });
    if (r.error) throw new Error(`flock: ${r.error.message} (use --no-lock where flock is missing)`);
    process.exit(r.status ?? 1);
  }
  const t0 = performance.now();
  mkdirSync(models, { recursive: true });
  run(
    process.execPath,
    [self, '--child-prepare', JSON.stringify({ models, weightsSeed: opts.weightsSeed, tiny: opts.tiny })],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const folder = join(models, 'folder');

  // The clip every peer computes: the SDK's tokens, schedule and noise for the seed.
  const { tensor, writeNpy } = await import('@audiogen/core');
  const { createNoiseSource, rfSchedule } = await import('@audiogen/sampler');
  const { createNativeRuntime, describeHost } = await import('@audiogen/runtime-native');
  const { defaultPlacementCache, pickFasterModel } = await import('@audiogen/core');
  const { describeStableAudioFolder, promptTokenizerOptions, T5Tokenizer, withMeasuredDit } = await import(
    '@audiogen/stable-audio'
  );
  const runtime = createNativeRuntime();
  const choice = {};
  let info;
  for (const p of opts.precisions) {
    info = await describeStableAudioFolder({ models: folder, runtime, threads: opts.threads, precision: p });
    let c = info.precision;
    // `auto` that times the DiTs (AVX2 without VNNI): decided here once, into the cache the SDK's children
    // read (the same key: files, threads, host), so Python LiteRT runs the same file.
    if (c.ditCandidates) {
      const cands = c.ditCandidates;
      const { model, choice: picked } = await pickFasterModel(
        runtime,
        cands.map((d) => ({ id: d.precision, path: d.path })),
        { threads: opts.threads },
        { cacheFile: defaultPlacementCache() },
      );
      model.dispose();
      c = withMeasuredDit(
        c,
        cands.find((d) => d.precision === picked.id),
        picked,
      );
      log(`auto's DiT on this CPU: ${c.reasons[0]}`);
    }
    choice[p] = c;
  }
  info ??= await describeStableAudioFolder({ models: folder, runtime, threads: opts.threads });
  const fc = info.folder.config;
  const steps = info.limits.steps;
  const latentSize = fc.latentShape.reduce((a, b) => a * b, 1);
  const noise = createNoiseSource(opts.seed, { kind: 'philox' });
  const rows = new Float32Array(steps * latentSize);
  noise.stream('init').fillNormal(rows.subarray(0, latentSize));
  for (let i = 0; i < steps - 1; i++) {
    noise.stream('step', i).fillNormal(rows.subarray((i + 1) * latentSize, (i + 2) * latentSize));
  }
  const work = join(models, 'runs');
  mkdirSync(work, { recursive: true });
  const noisePath = join(work, 'noise.npy');
  writeFileSync(noisePath, writeNpy(tensor('float32', [steps, latentSize], rows)));
  // As the pipeline: at most promptTokens ids (the reference's max_length), padded to the conditioner's input.
  const tokOptions = promptTokenizerOptions(fc, fc.tokenLength);
  const tok = T5Tokenizer.fromBytes(readFileSync(info.folder.files.tokenizer), tokOptions);
  const enc = tok.encode(opts.prompt);
  const sdkIds = Array.from(enc.ids.subarray(0, enc.length));
  const clip = {
    folder,
    files: {
      conditioners: info.folder.files.conditioners,
      tokenizer: info.folder.files.tokenizer,
    },
    prompt: opts.prompt,
    seed: opts.seed,
    seconds: info.limits.maxSeconds,
    frames: info.limits.decoderFrames,
    steps,
    cfgScale: info.limits.cfgScale,
    schedule: Array.from(rfSchedule({ steps }).t),
    latentShape: fc.latentShape,
    tokenLength: fc.tokenLength,
    promptTokens: tokOptions.maxLength,
    noise: noisePath,
  };
  const clipPath = join(work, 'clip.json');
  writeFileSync(clipPath, `${JSON.stringify(clip, null, 1)}\n`);

  const host = { ...lscpu(), loadStart: loadavg()[0].toFixed(2) };
  if (opts.isa) {
    // lscpu reads the kernel's flags, which no mask changes: report what the peers saw.
    const { hides, describe } = ISA_MASKS[opts.isa];
    host.isa = { profile: opts.isa, describe, hidden: host.flags.filter((f) => hides.includes(f)) };
    host.flags = host.flags.filter((f) => !hides.includes(f));
  }
  const engine = describeHost().engine;
  const builds = {
    sdk: {
      version: engine.version,
      librarySha256: engine.librarySha256,
      libraryPinned: engine.libraryPinned,
    },
  };
  log(
    `${host.cpuModel}; ${host.flags.join(' ')}; SDK on LiteRT ${engine.version}; ${opts.rounds} round(s) of ${configsOf(
      opts,
    )
      .map((c) => c.id)
      .join(', ')}`,
  );

  const configs = configsOf(opts);
  const runs = [];
  let othersTicks = 0;
  let wallTicks = 0;
  for (let round = 1; round <= opts.rounds; round++) {
    for (const config of roundOrder(configs, round - 1)) {
      const out = join(work, config.id);
      const c0 = cpuTicks();
      const w0 = performance.now();
      let r;
      if (config.peer === 'sdk') {
        const child = { clip: clipPath, out, threads: opts.threads, precision: config.precision };
        // LD_LIBRARY_PATH wins over the addon's RUNPATH ($ORIGIN): the SDK then runs the wheel's library.
        const env =
          config.litert === 'python'
            ? {
                ...process.env,
                LD_LIBRARY_PATH: [pyLib(work), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
              }
            : process.env;
        r = lastJson(run(process.execPath, [self, '--child-sdk', JSON.stringify(child)], { env }));
        if (config.litert === 'python' && r.library?.sha256 !== pyLibSha) {
          throw new Error(`the SDK child ran ${r.library?.path}, not the Python wheel's libLiteRt.so`);
        }
      } else {
        // The Python peers: one script, the peer's interpreter (.venv: LiteRT, .venv-torch: PyTorch).
        const common = [join(here, 'bench_peers.py'), config.peer, '--clip', clipPath, '--out', out];
        common.push('--threads', String(opts.threads));
        if (config.peer === 'litert') {
          const ch = choice[config.precision];
          const force = ch.decoder.forceFp16 ? '1' : '0';
          const files = ['--dit', ch.dit.path, '--decoder', ch.decoder.path, '--force-fp16', force];
          r = lastJson(run(litertPy, [...common, ...files]));
          r.files = { dit: ch.dit.precision, decoder: ch.decoder.precision };
        } else {
          const env = { ...process.env, OMP_NUM_THREADS: String(opts.threads) };
          r = lastJson(run(torchPy, [...common, '--checkpoint', models], { env }));
        }
      }
      const c1 = cpuTicks();
      // Other processes' CPU while this one ran: the machine's busy time minus this child's.
      othersTicks += c1.busy - c0.busy - (c1.children - c0.children);
      wallTicks += ((performance.now() - w0) / 1000) * 100;
      r.config = config;
      r.round = round;
      r.steps = steps;
      r.out = out;
      runs.push(r);
      if (r.build) builds[config.peer] = r.build;
      if (config.litert === 'python') builds.sdkPython = r.library;
      log(
        `round ${round}: ${config.id.padEnd(11)} clip ${(r.clip.ms / 1000).toFixed(2)} s wall, ${(r.clip.cpuMs / 1000).toFixed(2)} s CPU, ` +
          `DiT ${(r.stages.dit.ms / steps).toFixed(0)} ms/step, decoder ${(r.stages.decoder.ms / 1000).toFixed(2)} s, peak ${(r.peakMB / 1024).toFixed(2)} GB`,
      );
    }
  }
  host.loadEnd = loadavg()[0].toFixed(2);
  // Cores' worth of CPU other processes used on average while the peers ran (USER_HZ = 100 on Linux).
  host.othersCores = wallTicks ? othersTicks / wallTicks : 0;
  host.busy = host.othersCores > 0.2;

  // Sanity: the peers run the same model (same tokens, same conditioning, the same audio within fp32 noise).
  const { readNpy } = await import('@audiogen/core');
  const npy = (id, name) => {
    const p = join(work, id, `${name}.npy`);
    return existsSync(p) ? readNpy(readFileSync(p)).data : undefined;
  };
  const sanity = { audioCosine: {}, latentCosine: {} };
  const refId = configs.some((c) => c.id === 'torch') ? 'torch' : configs[0].id;
  const refAudio = npy(refId, 'audio');
  const refLatents = npy(refId, 'latents');
  for (const c of configs) {
    if (c.id === refId) continue;
    sanity.audioCosine[c.id] = cosine(npy(c.id, 'audio'), refAudio);
    sanity.latentCosine[c.id] = cosine(npy(c.id, 'latents'), refLatents);
  }
  const litertCross = configs.find((c) => c.peer === 'litert');
  if (refId === 'torch' && litertCross)
    sanity.crossCosine = cosine(npy(litertCross.id, 'cross'), npy('torch', 'cross'));
  const idSets = { sdk: sdkIds };
  for (const r of runs) if (r.tokenIds) idSets[r.config.peer] = r.tokenIds;
  const sets = Object.entries(idSets).map(([k, v]) => [k, JSON.stringify(v)]);
  sanity.tokensEqual = sets.every(([, v]) => v === sets[0][1]);
  sanity.tokensNote = sets.map(([k, v]) => `${k}: ${v}`).join('; ');
  sanity.tokenIds = idSets;

  const report = {
    host,
    builds,
    opts,
    clip,
    configs,
    runs,
    sanity,
    minutes: (performance.now() - t0) / 60000,
  };
  const md = formatReport(report);
  console.log(md);
  if (host.busy) {
    console.log(
      `\nOther processes used ${host.othersCores.toFixed(2)} cores on average while the peers ran: wall times are inflated; the CPU-time ratios are the comparable numbers.`,
    );
  }
  console.log(`\n(${report.minutes.toFixed(1)} minutes for ${opts.rounds} round(s), model folder ${models})`);
  if (opts.markdown) writeFileSync(opts.markdown, `${md}\n`);
  if (opts.json) {
    writeFileSync(opts.json, `${JSON.stringify({ ...report, floors: floorsOf(report) }, null, 1)}\n`);
  }
  // fp32 peers must agree with the reference: a different model (or a broken converter) shows here.
  const bad = Object.entries(sanity.audioCosine).filter(([id, c]) => id.endsWith('fp32') && !(c >= 0.999));
  if (refId === 'torch' && (bad.length || !sanity.tokensEqual)) {
    console.error(
      `bench:peers: the peers do not compute the same clip (${bad.map(([id, c]) => `${id} audio cosine ${c}`).join(', ') || 'token ids differ'})`,
    );
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e?.stack ?? e);
  process.exit(1);
});
