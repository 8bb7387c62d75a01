import { describe, expect, it } from 'vitest';
import {
  configFromModelConfig,
  STABLE_AUDIO_OPEN_SMALL,
  STABLE_AUDIO_TINY,
  t5FromHfConfig,
  toModelConfigJson,
} from './config';
import { t5RelativeBucket } from './stable-audio';
import {
  checkpointSpec,
  decoderSpec,
  ditSpec,
  encoderSpec,
  normalizeKeys,
  numberSpec,
  randomWeights,
  t5Spec,
} from './weights';

const count = (m: Map<string, number[]>, filter: (k: string) => boolean = () => true) => {
  let n = 0;
  for (const [k, s] of m) if (filter(k)) n += s.reduce((a, b) => a * b, 1);
  return n;
};

describe('checkpoint specs at full size (reference doc §4-§5)', () => {
  const cfg = STABLE_AUDIO_OPEN_SMALL;
  it('has the tensor counts of the real checkpoint: 382 + 3 + 182 + 183 = 750', () => {
    expect(ditSpec(cfg).size).toBe(382);
    expect(numberSpec(cfg).size).toBe(3);
    expect(decoderSpec(cfg).size).toBe(182);
    expect(encoderSpec(cfg).size).toBe(183);
    expect(checkpointSpec(cfg).size).toBe(750);
  });
  it('has the parameter counts derived from stable-audio-tools 0.0.19', () => {
    const buffers = (k: string) => /(norm\.beta|cross_attend_norm\.beta|inv_freq)$/.test(k);
    expect(count(ditSpec(cfg), (k) => !buffers(k))).toBe(340_879_488);
    expect(count(ditSpec(cfg), buffers)).toBe(49_184);
    expect(count(numberSpec(cfg))).toBe(198_272);
    expect(count(decoderSpec(cfg))).toBe(78_122_626);
    expect(count(encoderSpec(cfg))).toBe(77_989_888);
    expect(count(t5Spec(cfg.t5))).toBe(109_628_544);
  });
  it('names keys as the checkpoint does', () => {
    const d = decoderSpec(cfg);
    expect(d.get('layers.1.layers.1.weight_v')).toEqual([2048, 1024, 16]);
    expect(d.get('layers.5.layers.1.weight_v')).toEqual([128, 128, 4]);
    expect(d.get('layers.7.weight_v')).toEqual([2, 128, 7]);
    expect(d.has('layers.7.bias')).toBe(false);
    expect(ditSpec(cfg).get('transformer.layers.15.ff.ff.0.proj.weight')).toEqual([8192, 1024]);
    expect(encoderSpec(cfg).get('layers.7.weight_v')).toEqual([128, 2048, 3]);
    expect(
      t5Spec(cfg.t5).get('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight'),
    ).toEqual([32, 12]);
  });
});

describe('T5 relative position buckets (HF, bidirectional, 32 buckets, max distance 128)', () => {
  it('matches hand-computed values', () => {
    expect(t5RelativeBucket(0, 32, 128)).toBe(0);
    expect(t5RelativeBucket(1, 32, 128)).toBe(17);
    expect(t5RelativeBucket(-1, 32, 128)).toBe(1);
    expect(t5RelativeBucket(-7, 32, 128)).toBe(7);
    // n = 8: 8 + trunc(log(1)/log(16)·8) = 8
    expect(t5RelativeBucket(-8, 32, 128)).toBe(8);
    // n = 16: 8 + trunc(log(2)/log(16)·8) = 8 + 2 = 10; positive side +16
    expect(t5RelativeBucket(16, 32, 128)).toBe(26);
    // n = 127: 8 + trunc(7.977) = 15
    expect(t5RelativeBucket(-127, 32, 128)).toBe(15);
    expect(t5RelativeBucket(500, 32, 128)).toBe(31);
  });
});

