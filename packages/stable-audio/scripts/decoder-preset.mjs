#!/usr/bin/env node
// Chooses the int8 decoder preset by measurement (dev-time; after `npm run build`; holds no lock itself —
// run it under `flock /tmp/audiogen-bench.lock`).
//  1. Per-layer sensitivity (@audiogen/quantize layerSensitivity): each conv / transposed conv of the decoder
//     quantized on its own (dynamic int8 per-channel), output SNR vs the float decoder. Done on a decoder of the
//     full widths and the same random weights but a short latent (--latent 16 frames): the decoder is fully
//     convolutional, so a layer's error at 16 frames stands for its error at 256, at 1/16 of the time.
//  2. For each candidate (--keep 0,2,4,…: keep the k most harmful layers in float), quantize the FULL-size
//     decoder and run it against fp32 on the same latents, interleaved over --rounds: output-audio SNR and
//     cosine vs fp32, wall and process CPU time per decode.
// RANDOM WEIGHTS: the quality numbers are a proxy for real weights (the same analysis on a real folder is
// `audiogen quantize <folder> --preset fast --compare`).
//   options: --folder models/full (a full-size folder: its autoencoder_model.tflite is the float decoder)
//            --seed 0 (the folder's random seed)  --latent 16  --keep 0,2,4,8  --rounds 2  --threads 2
//            --json out.json
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const folder = arg('folder', 'models/full');
const seed = Number(arg('seed', '0'));
const latent = Number(arg('latent', '16'));
const keeps = arg('keep', '0,2,4,8').split(',').map(Number);
const rounds = Number(arg('rounds', '2'));
const threads = Number(arg('threads', '2'));
const log = (m) => console.error(`[decoder-preset] ${m}`);

const { buildDecoder, randomStableAudioWeights, STABLE_AUDIO_OPEN_SMALL } = await import('@audiogen/convert');
const { writeTflite } = await import('@audiogen/core/tflite');
const q = await import('@audiogen/quantize');
const { createNativeRuntime, hostCpu } = await import('@audiogen/runtime-native');
const runtime = createNativeRuntime();
const cpu = hostCpu();
log(
  `host: ${cpu.cpuModel}; int8-relevant flags: ${Object.entries(cpu.features)
    .filter(([k, v]) => v && /vnni|avx512f$|avx2|dot|i8mm|sme/.test(k))
    .map(([k]) => k)
    .join(' ')}`,
);

// 1. sensitivity on the short decoder
const cfg = { ...STABLE_AUDIO_OPEN_SMALL, sampleSize: latent * 2048 };
const short = buildDecoder(
  cfg,
  randomStableAudioWeights(cfg, seed).checkpoint['pretransform.model.decoder.'],
);
const base = await q.loadRecipe('sao-decoder-int8');
const t0 = performance.now();
const sens = await q.layerSensitivity(short, base, 'random', runtime, {
  threads,
  metrics: ['snr', 'cosine_similarity'],
  onProgress: (m, f) => f !== undefined && Math.round(f * 37) % 8 === 0 && log(m),
});
log(`sensitivity of ${sens.layers.length} layers in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
console.log(
  `Per-layer sensitivity (only that layer int8; decoder output vs fp32; ${latent} latent frames, random weights)`,
);
console.log('rank  layer                                        op               SNR dB   cosine');
for (const [i, l] of sens.layers.entries()) {
  console.log(
    `${String(i + 1).padStart(4)}  ${l.tensor.padEnd(44)} ${l.op.padEnd(15)} ${l.snrDb.toFixed(1).padStart(7)}  ${l.metrics.cosine_similarity.toFixed(6)}`,
  );
}

// 2. candidates on the full-size decoder
const floatPath = join(folder, 'autoencoder_model.tflite');
const tmp = join(folder, '.decoder-preset');
mkdirSync(tmp, { recursive: true });
const fl = readFileSync(floatPath);
const floatGraph = (await import('@audiogen/core/tflite')).readTflite(
  new Uint8Array(fl.buffer, fl.byteOffset, fl.byteLength),
);
// Deterministic N(0,1) latents (the DiT's output scale), same for every candidate.
const gauss = (n, s) => {
  const a = new Float32Array(n);
  let x = s >>> 0 || 1;
  const u = () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return (x + 0.5) / 2 ** 32;
  };
  for (let i = 0; i < n; i++) a[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return a;
};
const latents = { latents: { dtype: 'float32', shape: [1, 64, 256], data: gauss(64 * 256, 11) } };
const files = { fp32: floatPath };
for (const k of keeps) {
  const recipe = q.keepFloat(
    base,
    sens.layers.slice(0, k).map((l) => l.scope),
  );
  const { graph } = q.quantizeGraph(floatGraph, recipe);
  const path = join(tmp, `keep${k}.tflite`);
  writeFileSync(path, writeTflite(graph));
  files[`int8-keep${k}`] = path;
}
const decode = async (path) => {
  const m = await runtime.load(path, { threads, label: path });
  try {
    await m.run(latents); // warm-up (XNNPACK packs weights on the first run)
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    const out = await m.run(latents);
    const wall = performance.now() - w0;
    const c = process.cpuUsage(c0);
    return { wall, cpu: (c.user + c.system) / 1000, audio: Object.values(out)[0].data };
  } finally {
    m.dispose();
  }
};
const rows = {};
let ref;
for (let r = 0; r < rounds; r++) {
  for (const [name, path] of Object.entries(files)) {
    const res = await decode(path);
    if (name === 'fp32') ref ??= res.audio;
    rows[name] ??= { name, wall: [], cpu: [] };
    const row = rows[name];
    row.wall.push(res.wall);
    row.cpu.push(res.cpu);
    if (name !== 'fp32' && !row.snrDb) {
      const m = q.computeMetrics(res.audio, ref, ['snr', 'cosine_similarity']);
      row.snrDb = 10 * Math.log10(m.snr);
      row.cosine = m.cosine_similarity;
    }
    log(`round ${r + 1} ${name}: wall ${res.wall.toFixed(0)} ms, cpu ${res.cpu.toFixed(0)} ms`);
  }
}
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const f32 = rows.fp32;
console.log(
  `\nFull-size decoder (256 latent frames → 524,288 stereo frames), ${threads} threads, ${rounds} interleaved rounds, median`,
);
console.log('preset           float layers  wall ms   cpu ms  cpu ×fp32  SNR dB   cosine');
for (const row of Object.values(rows)) {
  const k = row.name === 'fp32' ? 'all' : row.name.replace('int8-keep', '');
  console.log(
    `${row.name.padEnd(16)} ${String(k).padStart(12)} ${med(row.wall).toFixed(0).padStart(8)} ${med(row.cpu).toFixed(0).padStart(8)} ${(med(row.cpu) / med(f32.cpu)).toFixed(3).padStart(10)} ${row.snrDb === undefined ? '      -' : row.snrDb.toFixed(1).padStart(7)}  ${row.cosine === undefined ? '-' : row.cosine.toFixed(6)}`,
  );
}
rmSync(tmp, { recursive: true, force: true });
const out = arg('json');
if (out)
  writeFileSync(
    out,
    `${JSON.stringify({ host: cpu, latent, threads, rounds, layers: sens.layers.map(({ tensor, op, snrDb, metrics }) => ({ tensor, op, snrDb, cosine: metrics.cosine_similarity })), rows }, null, 1)}\n`,
  );
