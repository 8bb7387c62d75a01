import { AudiogenError } from '@audiogen/core';
import { describe, expect, it } from 'vitest';
import {
  checkOpQuantizationConfig,
  compilePythonRegex,
  parseRecipe,
  RecipeResolver,
  recipeToJson,
} from './recipe';
import { listRecipes, namedRecipe, namedRecipeJson } from './recipes';

const drq8 = {
  regex: '.*',
  operation: '*',
  algorithm_key: 'min_max_uniform_quantize',
  op_config: {
    weight_tensor_config: { num_bits: 8, symmetric: true, granularity: 'CHANNELWISE', dtype: 'INT' },
    compute_precision: 'INTEGER',
    explicit_dequantize: false,
    skip_checks: false,
    min_weight_elements: 0,
  },
};

function err(fn: () => unknown): AudiogenError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AudiogenError);
    return e as AudiogenError;
  }
  throw new Error('expected an error');
}

describe('parseRecipe', () => {
  it("reads AEQ's dynamic_wi8_afp32_recipe.json and writes it back unchanged", () => {
    const r = parseRecipe(JSON.stringify([drq8]));
    expect(recipeToJson(r)).toEqual([drq8]);
  });

  it('applies AEQ defaults (symmetric true, TENSORWISE, INT, FLOAT, no explicit dequantize)', () => {
    const r = parseRecipe([
      {
        regex: 'a',
        operation: 'FULLY_CONNECTED',
        algorithm_key: 'min_max_uniform_quantize',
        op_config: { weight_tensor_config: { num_bits: 8 }, compute_precision: 'INTEGER' },
      },
    ]);
    expect(r.entries[0]!.op_config).toEqual({
      weight_tensor_config: {
        num_bits: 8,
        symmetric: true,
        granularity: 'TENSORWISE',
        dtype: 'INT',
        algorithm_params: {},
      },
      compute_precision: 'INTEGER',
      explicit_dequantize: false,
      skip_checks: false,
      min_weight_elements: 0,
    });
  });

  it('converts the legacy block_size field and moves unknown tensor keys to algorithm_params', () => {
    const r = parseRecipe([
      {
        ...drq8,
        op_config: { ...drq8.op_config, weight_tensor_config: { num_bits: 4, block_size: 32, foo: 1 } },
      },
    ]);
    expect(r.entries[0]!.op_config.weight_tensor_config).toMatchObject({
      granularity: 'BLOCKWISE_32',
      algorithm_params: { foo: 1 },
    });
    expect(
      err(() =>
        parseRecipe([
          {
            ...drq8,
            op_config: { ...drq8.op_config, weight_tensor_config: { num_bits: 4, block_size: 48 } },
          },
        ]),
      ).message,
    ).toMatch(/entry 0 op_config.weight_tensor_config.block_size: unsupported block size 48/);
  });

  it('names the entry and field of an error', () => {
    const cases: [unknown, RegExp][] = [
      [{}, /root: must be a JSON list/],
      [[{ ...drq8, regex: 3 }], /entry 0 regex: is required/],
      [[drq8, { ...drq8, regex: '(' }], /entry 1 regex: invalid regular expression/],
      [[{ ...drq8, operation: 'FOO' }], /entry 0 operation: unknown operation "FOO"/],
      [[{ ...drq8, algorithm_key: 'nope' }], /entry 0 algorithm_key: unsupported algorithm key "nope"/],
      [
        [{ ...drq8, op_config: { compute_precision: 'INTEGER' } }],
        /entry 0 op_config.weight_tensor_config: is required/,
      ],
      [
        [{ ...drq8, op_config: { ...drq8.op_config, weight_tensor_config: { symmetric: true } } }],
        /entry 0 op_config.weight_tensor_config.num_bits: is required/,
      ],
      [
        [
          {
            ...drq8,
            op_config: { ...drq8.op_config, weight_tensor_config: { num_bits: 8, granularity: 'ROWWISE' } },
          },
        ],
        /granularity: must be one of/,
      ],
      [
        [{ ...drq8, op_config: { ...drq8.op_config, compute_precision: 'INT' } }],
        /entry 0 op_config.compute_precision: must be INTEGER or FLOAT/,
      ],
      [
        [{ ...drq8, op_config: { ...drq8.op_config, min_weight_elements: -1 } }],
        /min_weight_elements: must be non-negative/,
      ],
      [
        [{ ...drq8, op_config: { ...drq8.op_config, execution_mode: 'DRQ' } }],
        /entry 0 op_config.execution_mode: unknown field/,
      ],
      [[{ ...drq8, extra: 1 }], /entry 0 extra: unknown field/],
    ];
    for (const [json, re] of cases) {
      const e = err(() => parseRecipe(json));
      expect(e.code).toBe('INVALID_RECIPE');
      expect(e.message).toMatch(re);
    }
    expect(err(() => parseRecipe('[{')).message).toMatch(/not valid JSON/);
  });

  it('reports other AEQ algorithms and static quantization as not supported', () => {
    const e = err(() => parseRecipe([{ ...drq8, algorithm_key: 'GPTQ' }]));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toMatch(/entry 0 algorithm_key: GPTQ is not supported/);
    const s = err(() =>
      parseRecipe([
        {
          ...drq8,
          op_config: { ...drq8.op_config, activation_tensor_config: { num_bits: 8, symmetric: false } },
        },
      ]),
    );
    expect(s.code).toBe('UNSUPPORTED');
  });

  it('checks entries for a named operation when loading (as AEQ add_quantization_config)', () => {
    // int4 is not allowed for DEPTHWISE_CONV_2D by the default policy
    const e = err(() =>
      parseRecipe([
        {
          ...drq8,
          operation: 'DEPTHWISE_CONV_2D',
          op_config: { ...drq8.op_config, weight_tensor_config: { num_bits: 4, granularity: 'CHANNELWISE' } },
        },
      ]),
    );
    expect(e.message).toMatch(/entry 0 op_config: unsupported op for INTEGER: DEPTHWISE_CONV_2D/);
    // blockwise for CONV_2D
    expect(
      err(() =>
        parseRecipe([
          {
            ...drq8,
            operation: 'CONV_2D',
            op_config: {
              ...drq8.op_config,
              weight_tensor_config: { num_bits: 4, granularity: 'BLOCKWISE_32' },
            },
          },
        ]),
      ).message,
    ).toMatch(/not found in the policy|blockwise/);
    // integer activation + float weights (OpQuantizationConfig.__post_init__)
    expect(
      err(() =>
        parseRecipe([
          {
            ...drq8,
            op_config: {
              ...drq8.op_config,
              compute_precision: 'FLOAT',
              activation_tensor_config: { num_bits: 8 },
              weight_tensor_config: { num_bits: 16, dtype: 'FLOAT' },
            },
          },
        ]),
      ).message,
    ).toMatch(/integer activation but float weights/);
  });
});