describe('config', () => {
  it('round-trips through stable-audio-tools model_config.json', () => {
    const back = configFromModelConfig(toModelConfigJson(STABLE_AUDIO_TINY), { base: STABLE_AUDIO_TINY });
    expect(back).toEqual(STABLE_AUDIO_TINY);
    // stable-audio-tools samples with sample_rf (ping-pong) only for this objective (default 'v': sample_k).
    const j = toModelConfigJson(STABLE_AUDIO_OPEN_SMALL) as { model: { diffusion: Record<string, unknown> } };
    expect(j.model.diffusion.diffusion_objective).toBe('rf_denoiser');
  });
  it('rejects unsupported configs with one error listing the problems', () => {
    const j = toModelConfigJson(STABLE_AUDIO_OPEN_SMALL) as {
      model: { diffusion: { config: Record<string, unknown> } };
    };
    j.model.diffusion.config.attn_kwargs = { qk_norm: 'l2' };
    j.model.diffusion.config.embed_dim = 'big';
    expect(() => configFromModelConfig(j)).toThrow(/qk_norm l2[\s\S]*embed_dim must be a number/);
  });
  // Each used to throw a RangeError or build until memory ran out (issue 12 §3).
  it('bounds every value before anything is allocated: a typed error naming the value', () => {
    // [path in model_config.json, value, message]; several paths set together in one case.
    const D = 'model.diffusion.config';
    const V = 'model.pretransform.config.decoder.config';
    const cases: [[string, unknown][], RegExp][] = [
      [[['sample_size', 1e12]], /sampleSize must be an integer in \[1, 8388608\]/],
      [[['model.conditioning.configs.0.config.max_length', 1e9]], /promptTokens must be an integer/],
      [[[`${D}.depth`, 1e6]], /dit.depth must be an integer in \[1, 256\]/],
      [[[`${D}.embed_dim`, 1.5]], /dit.embedDim must be an integer/],
      [[['sample_rate', Number.NaN]], /sampleRate/],
      [[[`${V}.strides`, [2, 1e9]]], /strides must be 1 to 16 integers/],
      [[[`${V}.c_mults`, []]], /c_mults/],
      [[['model.conditioning.configs.1.config.max_val', Number.POSITIVE_INFINITY]], /seconds min\/max/],
      // Each in range, together too large.
      [
        [
          [`${D}.embed_dim`, 16_384],
          [`${D}.depth`, 256],
        ],
        /DiT would have/,
      ],
      [
        [
          ['sample_size', 2 ** 23],
          [`${V}.channels`, 4096],
        ],
        /activations/,
      ],
    ];
    const set = (o: ModelConfigJson, path: string, v: unknown) => {
      const keys = path.split('.');
      const last = keys.pop()!;
      keys.reduce((a, k) => a[k], o)[last] = v;
    };
    for (const [changes, message] of cases) {
      const j = toModelConfigJson(STABLE_AUDIO_OPEN_SMALL) as ModelConfigJson;
      for (const [path, v] of changes) set(j, path, v);
      expect(() => configFromModelConfig(j), String(message)).toThrow(
        expect.objectContaining({ code: 'INVALID_MODEL', message: expect.stringMatching(message) }),
      );
    }
  });
  it('a T5 config.json that is not an object, or has a non-number width, is INVALID_MODEL', () => {
    for (const bad of [null, 42, 'x', [1, 2], { d_model: '768' }]) {
      expect(() => t5FromHfConfig(bad), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'INVALID_MODEL' }),
      );
    }
    expect(() =>
      configFromModelConfig(toModelConfigJson(STABLE_AUDIO_OPEN_SMALL), { t5Config: { num_layers: 1e9 } }),
    ).toThrow(
      expect.objectContaining({ code: 'INVALID_MODEL', message: expect.stringMatching(/t5.numLayers/) }),
    );
  });
});

// biome-ignore lint/suspicious/noExplicitAny: a model_config.json as the tests mutate it
type ModelConfigJson = any;

describe('randomWeights', () => {
  it('is deterministic per seed and key, with zero LayerNorm beta buffers and exact inv_freq', () => {
    const spec = ditSpec(STABLE_AUDIO_TINY);
    const a = randomWeights(spec, 1);
    const b = randomWeights(spec, 1);
    const c = randomWeights(spec, 2);
    const k = 'transformer.layers.0.self_attn.to_qkv.weight';
    expect(a.get(k)).toEqual(b.get(k));
    expect(a.get(k)).not.toEqual(c.get(k));
    expect(a.get('transformer.layers.1.pre_norm.beta').every((v) => v === 0)).toBe(true);
    const inv = a.get('transformer.rotary_pos_emb.inv_freq');
    expect(inv[0]).toBe(1);
    expect(inv[1]).toBeCloseTo(10000 ** (-2 / 32), 6);
  });
});

describe('normalizeKeys', () => {
  it('maps parametrized weight norm, a state_dict. prefix and embed_tokens to the canonical names', () => {
    const spec = new Map<string, number[]>([
      ['state_dict.a.parametrizations.weight.original0', [2, 1, 1]],
      ['a.parametrizations.weight.original1', [2, 3, 1]],
      ['encoder.embed_tokens.weight', [4, 2]],
    ]);
    const src = randomWeights(spec, 1);
    const n = normalizeKeys(src);
    expect(n.keys().sort()).toEqual(['a.weight_g', 'a.weight_v', 'shared.weight']);
    expect(n.shape('a.weight_v')).toEqual([2, 3, 1]);
    expect(n.get('shared.weight')).toEqual(src.get('encoder.embed_tokens.weight'));
  });
});
