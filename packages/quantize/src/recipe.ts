/**
 * AI Edge Quantizer (AEQ) recipes: the JSON schema, its validation, the policy checks and the
 * resolution order, as AEQ's recipe_manager / qtyping / default_policy define them
 * (google-ai-edge/ai-edge-quantizer v0.10.0).
 */
import { AudiogenError } from '@audiogen/core';
import { compileRecipeRegex, type LinearRegex } from './regex';

// ---------------------------------------------------------------- names

/** AEQ's TFLOperationName values (the `operation` field). */
export const TFL_OPERATION_NAMES = [
  '*',
  'INPUT',
  'OUTPUT',
  'FULLY_CONNECTED',
  'BATCH_MATMUL',
  'DEPTHWISE_CONV_2D',
  'CONV_2D',
  'CONV_2D_TRANSPOSE',
  'AVERAGE_POOL_2D',
  'RESHAPE',
  'CUSTOM_OP',
  'EMBEDDING_LOOKUP',
  'SOFTMAX',
  'TANH',
  'TRANSPOSE',
  'GELU',
  'ADD',
  'SUB',
  'MUL',
  'MEAN',
  'RSQRT',
  'CONCATENATION',
  'STRIDED_SLICE',
  'SPLIT',
  'LOGISTIC',
  'SLICE',
  'SUM',
  'SELECT',
  'SELECT_V2',
  'DYNAMIC_UPDATE_SLICE',
  'STABLEHLO_COMPOSITE',
  'PAD',
  'SQUARED_DIFFERENCE',
  'MAX_POOL_2D',
  'RESIZE_BILINEAR',
  'RESIZE_NEAREST_NEIGHBOR',
  'GATHER_ND',
  'PACK',
  'UNPACK',
  'DIV',
  'BROADCAST_TO',
  'SQRT',
  'GATHER',
  'HARD_SWISH',
  'MAXIMUM',
  'PADV2',
  'REDUCE_MIN',
  'EQUAL',
  'NOT_EQUAL',
  'MIRROR_PAD',
  'SPACE_TO_DEPTH',
  'RELU',
] as const;
export type TflOperationName = (typeof TFL_OPERATION_NAMES)[number];

/** Maps a schema builtin operator name to AEQ's operation name (undefined: AEQ does not know it). */
export function aeqOpName(builtin: string): TflOperationName | undefined {
  if (builtin === 'TRANSPOSE_CONV') return 'CONV_2D_TRANSPOSE';
  if (
    builtin === 'CONV_2D_TRANSPOSE' ||
    builtin === 'CUSTOM_OP' ||
    builtin === 'INPUT' ||
    builtin === 'OUTPUT'
  ) {
    return undefined;
  }
  return (TFL_OPERATION_NAMES as readonly string[]).includes(builtin) && builtin !== '*'
    ? (builtin as TflOperationName)
    : undefined;
}

export const SUPPORTED_ALGORITHMS = ['no_quantize', 'min_max_uniform_quantize', 'float_casting'] as const;
export type AlgorithmKey = (typeof SUPPORTED_ALGORITHMS)[number];
/** AEQ algorithm keys we recognise but do not implement. */
export const UNSUPPORTED_ALGORITHMS = [
  'dequantized_weight_recovery',
  'OCTAV',
  'HADAMARD_ROTATION',
  'DECOMPOSED_HADAMARD_ROTATION',
  'MSE',
  'GPTQ',
  'OSCAR',
] as const;

export type Granularity =
  | 'TENSORWISE'
  | 'CHANNELWISE'
  | 'BLOCKWISE_32'
  | 'BLOCKWISE_64'
  | 'BLOCKWISE_128'
  | 'BLOCKWISE_256';
const GRANULARITIES: readonly Granularity[] = [
  'TENSORWISE',
  'CHANNELWISE',
  'BLOCKWISE_32',
  'BLOCKWISE_64',
  'BLOCKWISE_128',
  'BLOCKWISE_256',
];
export type TensorDataType = 'INT' | 'UINT' | 'FLOAT';
export type ComputePrecision = 'INTEGER' | 'FLOAT';

export interface TensorQuantizationConfig {
  num_bits: number;
  symmetric: boolean;
  granularity: Granularity;
  dtype: TensorDataType;
  algorithm_params: Record<string, unknown>;
}

export interface OpQuantizationConfig {
  activation_tensor_config?: TensorQuantizationConfig;
  weight_tensor_config?: TensorQuantizationConfig;
  compute_precision: ComputePrecision;
  explicit_dequantize: boolean;
  skip_checks: boolean;
  min_weight_elements: number;
}

