/**
 * Built-in named recipes (the same entries AEQ's recipe.py builds) and per-component presets for
 * Stable Audio Open Small.
 */
import { AudiogenError } from '@audiogen/core';
import { type Granularity, parseRecipe, type Recipe, type RecipeJson } from './recipe';

function weightConfig(
  numBits: number,
  granularity: Granularity,
  dtype: 'INT' | 'FLOAT' = 'INT',
  symmetric = true,
) {
  return { num_bits: numBits, symmetric, granularity, dtype };
}

function dynamic(
  numBits: number,
  granularity: Granularity,
  regex = '.*',
  operation = '*',
): RecipeJson[number] {
  return {
    regex,
    operation,
    algorithm_key: 'min_max_uniform_quantize',
    op_config: {
      weight_tensor_config: weightConfig(numBits, granularity),
      compute_precision: 'INTEGER',
      explicit_dequantize: false,
      skip_checks: false,
      min_weight_elements: 0,
    },
  };
}

function weightOnly(
  numBits: number,
  granularity: Granularity,
  regex = '.*',
  operation = '*',
): RecipeJson[number] {
  return {
    regex,
    operation,
    algorithm_key: 'min_max_uniform_quantize',
    op_config: {
      weight_tensor_config: weightConfig(numBits, granularity),
      compute_precision: 'FLOAT',
      explicit_dequantize: true,
      skip_checks: false,
      min_weight_elements: 0,
    },
  };
}

function float16(regex = '.*', operation = '*'): RecipeJson[number] {
  return {
    regex,
    operation,
    algorithm_key: 'float_casting',
    op_config: {
      weight_tensor_config: weightConfig(16, 'TENSORWISE', 'FLOAT'),
      compute_precision: 'FLOAT',
      explicit_dequantize: true,
      skip_checks: false,
      min_weight_elements: 0,
    },
  };
}

/**
 * Decoder layers `sao-decoder-fast` keeps in float: the ones whose quantization alone costs the most output
 * SNR (packages/stable-audio/scripts/decoder-preset.mjs; random weights, a proxy — see the README).
 */
const DECODER_FAST_FLOAT_SCOPES: readonly string[] = [
  // Measured on the full-size decoder (random weights), output SNR with only that layer int8 / all int8:
  'layers.7/conv_2d;', // the last conv (128 → 2 channels, the audio): 38.0 dB alone
  'layers.5.layers.1/transpose_conv;', // last upsampler (stride 2): 45.2 dB …
  'layers.5.layers.1/conv_2d;', // … and the same layer written as CONV_2D + RESHAPE (the converter's default)
  'layers.5.layers.4.layers.3/conv_2d;', // last block's 1×1 convs: 47.8 / 48.5 dB, cheap to keep float
  'layers.5.layers.2.layers.3/conv_2d;',
];
const DECODER_FAST_FLOAT = `^(?:${DECODER_FAST_FLOAT_SCOPES.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`;

