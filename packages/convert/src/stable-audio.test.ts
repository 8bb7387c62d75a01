import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAudiogenError, tensor } from '@audiogen/core';
import { readTflite, writeTflite, writeTfliteFile } from '@audiogen/core/tflite';
import { createNativeRuntime } from '@audiogen/runtime-native';
import { afterAll, describe, expect, it } from 'vitest';
import { opReport } from './builder';
import { STABLE_AUDIO_TINY, toModelConfigJson, toT5HfConfig } from './config';
import {
  convertStableAudioCheckpoint,
  randomStableAudioWeights,
  writeRandomStableAudioFolder,
} from './folder';
import { writeSafetensors } from './safetensors';
import { buildConditioners, buildDecoder, buildDit, buildEncoder, foldWeightNorm } from './stable-audio';
import { cosine, litertPython, maxAbsDiff, readNpy, runLitert } from './testing';
import { randomWeights, t5Spec } from './weights';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '..', 'fixtures', 'tiny-seed7');
const cfg = STABLE_AUDIO_TINY;
// The fixture's PyTorch outputs were made by scripts/conformance.py from these seeded weights.
const w = randomStableAudioWeights(cfg, 7);
const tmp = mkdtempSync(join(tmpdir(), 'audiogen-convert-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function sig(graph: ReturnType<typeof buildDit>) {
  const sg = graph.subgraphs[0]!;
  const s = graph.signatures[0]!;
  const info = (x: { name: string; tensor_index: number }) => {
    const t = sg.tensors[x.tensor_index]!;
    return [x.name, t.type, t.shape.join('x')].join(' ');
  };
  return { key: s.signature_key, inputs: s.inputs.map(info), outputs: s.outputs.map(info) };
}

describe('Stable Audio builders (tiny config)', () => {
  const cond = buildConditioners(cfg, w.t5, w.checkpoint['conditioner.conditioners.seconds_total.']!);
  const dit = buildDit(cfg, w.checkpoint['model.model.']!);
  const ditArm = buildDit(cfg, w.checkpoint['model.model.']!, { armCompatible: true });
  const dec = buildDecoder(cfg, w.checkpoint['pretransform.model.decoder.']!);
  // Every rewrite on (the tiny shapes were never benchmarked, so the default writes the native forms).
  const decRewritten = buildDecoder(cfg, w.checkpoint['pretransform.model.decoder.']!, {
    transposedConv: 'conv3',
    snake: '4-op',
  });
  const enc = buildEncoder(cfg, w.checkpoint['pretransform.model.encoder.']!);

  it('uses the signature names and shapes of the model-folder contract', () => {
    expect(sig(cond)).toEqual({
      key: 'serving_default',
      inputs: ['input_ids INT64 1x128', 'attention_mask INT64 1x128', 'seconds_total FLOAT32 1'],
      outputs: [
        'cross_attention_input FLOAT32 1x65x64',
        'cross_attention_masks FLOAT32 1x65',
        'global_cond FLOAT32 1x64',
      ],
    });
    expect(sig(dit)).toEqual({
      key: 'serving_default',
      inputs: [
        'x FLOAT32 1x8x32',
        't FLOAT32 1',
        'cross_attn_cond FLOAT32 1x65x64',
        'global_cond FLOAT32 1x64',
      ],
      outputs: ['v FLOAT32 1x8x32'],
    });
    expect(sig(dec).outputs).toEqual(['audio FLOAT32 2x1024']);
    expect(sig(dec).inputs).toEqual(['latents FLOAT32 1x8x32']);
    expect(sig(enc).inputs).toEqual(['audio FLOAT32 1x2x1024']);
    expect(sig(enc).outputs).toEqual(['latents FLOAT32 1x8x32']);
  });

  it('puts every op of the DiT and VAE on the XNNPACK path; conditioners only their small integer ops off it', () => {
    expect(opReport(dit).builtin).toEqual({});
    expect(opReport(dec).builtin).toEqual({});
    expect(opReport(enc).builtin).toEqual({});
    // Token ids and mask to int32 and the mask back to float, positions (CUMSUM → int32), the embedding and
    // relative-bias lookups, and the one-hot rows (EQUAL → float): none of them on the activations' path.
    expect(opReport(cond).builtin).toEqual({ CAST: 5, CUMSUM: 1, EQUAL: 1, GATHER: 2 });
    // The Arm variant has no to_global_embed weights in the graph.
    expect(opReport(ditArm).constantBytes).toBeLessThan(opReport(dit).constantBytes);
  });

  it("conditioners: fed only the prompt's tokens, T5 runs on those and the outputs are bit-identical", async () => {
    const model = await createNativeRuntime({ threads: 1 }).load(writeTflite(cond));
    try {
      expect(model.inputs.map((i) => i.shape)).toEqual([[1, -1], [1, -1], [1]]);
      // 8 ids + EOS, then padding up to 128; and an empty prompt (EOS alone: T5 on one position).
      for (const real of [9, 1]) {
        const feed = (n: number) => ({
          input_ids: tensor(
            'int64',
            [1, n],
            BigInt64Array.from({ length: n }, (_, k) =>
              BigInt(k < real - 1 ? 7 + 3 * k : k === real - 1 ? 1 : 0),
            ),
          ),
          attention_mask: tensor(
            'int64',
            [1, n],
            BigInt64Array.from({ length: n }, (_, k) => BigInt(k < real ? 1 : 0)),
          ),
          seconds_total: tensor('float32', [1], Float32Array.of(7)),
        });
        const all = await model.run(feed(cfg.tokens));
        for (const n of [real, 30, cfg.promptTokens, real]) {
          const some = await model.run(feed(n));
          for (const k of Object.keys(all))
            expect(some[k]!.data, `${k} with ${n} of ${real} tokens`).toEqual(all[k]!.data);
        }
      }
    } finally {
      model.dispose();
    }
  });

  it('serialises to .tflite that core reads back with the same signature', () => {
    const bytes = writeTflite(dit);
    const back = readTflite(bytes);
    expect(sig(back)).toEqual(sig(dit));
    expect(back.subgraphs[0]!.operators.length).toBe(dit.subgraphs[0]!.operators.length);
  });

  const py = litertPython();
  const cases: [string, () => ReturnType<typeof buildDit>, Record<string, string>, Record<string, string>][] =
    [
      [
        'conditioners',
        () => cond,
        {
          input_ids: 'cond_input_ids',
          attention_mask: 'cond_attention_mask',
          seconds_total: 'cond_seconds_total',
        },
        { cross_attention_input: 'cond_cross_attention_input', global_cond: 'cond_global_cond' },
      ],
      [
        'dit',
        () => dit,
        { x: 'dit_x', t: 'dit_t', cross_attn_cond: 'dit_cross_attn_cond', global_cond: 'dit_global_cond' },
        { v: 'dit_v' },
      ],
      ['decoder', () => dec, { latents: 'dec_latents' }, { audio: 'dec_audio' }],
      [
        'decoder (transposed convs as CONV_2D + RESHAPE, 4-op Snake)',
        () => decRewritten,
        { latents: 'dec_latents' },
        { audio: 'dec_audio' },
      ],
      ['encoder', () => enc, { audio: 'enc_audio' }, { latents: 'enc_latents' }],
    ];
  for (const [name, graph, ins, outs] of cases) {
    it.skipIf(!py)(`${name}: LiteRT output matches the PyTorch reference (cosine ≥ 0.99999)`, async () => {
      const path = join(tmp, `${name.replace(/\W+/g, '_')}.tflite`);
      await writeTfliteFile(path, graph());
      const inputs = Object.fromEntries(Object.entries(ins).map(([k, f]) => [k, join(fixtures, `${f}.npy`)]));
      const got = runLitert(py!, path, inputs);
      for (const [out, f] of Object.entries(outs)) {
        const ref = readNpy(join(fixtures, `${f}.npy`));
        const o = got[out]!;
        expect(o.shape).toEqual(ref.shape);
        const a = o.data as Float32Array;
        const b = ref.data as Float32Array;
        expect(cosine(a, b)).toBeGreaterThanOrEqual(0.99999);
        let peak = 0;
        for (const v of b) peak = Math.max(peak, Math.abs(v));
        expect(maxAbsDiff(a, b)).toBeLessThan(1e-4 * Math.max(1, peak));
      }
    });
  }

  it('the Arm-compatible DiT differs from the reference one only through global_cond', () => {
    // Same graph structure minus the global MLP; both take the same four inputs.
    expect(sig(ditArm)).toEqual(sig(dit));
    expect(ditArm.description).toMatch(/Arm-compatible/);
  });
});

describe('checkpoint errors', () => {
  it('lists every missing, extra and mis-shaped key in one error', () => {
    const spec = new Map(t5Spec(cfg.t5));
    spec.delete('encoder.final_layer_norm.weight');
    spec.delete('encoder.block.1.layer.0.SelfAttention.q.weight');
    spec.set('encoder.block.0.layer.1.layer_norm.weight', [63]);
    spec.set('encoder.bogus', [1]);
    const bad = randomWeights(spec, 1);
    let err: unknown;
    try {
      buildConditioners(cfg, bad, w.checkpoint['conditioner.conditioners.seconds_total.']!);
    } catch (e) {
      err = e;
    }
    expect(isAudiogenError(err, 'INVALID_CHECKPOINT')).toBe(true);
    const d = (err as { details: { missing: string[]; extra: string[]; misshaped: string[] } }).details;
    expect(d.missing.sort()).toEqual([
      'encoder.block.1.layer.0.SelfAttention.q.weight',
      'encoder.final_layer_norm.weight',
    ]);
    expect(d.extra).toEqual(['encoder.bogus']);
    expect(d.misshaped).toEqual(['encoder.block.0.layer.1.layer_norm.weight: [63] but the model needs [64]']);
  });
});

describe('foldWeightNorm', () => {
  it('computes g·v/‖v‖ per output channel (hand-computed)', () => {
    // v rows [3,4] and [0,2]; g = [10, 0.5] → [6,8] and [0,0.5].
    expect([...foldWeightNorm(new Float32Array([10, 0.5]), new Float32Array([3, 4, 0, 2]))]).toEqual([
      6, 8, 0, 0.5,
    ]);
  });
});

describe('writeRandomStableAudioFolder', () => {
  it('writes the whole tiny folder with manifest and tokenizer', async () => {
    const out = join(tmp, 'folder');
    const msgs: string[] = [];
    const r = await writeRandomStableAudioFolder({
      out,
      tiny: true,
      seed: 3,
      onProgress: (m) => msgs.push(m),
    });
    expect(Object.keys(r.files).sort()).toEqual(['conditioners', 'decoder', 'dit', 'encoder', 'manifest']);
    for (const f of [
      'conditioners.tflite',
      'dit_model.tflite',
      'autoencoder_model.tflite',
      'autoencoder_encoder.tflite',
    ]) {
      const g = readTflite(new Uint8Array(readFileSync(join(out, f))));
      expect(g.signatures[0]!.signature_key).toBe('serving_default');
    }
    const manifest = JSON.parse(readFileSync(join(out, 'audiogen.json'), 'utf8'));
    expect(manifest.config).toMatchObject({
      sampleRate: 44100,
      sampleSize: 1024,
      latentShape: [1, 8, 32],
      tokenLength: 128,
    });
    expect(manifest.randomWeights.seed).toBe(3);
    expect(
      readFileSync(join(out, 'spiece.model')).equals(
        readFileSync(join(here, '..', 'assets', 'spiece.model')),
      ),
    ).toBe(true);
    expect(msgs.some((m) => m.includes('dit'))).toBe(true);
  });

  it('rejects a bad seed with a typed error', async () => {
    await expect(
      writeRandomStableAudioFolder({ out: join(tmp, 'x'), tiny: true, seed: -1 }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});

describe('convertStableAudioCheckpoint', () => {
  async function writeCheckpoint(dir: string, extra: Record<string, number[]> = {}, drop: string[] = []) {
    mkdirSync(join(dir, 't5'), { recursive: true });
    const tensors: Record<string, { shape: number[]; data: () => Float32Array }> = {};
    for (const [prefix, src] of Object.entries(w.checkpoint)) {
      for (const k of src.keys()) {
        if (!drop.includes(prefix + k))
          tensors[prefix + k] = { shape: src.shape(k)!, data: () => src.get(k) };
      }
    }
    for (const [k, shape] of Object.entries(extra))
      tensors[k] = { shape, data: () => new Float32Array(shape.reduce((a, b) => a * b, 1)) };
    await writeSafetensors(join(dir, 'model.safetensors'), tensors);
    const t5: Record<string, { shape: number[]; data: () => Float32Array }> = {};
    for (const k of w.t5.keys()) t5[k] = { shape: w.t5.shape(k)!, data: () => w.t5.get(k) };
    await writeSafetensors(join(dir, 't5', 'model.safetensors'), t5);
    writeFileSync(join(dir, 't5', 'config.json'), JSON.stringify(toT5HfConfig(cfg.t5)));
    writeFileSync(join(dir, 'model_config.json'), JSON.stringify(toModelConfigJson(cfg)));
  }

  it('gives the same models from safetensors files as from the weights directly', async () => {
    const dir = join(tmp, 'ckpt');
    await writeCheckpoint(dir);
    const r = await convertStableAudioCheckpoint({
      checkpoint: join(dir, 'model.safetensors'),
      config: join(dir, 'model_config.json'),
      t5: join(dir, 't5'),
      out: join(dir, 'out'),
    });
    expect({ ...r.config, name: cfg.name }).toEqual(cfg);
    expect(readFileSync(join(dir, 'out', 'dit_model.tflite')).equals(Buffer.from(writeTflite(dit0())))).toBe(
      true,
    );
  });

  // It used to convert without a word into models that output NaN (issue 12 §5).
  it('refuses a checkpoint whose weights are NaN: INVALID_CHECKPOINT naming the tensor, no folder left', async () => {
    const dir = join(tmp, 'ckpt-nan');
    await writeCheckpoint(dir);
    const nan = join(dir, 'nan.safetensors');
    const tensors: Record<string, { shape: number[]; data: () => Float32Array }> = {};
    for (const [prefix, src] of Object.entries(w.checkpoint)) {
      for (const k of src.keys()) {
        const shape = src.shape(k)!;
        tensors[prefix + k] = { shape, data: () => src.get(k).map(() => Number.NaN) };
      }
    }
    await writeSafetensors(nan, tensors);
    await expect(
      convertStableAudioCheckpoint({
        checkpoint: nan,
        config: join(dir, 'model_config.json'),
        t5: join(dir, 't5'),
        out: join(dir, 'out-nan'),
      }),
    ).rejects.toMatchObject({
      code: 'INVALID_CHECKPOINT',
      message: expect.stringMatching(
        /nan\.safetensors: weight \S+ has \d+ of \d+ values that are NaN or infinite/,
      ),
    });
    expect(existsSync(join(dir, 'out-nan'))).toBe(false);
  });

  it('fails before writing anything on a checkpoint with missing and extra keys', async () => {
    const dir = join(tmp, 'ckpt-bad');
    await writeCheckpoint(dir, { 'model.model.extra.weight': [2] }, [
      'pretransform.model.decoder.layers.0.bias',
    ]);
    await expect(
      convertStableAudioCheckpoint({
        checkpoint: join(dir, 'model.safetensors'),
        config: join(dir, 'model_config.json'),
        t5: join(dir, 't5'),
        out: join(dir, 'out'),
      }),
    ).rejects.toMatchObject({
      code: 'INVALID_CHECKPOINT',
      details: { missing: ['pretransform.model.decoder.layers.0.bias'], extra: ['model.model.extra.weight'] },
    });
  });
});

function dit0() {
  return buildDit(cfg, w.checkpoint['model.model.']!);
}