describe('policy checks (default_policy.py)', () => {
  const cfg = (over: Record<string, unknown>) =>
    parseRecipe([{ ...drq8, op_config: { ...drq8.op_config, ...over } }]).entries[0]!.op_config;
  it('dynamic int8 is allowed for the six DRQ ops and not for ADD', () => {
    const c = cfg({});
    for (const op of [
      'FULLY_CONNECTED',
      'BATCH_MATMUL',
      'CONV_2D',
      'CONV_2D_TRANSPOSE',
      'DEPTHWISE_CONV_2D',
      'EMBEDDING_LOOKUP',
    ] as const) {
      expect(checkOpQuantizationConfig('min_max_uniform_quantize', op, c)).toBeUndefined();
    }
    expect(checkOpQuantizationConfig('min_max_uniform_quantize', 'ADD', c)).toMatch(
      /not found in the policy/,
    );
  });
  it('asymmetric weights only for weight-only; dynamic needs symmetric', () => {
    expect(
      checkOpQuantizationConfig(
        'min_max_uniform_quantize',
        'FULLY_CONNECTED',
        cfg({ weight_tensor_config: { num_bits: 8, symmetric: false, granularity: 'CHANNELWISE' } }),
      ),
    ).toMatch(/policy/);
    expect(
      checkOpQuantizationConfig(
        'min_max_uniform_quantize',
        'FULLY_CONNECTED',
        cfg({
          weight_tensor_config: { num_bits: 8, symmetric: false, granularity: 'CHANNELWISE' },
          compute_precision: 'FLOAT',
          explicit_dequantize: true,
        }),
      ),
    ).toBeUndefined();
  });
  it('float_casting needs 16-bit FLOAT weights and FLOAT compute', () => {
    const fp16 = cfg({
      weight_tensor_config: { num_bits: 16, dtype: 'FLOAT' },
      compute_precision: 'FLOAT',
      explicit_dequantize: true,
    });
    expect(checkOpQuantizationConfig('float_casting', 'CONV_2D', fp16)).toBeUndefined();
    expect(checkOpQuantizationConfig('float_casting', 'BATCH_MATMUL', fp16)).toMatch(
      /unsupported operation BATCH_MATMUL/,
    );
    expect(checkOpQuantizationConfig('min_max_uniform_quantize', 'CONV_2D', fp16)).toMatch(/integer type/);
  });
  it('skip_checks bypasses the policy', () => {
    expect(
      checkOpQuantizationConfig(
        'min_max_uniform_quantize',
        'FULLY_CONNECTED',
        cfg({ skip_checks: true, weight_tensor_config: { num_bits: 3 } }),
      ),
    ).toBeUndefined();
  });
});