/** Named recipes; the AEQ ones carry AEQ's names and entries. */
const NAMED: Record<string, { description: string; json: () => RecipeJson }> = {
  dynamic_wi8_afp32: {
    description: 'AEQ: dynamic range, int8 symmetric per-channel weights, float activations',
    json: () => [dynamic(8, 'CHANNELWISE')],
  },
  dynamic_wi4_afp32: {
    description: 'AEQ: dynamic range, int4 symmetric per-channel weights',
    json: () => [dynamic(4, 'CHANNELWISE')],
  },
  dynamic_wi8c_afp32: { description: 'AEQ: = dynamic_wi8_afp32', json: () => [dynamic(8, 'CHANNELWISE')] },
  dynamic_wi4c_afp32: { description: 'AEQ: = dynamic_wi4_afp32', json: () => [dynamic(4, 'CHANNELWISE')] },
  dynamic_wi4b32_afp32: {
    description:
      'AEQ: dynamic range, int4 blockwise (32) weights with fp16 scales (FULLY_CONNECTED, EMBEDDING_LOOKUP)',
    json: () => [dynamic(4, 'BLOCKWISE_32')],
  },
  dynamic_wi4b64_afp32: { description: 'AEQ: int4 blockwise (64)', json: () => [dynamic(4, 'BLOCKWISE_64')] },
  dynamic_wi4b128_afp32: { description: 'int4 blockwise (128)', json: () => [dynamic(4, 'BLOCKWISE_128')] },
  dynamic_wi8_afp32_tensorwise: {
    description: 'dynamic range, int8 per-tensor weights',
    json: () => [dynamic(8, 'TENSORWISE')],
  },
  dynamic_legacy_wi8_afp32: {
    description: 'AEQ: dynamic_wi8_afp32 with min_weight_elements 1024 (the old converter behaviour)',
    json: () => {
      const e = dynamic(8, 'CHANNELWISE');
      (e.op_config as Record<string, unknown>).min_weight_elements = 1024;
      return [e];
    },
  },
  weight_only_wi8_afp32: {
    description: 'AEQ: weight-only int8 per-channel, explicit DEQUANTIZE, float compute',
    json: () => [weightOnly(8, 'CHANNELWISE')],
  },
  weight_only_wi4_afp32: {
    description: 'AEQ: weight-only int4 per-channel, explicit DEQUANTIZE',
    json: () => [weightOnly(4, 'CHANNELWISE')],
  },
  float16: {
    description:
      'fp16 weights (float_casting) with explicit DEQUANTIZE (FC, CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV, EMBEDDING_LOOKUP)',
    json: () => [float16()],
  },
  // ------------------------------------------------ Stable Audio Open Small presets
  'sao-dit-int8': {
    description: 'Stable Audio DiT: dynamic int8 per-channel on every FC/BMM/conv (the seed workflow)',
    json: () => [dynamic(8, 'CHANNELWISE')],
  },
  'sao-dit-int4': {
    description: 'Stable Audio DiT: int4 blockwise-32 FULLY_CONNECTED, int8 per-channel for the rest',
    // DiTs converted before the RoPE rotate_half became a permutation (no FULLY_CONNECTED) carry a constant
    // with all-zero 32-blocks whose fp16 scales of 0 XNNPACK refuses: re-convert those folders.
    json: () => [dynamic(8, 'CHANNELWISE'), dynamic(4, 'BLOCKWISE_32', '.*', 'FULLY_CONNECTED')],
  },
  'sao-decoder-fp16': {
    description: 'Stable Audio decoder (VAE): fp16 conv weights, float compute (keeps audio quality)',
    json: () => [float16()],
  },
  'sao-decoder-fast': {
    description:
      'Stable Audio decoder (VAE): dynamic int8 per-channel convs except the 4 most error-sensitive layers (per-layer measurement): audio SNR 42 dB vs fp32 at 0.36–0.40× the decoder CPU time (Zen 4, random weights; 0.40× with the measured graph forms on LiteRT 2.3.0)',
    json: () => [
      dynamic(8, 'CHANNELWISE'),
      { regex: DECODER_FAST_FLOAT, operation: '*', algorithm_key: 'no_quantize' },
    ],
  },
  'sao-decoder-int8': {
    description: 'Stable Audio decoder (VAE): dynamic int8 per-channel conv / transpose-conv weights',
    json: () => [dynamic(8, 'CHANNELWISE')],
  },
  'sao-t5-int8': {
    description: 'Stable Audio conditioners (T5): weight-only int8 FC and embedding weights, float compute',
    json: () => [weightOnly(8, 'CHANNELWISE')],
  },
  'sao-t5-dynamic-int8': {
    description: 'Stable Audio conditioners (T5): dynamic int8 FC, int8 embedding table',
    json: () => [dynamic(8, 'CHANNELWISE')],
  },
};

export function listRecipes(): { name: string; description: string }[] {
  return Object.entries(NAMED).map(([name, r]) => ({ name, description: r.description }));
}

/** The JSON of a named recipe (AEQ layout). */
export function namedRecipeJson(name: string): RecipeJson {
  const r = NAMED[name];
  if (!r) {
    throw new AudiogenError(
      'INVALID_RECIPE',
      `unknown recipe name "${name}" (known: ${Object.keys(NAMED).join(', ')})`,
      {
        details: { name },
      },
    );
  }
  return r.json();
}

/** A named recipe, parsed. */
export function namedRecipe(name: string): Recipe {
  return parseRecipe(namedRecipeJson(name));
}

export function isNamedRecipe(name: string): boolean {
  return name in NAMED;
}

/** Per-component presets for a Stable Audio model folder (file name → recipe name). */
export const STABLE_AUDIO_PRESETS: Record<string, Record<string, string>> = {
  /** The seed workflow: only the DiT quantized, dynamic int8. */
  default: { 'dit_model.tflite': 'sao-dit-int8' },
  /** Smaller everywhere; decoder stays close to float. */
  balanced: {
    'dit_model.tflite': 'sao-dit-int8',
    'conditioners.tflite': 'sao-t5-int8',
    'autoencoder_model.tflite': 'sao-decoder-fp16',
  },
  /** Smallest: int4 DiT FCs, int8 decoder and T5. */
  small: {
    'dit_model.tflite': 'sao-dit-int4',
    'conditioners.tflite': 'sao-t5-dynamic-int8',
    'autoencoder_model.tflite': 'sao-decoder-int8',
  },
};

/** One extra precision written beside a folder's float file: source file → variant file and its recipe. */
export interface FolderVariant {
  out: string;
  recipe: string;
}

/**
 * Presets that add precisions to a Stable Audio folder in place (`audiogen quantize <folder> --preset auto`),
 * next to the float files, for the pipeline to choose per host (`precision: 'auto' | 'fast'`).
 */
export const STABLE_AUDIO_VARIANT_PRESETS: Record<string, Record<string, FolderVariant>> = {
  /** What `precision: 'auto'` may use: the int8 DiT. */
  auto: { 'dit_model.tflite': { out: 'dit_model.int8.tflite', recipe: 'sao-dit-int8' } },
  /** Adds the int8 decoder preset that `precision: 'fast'` uses. */
  fast: {
    'dit_model.tflite': { out: 'dit_model.int8.tflite', recipe: 'sao-dit-int8' },
    'autoencoder_model.tflite': { out: 'autoencoder_model.int8.tflite', recipe: 'sao-decoder-fast' },
  },
};
