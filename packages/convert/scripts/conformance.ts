/**
 * Conformance driver (dev-time): random weights with the real key names → safetensors files →
 * our checkpoint converter → .tflite; then scripts/conformance.py runs the PyTorch reference modules
 * (stable-audio-tools 0.0.19, transformers T5EncoderModel) and LiteRT on the same inputs and prints
 * cosine / max abs error. Usage (from the repo root, after scripts/setup-conformance.sh):
 *
 *   npm run conformance -w @audiogen/convert -- [--full] [--fp16] [--t5-gated] [--seed N] [--work DIR] [--reference DIR]
 *     [--only decoder]
 *
 * --fp16 stores the weights as fp16 (compute fp32): expect lower similarity than the fp32 target.
 * --only decoder: only the decoder's weights, in three graph forms (the converter's default, all native, every
 * rewrite); the check is then cosine ≥ 0.9999999 in fp32 (the full-size decoder run takes ~2 min).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildDecoder,
  buildDit,
  convertStableAudioCheckpoint,
  type DecoderBuildOptions,
  randomStableAudioWeights,
  readSafetensors,
  STABLE_AUDIO_OPEN_SMALL,
  STABLE_AUDIO_TINY,
  t5Spec,
  toModelConfigJson,
  toT5HfConfig,
  withPrefix,
  writeSafetensors,
} from '@audiogen/convert';
import { writeTfliteFile } from '@audiogen/core/tflite';

const argv = process.argv.slice(2);
const flag = (n: string) => argv.includes(n);
const opt = (n: string, d: string) => {
  const i = argv.indexOf(n);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : d;
};
const full = flag('--full');
const fp16 = flag('--fp16');
const seed = Number(opt('--seed', '7'));
const work = resolve(
  opt('--work', full ? '/tmp/audiogen-conformance-full' : '/tmp/audiogen-conformance-tiny'),
);
const only = opt('--only', '');
if (only && only !== 'decoder') throw new Error(`--only: only 'decoder' is supported (got ${only})`);
const reference = argv.includes('--reference') ? resolve(opt('--reference', '')) : undefined;
// The bundle runs from packages/convert/build/: the repo root is three levels up.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const python = opt('--python', join(root, '.venv-torch', 'bin', 'python'));
const base = full ? STABLE_AUDIO_OPEN_SMALL : STABLE_AUDIO_TINY;
// --t5-gated: a T5 v1.1-style gated-GELU feed-forward instead of t5-base's ReLU.
const cfg = flag('--t5-gated') ? { ...base, t5: { ...base.t5, ffProj: 'gated-gelu' as const } } : base;
const log = (m: string) => console.error(`[conformance] ${m}`);

/** The decoder alone: its weights (real key names) and the same weights in three graph forms. */
async function decoderOnly(): Promise<void> {
  mkdirSync(work, { recursive: true });
  const prefix = 'pretransform.model.decoder.';
  const src = randomStableAudioWeights(cfg, seed).checkpoint[prefix]!;
  const tensors: Record<string, { shape: number[]; data: () => Float32Array }> = {};
  for (const k of src.keys()) tensors[prefix + k] = { shape: src.shape(k)!, data: () => src.get(k) };
  await writeSafetensors(join(work, 'model.safetensors'), tensors, { format: 'pt' });
  writeFileSync(join(work, 'model_config.json'), JSON.stringify(toModelConfigJson(cfg), null, 1));
  const ck = readSafetensors(join(work, 'model.safetensors'));
  const forms: [string, DecoderBuildOptions][] = [
    ['out', {}],
    ['out_native', { transposedConv: 'native', snake: '5-op' }],
    ['out_rewrites', { transposedConv: 'conv3', snake: '4-op' }],
  ];
  for (const [dir, o] of forms) {
    mkdirSync(join(work, dir), { recursive: true });
    const t = Date.now();
    const g = buildDecoder(cfg, withPrefix(ck, prefix), { ...o, fp16Weights: fp16 });
    await writeTfliteFile(join(work, dir, 'autoencoder_model.tflite'), g);
    log(`decoder ${dir} (${JSON.stringify(o)}) built in ${Date.now() - t} ms`);
  }
  ck.close();
}

async function main(): Promise<void> {
  if (only === 'decoder') {
    await decoderOnly();
    const args = [
      join(root, 'packages', 'convert', 'scripts', 'conformance.py'),
      work,
      '--models',
      'decoder',
    ];
    if (!fp16) args.push('--min-cosine', '0.9999999');
    const r = spawnSync(python, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    process.exit(r.status ?? 1);
  }
  mkdirSync(join(work, 't5'), { recursive: true });
  const t0 = Date.now();
  const w = randomStableAudioWeights(cfg, seed);
  // The SAO checkpoint: every prefixed key, streamed tensor by tensor.
  const tensors: Record<string, { shape: number[]; data: () => Float32Array }> = {};
  for (const [prefix, src] of Object.entries(w.checkpoint)) {
    for (const k of src.keys()) tensors[prefix + k] = { shape: src.shape(k)!, data: () => src.get(k) };
  }
  await writeSafetensors(join(work, 'model.safetensors'), tensors, { format: 'pt' });
  const t5t: Record<string, { shape: number[]; data: () => Float32Array }> = {};
  for (const k of t5Spec(cfg.t5).keys()) t5t[k] = { shape: w.t5.shape(k)!, data: () => w.t5.get(k) };
  await writeSafetensors(join(work, 't5', 'model.safetensors'), t5t, { format: 'pt' });
  writeFileSync(join(work, 't5', 'config.json'), JSON.stringify(toT5HfConfig(cfg.t5), null, 1));
  writeFileSync(join(work, 'model_config.json'), JSON.stringify(toModelConfigJson(cfg), null, 1));
  log(`weights written in ${Date.now() - t0} ms`);

  const t1 = Date.now();
  await convertStableAudioCheckpoint({
    checkpoint: join(work, 'model.safetensors'),
    config: join(work, 'model_config.json'),
    t5: join(work, 't5'),
    out: join(work, 'out'),
    fp16Weights: fp16,
    onProgress: (m) => log(m),
  });
  log(`converted in ${Date.now() - t1} ms`);
  // The Arm-compatible DiT variant, built from the same checkpoint.
  mkdirSync(join(work, 'out_arm'), { recursive: true });
  const ck = readSafetensors(join(work, 'model.safetensors'));
  await writeTfliteFile(
    join(work, 'out_arm', 'dit_model.tflite'),
    buildDit(cfg, withPrefix(ck, 'model.model.'), { armCompatible: true, fp16Weights: fp16 }),
  );
  // The decoder with every rewrite (each upsampling layer as CONV_2D + RESHAPE, the 4-op Snake).
  mkdirSync(join(work, 'out_rewrites'), { recursive: true });
  await writeTfliteFile(
    join(work, 'out_rewrites', 'autoencoder_model.tflite'),
    buildDecoder(cfg, withPrefix(ck, 'pretransform.model.decoder.'), {
      transposedConv: 'conv3',
      snake: '4-op',
      fp16Weights: fp16,
    }),
  );
  ck.close();

  const args = [join(root, 'packages', 'convert', 'scripts', 'conformance.py'), work];
  if (reference) args.push('--reference', reference);
  const r = spawnSync(python, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  process.exit(r.status ?? 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
