/**
 * A Stable Audio checkpoint as the Hub serves it, with seeded random weights of the real key names and
 * shapes: `model.safetensors` + `model_config.json` (stable-audio-tools layout) and a Hugging Face T5 folder
 * (`model.safetensors` of a T5ForConditionalGeneration, with decoder keys the converter must ignore,
 * `config.json`, `spiece.model`). Made by the converter's own tools; used by tests and the fake Hub.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@audiogen/core';
import {
  STABLE_AUDIO_OPEN_SMALL,
  STABLE_AUDIO_TINY,
  type StableAudioConfig,
  toModelConfigJson,
  toT5HfConfig,
} from './config';
import { defaultSpiecePath, randomStableAudioWeights } from './folder';
import type { WeightSource } from './safetensors';
import { type SafetensorsTensorInput, writeSafetensors } from './safetensors';

export interface CheckpointFiles {
  /** The checkpoint folder: model.safetensors, model_config.json. */
  checkpointDir: string;
  /** The T5 folder: model.safetensors, config.json, spiece.model. */
  t5Dir: string;
  config: StableAudioConfig;
}

function tensors(src: WeightSource, prefix = ''): Record<string, SafetensorsTensorInput> {
  const out: Record<string, SafetensorsTensorInput> = {};
  for (const k of src.keys()) out[prefix + k] = { shape: src.shape(k)!, data: () => src.get(k) };
  return out;
}

/** Writes `<dir>/checkpoint/…` and `<dir>/t5/…` with seeded random weights (tiny or full size). */
export async function writeRandomStableAudioCheckpoint(
  dir: string,
  opts: { tiny?: boolean; seed?: number; config?: StableAudioConfig; spiece?: string } = {},
): Promise<CheckpointFiles> {
  const cfg = opts.config ?? (opts.tiny ? STABLE_AUDIO_TINY : STABLE_AUDIO_OPEN_SMALL);
  const w = randomStableAudioWeights(cfg, opts.seed ?? 0);
  const checkpointDir = join(dir, 'checkpoint');
  const t5Dir = join(dir, 't5');
  await mkdir(checkpointDir, { recursive: true });
  await mkdir(t5Dir, { recursive: true });
  const ckpt: Record<string, SafetensorsTensorInput> = {};
  for (const [prefix, src] of Object.entries(w.checkpoint)) Object.assign(ckpt, tensors(src, prefix));
  await writeSafetensors(join(checkpointDir, 'model.safetensors'), ckpt);
  const json = (o: unknown) => new TextEncoder().encode(`${JSON.stringify(o, null, 2)}\n`);
  await writeFileAtomic(join(checkpointDir, 'model_config.json'), json(toModelConfigJson(cfg)));
  // HF's t5-base file holds the whole encoder-decoder: a few decoder keys stand in for the rest.
  const t5 = tensors(w.t5);
  const d = cfg.t5.dModel;
  const zeros = (shape: number[]) => ({
    shape,
    data: () => new Float32Array(shape.reduce((a, b) => a * b, 1)),
  });
  t5['decoder.block.0.layer.0.SelfAttention.q.weight'] = zeros([cfg.t5.numHeads * cfg.t5.dKv, d]);
  t5['decoder.block.0.layer.1.EncDecAttention.k.weight'] = zeros([cfg.t5.numHeads * cfg.t5.dKv, d]);
  t5['decoder.final_layer_norm.weight'] = zeros([d]);
  await writeSafetensors(join(t5Dir, 'model.safetensors'), t5, { format: 'pt' });
  await writeFileAtomic(
    join(t5Dir, 'config.json'),
    json({ ...toT5HfConfig(cfg.t5), architectures: ['T5ForConditionalGeneration'] }),
  );
  const spiece = opts.spiece ?? defaultSpiecePath();
  if (spiece) await writeFileAtomic(join(t5Dir, 'spiece.model'), await readFile(spiece));
  return { checkpointDir, t5Dir, config: cfg };
}