describe('resolution order (recipe_manager.get_quantization_configs)', () => {
  it('later matching entries win; "*" replaces earlier entries of the same regex; failing entries fall back', () => {
    const noq = { regex: 'attn', operation: '*', algorithm_key: 'no_quantize' };
    const fc4 = {
      ...drq8,
      regex: '.*',
      operation: 'FULLY_CONNECTED',
      op_config: { ...drq8.op_config, weight_tensor_config: { num_bits: 4, granularity: 'BLOCKWISE_32' } },
    };
    const r = new RecipeResolver(parseRecipe([drq8, fc4, noq]));
    expect(r.resolve('FULLY_CONNECTED', 'blocks/ff/dense;').config.weight_tensor_config?.num_bits).toBe(4);
    expect(r.resolve('BATCH_MATMUL', 'blocks/ff/bmm;').config.weight_tensor_config?.num_bits).toBe(8);
    expect(r.resolve('FULLY_CONNECTED', 'blocks/attn/q;').algorithm).toBe('no_quantize');
    // ADD: drq8 fails the policy → no_quantize with the rejection recorded
    const add = r.resolve('ADD', 'x;');
    expect(add.algorithm).toBe('no_quantize');
    expect(add.rejected.length).toBe(1);
    // a later "*" for the same regex replaces the FC entry
    const r2 = new RecipeResolver(parseRecipe([fc4, { ...drq8 }]));
    expect(r2.resolve('FULLY_CONNECTED', 'a;').config.weight_tensor_config?.num_bits).toBe(8);
    // named entry after "*" for the same regex is kept
    const r3 = new RecipeResolver(parseRecipe([drq8, fc4]));
    expect(r3.resolve('FULLY_CONNECTED', 'a;').config.weight_tensor_config?.granularity).toBe('BLOCKWISE_32');
  });

  it('regex is searched (re.search), not fully matched; Python syntax is accepted', () => {
    expect(compilePythonRegex('dense').test('model/dense/MatMul;')).toBe(true);
    expect(compilePythonRegex('(?P<b>block)_(?P<c>x)').test('x/block_x;')).toBe(true);
    // Backreferences cannot be matched in linear time: refused with a typed error, not run.
    expect(() => compilePythonRegex('(?P<b>block)_(?P=b)')).toThrow(
      expect.objectContaining({ code: 'INVALID_RECIPE' }),
    );
    expect(compilePythonRegex('(?i)DENSE').test('dense;')).toBe(true);
  });
});

describe('named recipes', () => {
  it('match AEQ recipe.py / recipes/*.json', () => {
    expect(namedRecipeJson('dynamic_wi8_afp32')).toEqual([drq8]);
    expect(namedRecipeJson('weight_only_wi8_afp32')[0]).toMatchObject({
      op_config: {
        compute_precision: 'FLOAT',
        explicit_dequantize: true,
        weight_tensor_config: { num_bits: 8, granularity: 'CHANNELWISE' },
      },
    });
    expect(namedRecipeJson('dynamic_wi4b32_afp32')[0]).toMatchObject({
      op_config: { weight_tensor_config: { num_bits: 4, granularity: 'BLOCKWISE_32' } },
    });
    expect(namedRecipeJson('float16')[0]).toMatchObject({ algorithm_key: 'float_casting' });
    for (const { name } of listRecipes()) expect(namedRecipe(name).entries.length).toBeGreaterThan(0);
    expect(err(() => namedRecipe('nope')).code).toBe('INVALID_RECIPE');
  });
});
