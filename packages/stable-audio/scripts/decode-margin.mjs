#!/usr/bin/env node
// Measures the Oobleck decoder's receptive-field margin with the real LiteRT runtime: decodes seeded random
// latents whole, then cropped to n latent frames, and reports where the cropped decode first differs from the
// full one (any bit, and beyond a tolerance of the full decode's peak) — against the margin
// `oobleckDecoderMargin` derives from the architecture, which the pipeline uses. After a build:
//
//   flock /tmp/audiogen-bench.lock node packages/stable-audio/scripts/decode-margin.mjs [--size full|tiny]
//     [--decoder FILE (an open-frame decoder; default: built here with random weights, seed 4 = the decoder of
//     a seed-0 random folder)] [--seconds 10,5] [--crops n,n,…] [--threads 2] [--tol 1e-5] [--json out.json]
//     [--reference FILE: a float decoder of the same weights; then each decode's kept samples also get an SNR
//     against its full decode — for an int8 decoder, whose dynamic activation scales change with the crop]
//
// For each request of S seconds (K = round(S·rate) samples kept) it decodes the frames the pipeline would
// (latentFramesFor) and one frame less, and says whether the K kept samples are bit-equal to the full decode.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildDecoder,
  decoderSpec,
  randomWeights,
  STABLE_AUDIO_OPEN_SMALL,
  STABLE_AUDIO_TINY,
} from '@audiogen/convert';
import { writeTfliteFile } from '@audiogen/core/tflite';
import { createNativeRuntime } from '@audiogen/runtime-native';
import { latentFramesFor, oobleckDecoderMargin } from '../dist/index.js';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const list = (v) => (v ? String(v).split(',').filter(Boolean).map(Number) : []);
const size = arg('size', 'full');
// tiny widths with 96 latent frames, so crops shorter than the clip exist (the tiny margin is 42 frames)
const cfg = size === 'tiny' ? { ...STABLE_AUDIO_TINY, sampleSize: 32 * 96 } : STABLE_AUDIO_OPEN_SMALL;
const threads = Number(arg('threads', 2));
const tol = Number(arg('tol', 1e-5));
const strides = cfg.vae.strides;
const hop = strides.reduce((a, b) => a * b, 1);
const C = cfg.vae.latentDim;
const T = cfg.sampleSize / hop;
const margin = oobleckDecoderMargin(strides);