export interface RecipeEntry {
  regex: string;
  operation: TflOperationName;
  algorithm_key: AlgorithmKey;
  op_config: OpQuantizationConfig;
}

/** A parsed, validated recipe: entries in file order. */
export interface Recipe {
  entries: RecipeEntry[];
}

/** The JSON form of a recipe (what AEQ reads and writes). */
export type RecipeJson = Array<Record<string, unknown>>;

export function isBlockwise(g: Granularity): boolean {
  return g.startsWith('BLOCKWISE');
}
export function blockSizeOf(g: Granularity): number {
  return isBlockwise(g) ? Number(g.slice('BLOCKWISE_'.length)) : 0;
}

// ---------------------------------------------------------------- parsing

function fail(where: string, message: string, details: Record<string, unknown> = {}): never {
  throw new AudiogenError('INVALID_RECIPE', `recipe ${where}: ${message}`, {
    details: { where, ...details },
  });
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function parseTensorConfig(raw: unknown, where: string): TensorQuantizationConfig {
  if (!isObject(raw)) fail(where, 'must be an object');
  const params: Record<string, unknown> = { ...raw };
  // Legacy block_size (AEQ qtyping._process_block_size): 0 ignored, 32/64/128/256 → BLOCKWISE_n.
  let granularityFromBlock: Granularity | undefined;
  if ('block_size' in params) {
    const bs = params.block_size;
    delete params.block_size;
    if (typeof bs !== 'number' || !Number.isInteger(bs)) fail(`${where}.block_size`, 'must be an integer');
    if (bs > 0) {
      if (![32, 64, 128, 256].includes(bs)) fail(`${where}.block_size`, `unsupported block size ${bs}`);
      granularityFromBlock = `BLOCKWISE_${bs}` as Granularity;
    }
  }
  const known = new Set(['num_bits', 'symmetric', 'granularity', 'dtype', 'algorithm_params']);
  const algorithmParams: Record<string, unknown> = {};
  if ('algorithm_params' in params) {
    if (!isObject(params.algorithm_params)) fail(`${where}.algorithm_params`, 'must be an object');
    Object.assign(algorithmParams, params.algorithm_params);
  }
  for (const k of Object.keys(params)) if (!known.has(k)) algorithmParams[k] = params[k];

  const numBits = params.num_bits;
  if (numBits === undefined) fail(`${where}.num_bits`, 'is required');
  if (typeof numBits !== 'number' || !Number.isInteger(numBits) || numBits < 1 || numBits > 64) {
    fail(`${where}.num_bits`, `must be an integer in 1..64, got ${JSON.stringify(numBits)}`);
  }
  const symmetric = params.symmetric ?? true;
  if (typeof symmetric !== 'boolean') fail(`${where}.symmetric`, 'must be true or false');
  let granularity = (params.granularity ?? 'TENSORWISE') as Granularity;
  if (typeof granularity !== 'string' || !GRANULARITIES.includes(granularity)) {
    fail(
      `${where}.granularity`,
      `must be one of ${GRANULARITIES.join(', ')}, got ${JSON.stringify(granularity)}`,
    );
  }
  if (granularityFromBlock) granularity = granularityFromBlock;
  const dtype = params.dtype ?? 'INT';
  if (dtype !== 'INT' && dtype !== 'UINT' && dtype !== 'FLOAT') {
    fail(`${where}.dtype`, `must be INT, UINT or FLOAT, got ${JSON.stringify(dtype)}`);
  }
  return { num_bits: numBits, symmetric, granularity, dtype, algorithm_params: algorithmParams };
}

function parseOpConfig(raw: unknown, where: string): OpQuantizationConfig {
  if (!isObject(raw)) fail(where, 'must be an object');
  const known = new Set([
    'activation_tensor_config',
    'weight_tensor_config',
    'compute_precision',
    'explicit_dequantize',
    'skip_checks',
    'min_weight_elements',
  ]);
  for (const k of Object.keys(raw)) {
    if (!known.has(k)) fail(`${where}.${k}`, `unknown field (known: ${[...known].join(', ')})`);
  }
  if (raw.weight_tensor_config === undefined) fail(`${where}.weight_tensor_config`, 'is required');
  const weight = parseTensorConfig(raw.weight_tensor_config, `${where}.weight_tensor_config`);
  const activation =
    raw.activation_tensor_config === undefined || raw.activation_tensor_config === null
      ? undefined
      : parseTensorConfig(raw.activation_tensor_config, `${where}.activation_tensor_config`);
  const cp = raw.compute_precision ?? 'FLOAT';
  if (cp !== 'INTEGER' && cp !== 'FLOAT') {
    fail(`${where}.compute_precision`, `must be INTEGER or FLOAT, got ${JSON.stringify(cp)}`);
  }
  const ed = raw.explicit_dequantize ?? false;
  if (typeof ed !== 'boolean') fail(`${where}.explicit_dequantize`, 'must be true or false');
  const sc = raw.skip_checks ?? false;
  if (typeof sc !== 'boolean') fail(`${where}.skip_checks`, 'must be true or false');
  const mwe = raw.min_weight_elements ?? 0;
  if (typeof mwe !== 'number' || !Number.isInteger(mwe))
    fail(`${where}.min_weight_elements`, 'must be an integer');
  if (mwe < 0) fail(`${where}.min_weight_elements`, `must be non-negative, got ${mwe}`);
  // OpQuantizationConfig.__post_init__
  if (activation) {
    if (activation.dtype === 'INT' && weight.dtype === 'FLOAT') {
      fail(where, 'an op can not be set to have integer activation but float weights');
    }
    if (activation.dtype === 'INT' && weight.dtype === 'INT' && cp !== 'INTEGER') {
      fail(
        `${where}.compute_precision`,
        'must be INTEGER (static range quantization) when both activation and weight tensors are quantized',
      );
    }
  }
  return {
    ...(activation ? { activation_tensor_config: activation } : {}),
    weight_tensor_config: weight,
    compute_precision: cp,
    explicit_dequantize: ed,
    skip_checks: sc,
    min_weight_elements: mwe,
  };
}

/** The default op config AEQ uses for `no_quantize` (float everything). */
export function defaultOpConfig(): OpQuantizationConfig {
  return {
    compute_precision: 'FLOAT',
    explicit_dequantize: false,
    skip_checks: false,
    min_weight_elements: 0,
  };
}

/**
 * A recipe regex (Python `re` syntax) for AEQ's `re.search`, matched in linear time (see regex.ts):
 * a downloaded recipe cannot make matching run for minutes.
 */
export function compilePythonRegex(src: string): LinearRegex {
  return compileRecipeRegex(src);
}

/**
 * Parses and validates an AEQ recipe (the JSON list). Errors name the entry and field, e.g.
 * `recipe entry 2 op_config.weight_tensor_config.num_bits: is required`.
 */
export function parseRecipe(json: unknown): Recipe {
  let data = json;
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data);
    } catch (e) {
      throw new AudiogenError('INVALID_RECIPE', `recipe is not valid JSON: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
  if (isObject(data) && Array.isArray(data.entries)) data = data.entries;
  if (!Array.isArray(data)) fail('root', 'must be a JSON list of entries');
  const entries: RecipeEntry[] = [];
  data.forEach((raw, i) => {
    const where = `entry ${i}`;
    if (!isObject(raw)) fail(where, 'must be an object');
    for (const k of Object.keys(raw)) {
      if (!['regex', 'operation', 'algorithm_key', 'op_config'].includes(k)) {
        fail(`${where} ${k}`, 'unknown field (known: regex, operation, algorithm_key, op_config)');
      }
    }
    if (typeof raw.regex !== 'string') fail(`${where} regex`, 'is required and must be a string');
    try {
      compilePythonRegex(raw.regex);
    } catch (e) {
      fail(
        `${where} regex`,
        `invalid regular expression ${JSON.stringify(raw.regex)}: ${(e as Error).message}`,
      );
    }
    if (typeof raw.operation !== 'string') fail(`${where} operation`, 'is required and must be a string');
    if (!(TFL_OPERATION_NAMES as readonly string[]).includes(raw.operation)) {
      fail(`${where} operation`, `unknown operation ${JSON.stringify(raw.operation)}`);
    }
    const alg = raw.algorithm_key;
    if (typeof alg !== 'string') fail(`${where} algorithm_key`, 'is required and must be a string');
    if ((UNSUPPORTED_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new AudiogenError(
        'UNSUPPORTED',
        `recipe ${where} algorithm_key: ${alg} is not supported (supported: ${SUPPORTED_ALGORITHMS.join(', ')})`,
        {
          details: { where, algorithm_key: alg },
        },
      );
    }
    if (!(SUPPORTED_ALGORITHMS as readonly string[]).includes(alg)) {
      fail(`${where} algorithm_key`, `unsupported algorithm key ${JSON.stringify(alg)}`);
    }
    const algorithmKey = alg as AlgorithmKey;
    const opConfig =
      algorithmKey === 'no_quantize' ? defaultOpConfig() : parseOpConfig(raw.op_config, `${where} op_config`);
    if (opConfig.activation_tensor_config && opConfig.compute_precision === 'INTEGER') {
      throw new AudiogenError(
        'UNSUPPORTED',
        `recipe ${where} op_config.activation_tensor_config: static range quantization (integer activations) needs calibration and is not supported; remove activation_tensor_config for dynamic range`,
        { details: { where } },
      );
    }
    const entry: RecipeEntry = {
      regex: raw.regex,
      operation: raw.operation as TflOperationName,
      algorithm_key: algorithmKey,
      op_config: opConfig,
    };
    // AEQ checks entries for one named operation when they are added.
    if (entry.operation !== '*' && algorithmKey !== 'no_quantize') {
      const why = checkOpQuantizationConfig(algorithmKey, entry.operation, opConfig);
      if (why) fail(`${where} op_config`, why, { operation: entry.operation });
    }
    entries.push(entry);
  });
  const recipe = { entries };
  PARSED.add(recipe);
  return recipe;
}

const PARSED = new WeakSet<Recipe>();

/** A recipe from a parsed Recipe, AEQ's JSON list, or JSON text. */
export function toRecipe(x: Recipe | unknown): Recipe {
  if (typeof x === 'object' && x !== null && PARSED.has(x as Recipe)) return x as Recipe;
  return parseRecipe(x);
}

/** Serialises a recipe back to AEQ's JSON list. */
export function recipeToJson(recipe: Recipe): RecipeJson {
  return recipe.entries.map((e) => {
    const out: Record<string, unknown> = {
      regex: e.regex,
      operation: e.operation,
      algorithm_key: e.algorithm_key,
    };
    const c = e.op_config;
    const t = (x: TensorQuantizationConfig) => ({
      num_bits: x.num_bits,
      symmetric: x.symmetric,
      granularity: x.granularity,
      dtype: x.dtype,
      ...(Object.keys(x.algorithm_params).length ? { algorithm_params: x.algorithm_params } : {}),
    });
    out.op_config = {
      ...(c.activation_tensor_config ? { activation_tensor_config: t(c.activation_tensor_config) } : {}),
      ...(c.weight_tensor_config ? { weight_tensor_config: t(c.weight_tensor_config) } : {}),
      compute_precision: c.compute_precision,
      explicit_dequantize: c.explicit_dequantize,
      skip_checks: c.skip_checks,
      min_weight_elements: c.min_weight_elements,
    };
    return out;
  });
}

// ---------------------------------------------------------------- policy (default_policy.py)

/** Ops whose constant weights take the weight config (common_utils.DRQ_OR_WEIGHT_ONLY_OPS). */
export const DRQ_OR_WEIGHT_ONLY_OPS: ReadonlySet<TflOperationName> = new Set<TflOperationName>([
  'FULLY_CONNECTED',
  'CONV_2D',
  'BATCH_MATMUL',
  'EMBEDDING_LOOKUP',
  'DEPTHWISE_CONV_2D',
  'CONV_2D_TRANSPOSE',
]);
const SUBCHANNEL_OPS: ReadonlySet<TflOperationName> = new Set<TflOperationName>([
  'FULLY_CONNECTED',
  'EMBEDDING_LOOKUP',
]);
export const FLOAT_CASTING_OPS: ReadonlySet<TflOperationName> = new Set<TflOperationName>([
  'FULLY_CONNECTED',
  'CONV_2D',
  'DEPTHWISE_CONV_2D',
  'CONV_2D_TRANSPOSE',
  'EMBEDDING_LOOKUP',
]);
/** Ops registered for min_max_uniform_quantize (algorithm_manager.py). */
const MIN_MAX_REGISTERED: ReadonlySet<string> = new Set(
  TFL_OPERATION_NAMES.filter((n) => n !== '*' && n !== 'CUSTOM_OP'),
);

interface PolicyConfig {
  num_bits: number;
  symmetric: boolean[];
  granularity: Granularity[];
  explicit_dequantize: boolean;
  compute_precision: ComputePrecision;
}
const CW_TW: Granularity[] = ['CHANNELWISE', 'TENSORWISE'];
const BW: Granularity[] = ['BLOCKWISE_32', 'BLOCKWISE_64', 'BLOCKWISE_128', 'BLOCKWISE_256'];
/** The weight-only / dynamic configs of AEQ's DEFAULT_JSON_POLICY (static ones need calibration). */
const POLICY_CONFIGS: Record<string, PolicyConfig> = {
  dynamic_wi8_afp32: {
    num_bits: 8,
    symmetric: [true],
    granularity: CW_TW,
    explicit_dequantize: false,
    compute_precision: 'INTEGER',
  },
  dynamic_wi4_afp32: {
    num_bits: 4,
    symmetric: [true],
    granularity: CW_TW,
    explicit_dequantize: false,
    compute_precision: 'INTEGER',
  },
  dynamic_wi4_afp32_blockwise: {
    num_bits: 4,
    symmetric: [true],
    granularity: BW,
    explicit_dequantize: false,
    compute_precision: 'INTEGER',
  },
  dynamic_wi2_afp32: {
    num_bits: 2,
    symmetric: [true],
    granularity: CW_TW,
    explicit_dequantize: false,
    compute_precision: 'INTEGER',
  },
  dynamic_wi2_afp32_blockwise: {
    num_bits: 2,
    symmetric: [true],
    granularity: BW,
    explicit_dequantize: false,
    compute_precision: 'INTEGER',
  },
  weightonly_wi8_afp32: {
    num_bits: 8,
    symmetric: [true, false],
    granularity: CW_TW,
    explicit_dequantize: true,
    compute_precision: 'FLOAT',
  },
  weightonly_wi4_afp32: {
    num_bits: 4,
    symmetric: [true, false],
    granularity: CW_TW,
    explicit_dequantize: true,
    compute_precision: 'FLOAT',
  },
};
const DRQ_ALL: TflOperationName[] = [
  'BATCH_MATMUL',
  'CONV_2D',
  'CONV_2D_TRANSPOSE',
  'DEPTHWISE_CONV_2D',
  'EMBEDDING_LOOKUP',
  'FULLY_CONNECTED',
];
const OPS_PER_CONFIG: Record<string, TflOperationName[]> = {
  dynamic_wi8_afp32: DRQ_ALL,
  dynamic_wi4_afp32: ['FULLY_CONNECTED', 'EMBEDDING_LOOKUP', 'CONV_2D'],
  dynamic_wi4_afp32_blockwise: ['EMBEDDING_LOOKUP', 'FULLY_CONNECTED'],
  dynamic_wi2_afp32: ['FULLY_CONNECTED', 'EMBEDDING_LOOKUP', 'CONV_2D'],
  dynamic_wi2_afp32_blockwise: ['FULLY_CONNECTED'],
  weightonly_wi8_afp32: DRQ_ALL,
  weightonly_wi4_afp32: ['BATCH_MATMUL', 'FULLY_CONNECTED', 'EMBEDDING_LOOKUP', 'CONV_2D'],
};

function policyMatches(op: TflOperationName, c: OpQuantizationConfig): boolean {
  // Configs are compared with min_weight_elements 0 and algorithm_params stripped.
  if (c.skip_checks || c.activation_tensor_config) return false;
  const w = c.weight_tensor_config;
  for (const [name, ops] of Object.entries(OPS_PER_CONFIG)) {
    if (!ops.includes(op)) continue;
    const p = POLICY_CONFIGS[name]!;
    if (p.compute_precision !== c.compute_precision || p.explicit_dequantize !== c.explicit_dequantize)
      continue;
    if (!DRQ_OR_WEIGHT_ONLY_OPS.has(op)) return true; // weights stripped for other ops
    if (!w) continue;
    if (
      w.dtype === 'INT' &&
      w.num_bits === p.num_bits &&
      p.symmetric.includes(w.symmetric) &&
      p.granularity.includes(w.granularity)
    ) {
      return true;
    }
  }
  return false;
}

/**
 * AEQ's check_op_quantization_config: returns why `config` cannot quantize `op` with `algorithm`,
 * or undefined when it can.
 */
export function checkOpQuantizationConfig(
  algorithm: AlgorithmKey,
  op: TflOperationName,
  config: OpQuantizationConfig,
): string | undefined {
  if (algorithm === 'no_quantize') return undefined;
  if (config.skip_checks) return undefined;
  if (algorithm === 'float_casting') {
    if (!FLOAT_CASTING_OPS.has(op)) return `unsupported operation ${op} for algorithm float_casting`;
    if (config.compute_precision !== 'FLOAT') {
      return `float_casting supports weight-only (compute_precision FLOAT) only, got ${config.compute_precision} for ${op}`;
    }
    if (config.activation_tensor_config)
      return 'activation tensor quantization is not supported for float_casting';
    const w = config.weight_tensor_config;
    if (!w) return 'weight tensor quantization config is required for float_casting';
    if (w.num_bits !== 16 || w.dtype !== 'FLOAT') {
      return `float_casting requires weight num_bits 16 and dtype FLOAT, got ${w.num_bits} and ${w.dtype}`;
    }
    return undefined;
  }
  // min_max_uniform_quantize
  if (!MIN_MAX_REGISTERED.has(op))
    return `unsupported operation ${op} for algorithm min_max_uniform_quantize`;
  if (DRQ_OR_WEIGHT_ONLY_OPS.has(op)) {
    const w = config.weight_tensor_config;
    if (!w) return 'weight tensor quantization is required for min/max uniform quantization';
    if (w.dtype !== 'INT') {
      return 'weights need to have integer type for min/max uniform quantization (use algorithm float_casting for fp16 weights)';
    }
  }
  if (config.min_weight_elements < 0) return 'min_weight_elements must be non-negative';
  if (!policyMatches(op, config)) {
    return `unsupported op for ${config.compute_precision}: ${op}: quantization config ${describeConfig(config)} was not found in the policy`;
  }
  const w = config.weight_tensor_config;
  if (w && isBlockwise(w.granularity)) {
    if (!SUBCHANNEL_OPS.has(op)) return `unsupported op for blockwise quantization: ${op}`;
    if (!w.symmetric) return 'blockwise quantization does not support asymmetric weight quantization';
  }
  return undefined;
}

export function describeConfig(c: OpQuantizationConfig): string {
  const w = c.weight_tensor_config;
  const ws = w
    ? `w${w.dtype === 'FLOAT' ? 'f' : 'i'}${w.num_bits} ${w.symmetric ? 'sym' : 'asym'} ${w.granularity}`
    : 'no weights';
  return `{${ws}, ${c.compute_precision}, explicit_dequantize=${c.explicit_dequantize}}`;
}

// ---------------------------------------------------------------- resolution (recipe_manager.py)

interface ScopeGroup {
  regex: string;
  re: LinearRegex;
  entries: RecipeEntry[];
}

/** Groups entries as AEQ's RecipeManager stores them: per regex, "*" replacing what was before. */
export class RecipeResolver {
  private readonly groups: ScopeGroup[] = [];

  constructor(recipe: Recipe) {
    const byRegex = new Map<string, ScopeGroup>();
    for (const e of recipe.entries) {
      let g = byRegex.get(e.regex);
      if (!g) {
        g = { regex: e.regex, re: compilePythonRegex(e.regex), entries: [] };
        byRegex.set(e.regex, g);
        this.groups.push(g);
      }
      if (e.operation === '*') {
        g.entries = [e];
        continue;
      }
      const i = g.entries.findIndex((x) => x.operation === e.operation);
      if (i >= 0) g.entries[i] = e;
      else g.entries.push(e);
    }
  }

  /**
   * The algorithm and config for an op: the last matching entry that passes the policy check wins;
   * default no_quantize. `rejected` lists matching entries that failed the check (and why).
   */
  resolve(
    op: TflOperationName,
    scope: string,
  ): {
    algorithm: AlgorithmKey;
    config: OpQuantizationConfig;
    entry?: RecipeEntry;
    rejected: { entry: RecipeEntry; reason: string }[];
  } {
    let algorithm: AlgorithmKey = 'no_quantize';
    let config = defaultOpConfig();
    let chosen: RecipeEntry | undefined;
    const rejected: { entry: RecipeEntry; reason: string }[] = [];
    for (const g of this.groups) {
      if (!g.re.test(scope)) continue;
      for (const e of g.entries) {
        if (e.operation !== '*' && e.operation !== op) continue;
        if (e.algorithm_key !== 'no_quantize') {
          const why = checkOpQuantizationConfig(e.algorithm_key, op, e.op_config);
          if (why) {
            rejected.push({ entry: e, reason: why });
            continue;
          }
        }
        algorithm = e.algorithm_key;
        config = e.op_config;
        chosen = e;
      }
    }
    return { algorithm, config, ...(chosen ? { entry: chosen } : {}), rejected };
  }
}