let tmp;
let path = arg('decoder');
if (!path) {
  tmp = mkdtempSync(join(tmpdir(), 'audiogen-margin-'));
  path = join(tmp, 'autoencoder_model.tflite');
  const t0 = performance.now();
  await writeTfliteFile(path, buildDecoder(cfg, randomWeights(decoderSpec(cfg), 4)));
  console.error(`built the open-frame decoder in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
try {
  const model = await createNativeRuntime().load(path, { threads, label: 'decoder' });
  if (!(model.inputs[0].shape[2] < 0)) throw new Error(`${path}: the latent frame dimension is not open`);
  // Seeded N(0,1) latents (xorshift + Box-Muller): what the DiT hands the decoder, in scale.
  let s = 0x9e3779b9;
  const u = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 2 ** 32;
  };
  const latents = Float32Array.from(
    { length: C * T },
    () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()),
  );
  const decode = async (n) => {
    const feed = new Float32Array(C * n);
    for (let c = 0; c < C; c++) feed.set(latents.subarray(c * T, c * T + n), c * n);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const out = await model.run({ latents: { dtype: 'float32', shape: [1, C, n], data: feed } });
    const cpu = process.cpuUsage(c0);
    return { audio: out.audio.data, ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 };
  };
  const full = await decode(T);
  const N = T * hop;
  let peak = 0;
  for (const v of full.audio) peak = Math.max(peak, Math.abs(v));
  // Where a decode of n frames first differs from the full one, per channel: any bit, and beyond tol·peak.
  const compare = (audio, n) => {
    const len = n * hop;
    let firstDiff = len;
    let firstOverTol = len;
    for (let ch = 0; ch < cfg.vae.ioChannels; ch++)
      for (let k = 0; k < len; k++) {
        const d = Math.abs(audio[ch * len + k] - full.audio[ch * N + k]);
        if (d > 0 && k < firstDiff) firstDiff = k;
        if (d > tol * peak && k < firstOverTol) firstOverTol = k;
      }
    return {
      firstDiff,
      firstOverTol,
      measuredMargin: len - firstDiff,
      measuredMarginTol: len - firstOverTol,
    };
  };
  // SNR (dB) of the first `len` samples per channel of `audio` (n frames) against the reference's full decode.
  let ref;
  const refPath = arg('reference');
  if (refPath) {
    const rm = await createNativeRuntime().load(refPath, { threads, label: 'reference' });
    const feed = latents;
    ref = (await rm.run({ latents: { dtype: 'float32', shape: [1, C, T], data: feed } })).audio.data;
    rm.dispose();
  }
  const snr = (audio, n, len) => {
    if (!ref) return undefined;
    let e = 0;
    let p = 0;
    for (let ch = 0; ch < cfg.vae.ioChannels; ch++)
      for (let k = 0; k < len; k++) {
        e += (audio[ch * n * hop + k] - ref[ch * N + k]) ** 2;
        p += ref[ch * N + k] ** 2;
      }
    return 10 * Math.log10(p / e);
  };
  const rows = [];
  const seconds = list(arg('seconds', '10,5'));
  const crops = new Set(list(arg('crops')));
  const asked = [];
  for (const sec of seconds) {
    const K = Math.min(N, Math.round(sec * cfg.sampleRate));
    const n = latentFramesFor(K, hop, margin, T);
    asked.push({ seconds: sec, kept: K, frames: n });
    crops.add(n);
    if (n > 1) crops.add(n - 1);
  }
  for (const n of [...crops].filter((n) => n >= 1 && n < T).sort((a, b) => b - a)) {
    const d = await decode(n);
    const K = asked.find((a) => a.frames === n || a.frames === n + 1)?.kept ?? n * hop - margin;
    rows.push({
      frames: n,
      ms: d.ms,
      cpuMs: d.cpuMs,
      ...compare(d.audio, n),
      ...(ref
        ? {
            keptSamples: K,
            snrKeptVsReference: snr(d.audio, n, K),
            snrFullVsReference: snr(full.audio, T, K),
          }
        : {}),
    });
  }
  const verdict = asked.map((a) => {
    const r = rows.find((x) => x.frames === a.frames);
    const less = rows.find((x) => x.frames === a.frames - 1);
    return {
      ...a,
      bitEqual: r ? r.firstDiff >= a.kept : true,
      oneFrameLessBitEqual: less ? less.firstDiff >= a.kept : undefined,
    };
  });
  const report = {
    size,
    decoder: path,
    threads,
    strides,
    hop,
    latentFrames: T,
    theoreticalMargin: margin,
    tolerance: tol,
    peak,
    full: { ms: full.ms, cpuMs: full.cpuMs },
    crops: rows,
    requests: verdict,
  };
  console.log(
    `theoretical margin ${margin} samples (${(margin / hop).toFixed(2)} latent frames of ${hop}); full decode ${T} frames: ${full.ms.toFixed(0)} ms, CPU ${full.cpuMs.toFixed(0)} ms`,
  );
  console.log('frames  first differing sample  measured margin  margin at tol  ms      CPU ms');
  for (const r of rows)
    console.log(
      `${String(r.frames).padStart(6)}  ${String(r.firstDiff).padStart(22)}  ${String(r.measuredMargin).padStart(15)}  ${String(r.measuredMarginTol).padStart(13)}  ${r.ms.toFixed(0).padStart(6)}  ${r.cpuMs.toFixed(0).padStart(6)}`,
    );
  if (ref)
    for (const r of rows)
      console.log(
        `${r.frames} frames vs the reference, first ${r.keptSamples} samples: SNR ${r.snrKeptVsReference.toFixed(2)} dB (the full decode of this model: ${r.snrFullVsReference.toFixed(2)} dB)`,
      );
  for (const v of verdict)
    console.log(
      `${v.seconds} s (${v.kept} samples): ${v.frames} frames → kept samples ${v.bitEqual ? 'bit-equal' : 'DIFFER'}; ${v.frames - 1} frames → ${v.oneFrameLessBitEqual === undefined ? 'n/a' : v.oneFrameLessBitEqual ? 'still bit-equal' : 'differ'}`,
    );
  const out = arg('json');
  if (out) writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  model.dispose();
} finally {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}
