import type { DType } from '@audiogen/core';
import { AudiogenError } from '@audiogen/core';
import { TensorType, type TensorTypeName } from './graph';
import {
  BUILTIN_OPERATOR_CODES,
  BUILTIN_OPTIONS_UNION,
  BUILTIN_OPTIONS2_UNION,
  type FieldSpec,
  OPTION_TABLES,
} from './schema-generated';

export type { FieldSpec };
export { BUILTIN_OPTIONS_UNION, BUILTIN_OPTIONS2_UNION, OPTION_TABLES };

/** Every builtin operator of the LiteRT schema: name → code (e.g. BuiltinOperator.FULLY_CONNECTED === 9). */
export const BuiltinOperator: Readonly<Record<string, number>> = BUILTIN_OPERATOR_CODES;

const OP_NAMES = new Map<number, string>();
for (const [name, code] of Object.entries(BUILTIN_OPERATOR_CODES)) {
  if (!OP_NAMES.has(code)) OP_NAMES.set(code, name);
}

/** Name of a builtin operator code; `UNKNOWN_<code>` for codes this schema version does not know. */
export function builtinOperatorName(code: number): string {
  return OP_NAMES.get(code) ?? `UNKNOWN_${code}`;
}

/** Code of a builtin operator name (also accepts `UNKNOWN_<code>`). Throws INVALID_ARGUMENT otherwise. */
export function builtinOperatorCode(name: string): number {
  const c = BUILTIN_OPERATOR_CODES[name];
  if (c !== undefined) return c;
  const m = /^UNKNOWN_(\d+)$/.exec(name);
  if (m) return Number(m[1]);
  throw new AudiogenError('INVALID_ARGUMENT', `unknown builtin operator ${JSON.stringify(name)}`);
}

/** OperatorCode.deprecated_builtin_code value for a code (schema_conversion_utils: codes >= 127 → 127). */
export const PLACEHOLDER_FOR_GREATER_OP_CODES = 127;

export const ActivationFunctionType = {
  NONE: 0,
  RELU: 1,
  RELU_N1_TO_1: 2,
  RELU6: 3,
  TANH: 4,
  SIGN_BIT: 5,
} as const;

export const Padding = { SAME: 0, VALID: 1 } as const;

const TENSOR_TYPE_NAMES = new Map<number, TensorTypeName>();
for (const [name, code] of Object.entries(TensorType)) TENSOR_TYPE_NAMES.set(code, name as TensorTypeName);

export function tensorTypeName(code: number): TensorTypeName | undefined {
  return TENSOR_TYPE_NAMES.get(code);
}

const TYPE_TO_DTYPE: Partial<Record<TensorTypeName, DType>> = {
  FLOAT32: 'float32',
  FLOAT16: 'float16',
  BFLOAT16: 'bfloat16',
  FLOAT64: 'float64',
  INT4: 'int4',
  INT8: 'int8',
  UINT8: 'uint8',
  INT16: 'int16',
  UINT16: 'uint16',
  INT32: 'int32',
  UINT32: 'uint32',
  INT64: 'int64',
  UINT64: 'uint64',
  BOOL: 'bool',
};

/** TensorType name → core DType. Throws UNSUPPORTED for types core has no DType for (STRING, COMPLEX64…). */
export function tensorTypeToDType(name: TensorTypeName | string): DType {
  const d = TYPE_TO_DTYPE[name as TensorTypeName];
  if (!d) throw new AudiogenError('UNSUPPORTED', `tensor type ${name} has no audiogen dtype`);
  return d;
}

/** core DType → TensorType name. */
export function dtypeToTensorType(dtype: DType): TensorTypeName {
  for (const [k, v] of Object.entries(TYPE_TO_DTYPE)) if (v === dtype) return k as TensorTypeName;
  throw new AudiogenError('INVALID_ARGUMENT', `unknown dtype ${String(dtype)}`);
}

/**
 * Bytes of constant data for `elements` values of a tensor type; undefined for types whose size is
 * not a function of the shape (STRING, RESOURCE, VARIANT). Packed types round up (INT4/UINT4 two per
 * byte, INT2 four per byte).
 */
export function tensorTypeByteSize(name: TensorTypeName, elements: number): number | undefined {
  switch (name) {
    case 'STRING':
    case 'RESOURCE':
    case 'VARIANT':
      return undefined;
    case 'INT4':
    case 'UINT4':
      return Math.ceil(elements / 2);
    case 'INT2':
      return Math.ceil(elements / 4);
    case 'BOOL':
    case 'INT8':
    case 'UINT8':
    case 'FLOAT8_E4M3FN':
    case 'FLOAT8_E5M2':
      return elements;
    case 'FLOAT16':
    case 'BFLOAT16':
    case 'INT16':
    case 'UINT16':
      return elements * 2;
    case 'FLOAT32':
    case 'INT32':
    case 'UINT32':
      return elements * 4;
    case 'INT64':
    case 'UINT64':
    case 'FLOAT64':
    case 'COMPLEX64':
      return elements * 8;
    case 'COMPLEX128':
      return elements * 16;
  }
}

const UNION1_INDEX = new Map<string, number>();
BUILTIN_OPTIONS_UNION.forEach((n, i) => {
  if (n && i > 0) UNION1_INDEX.set(n, i);
});
const UNION2_INDEX = new Map<string, number>();
BUILTIN_OPTIONS2_UNION.forEach((n, i) => {
  if (n && i > 0) UNION2_INDEX.set(n, i);
});

/** Union slot of an options table name: 1 = builtin_options, 2 = builtin_options_2. */
export function optionsUnionIndex(table: string): { union: 1 | 2; index: number } | undefined {
  const a = UNION1_INDEX.get(table);
  if (a !== undefined) return { union: 1, index: a };
  const b = UNION2_INDEX.get(table);
  if (b !== undefined) return { union: 2, index: b };
  return undefined;
}

/**
 * The options table each builtin operator takes (from the schema comments and the runtime's
 * flatbuffer_conversions.cc parsers). Ops absent here take no options table (e.g. RSQRT, TANH).
 * The writer uses it to emit a table with schema defaults when a graph omits options, because
 * the runtime reads a missing table as all zeros (litert.md §1.7).
 */
export const OP_OPTIONS_TABLE: Readonly<Record<string, string>> = {
  ADD: 'AddOptions',
  SUB: 'SubOptions',
  MUL: 'MulOptions',
  DIV: 'DivOptions',
  FULLY_CONNECTED: 'FullyConnectedOptions',
  BATCH_MATMUL: 'BatchMatMulOptions',
  CONV_2D: 'Conv2DOptions',
  DEPTHWISE_CONV_2D: 'DepthwiseConv2DOptions',
  TRANSPOSE_CONV: 'TransposeConvOptions',
  AVERAGE_POOL_2D: 'Pool2DOptions',
  MAX_POOL_2D: 'Pool2DOptions',
  L2_POOL_2D: 'Pool2DOptions',
  RESHAPE: 'ReshapeOptions',
  TRANSPOSE: 'TransposeOptions',
  SOFTMAX: 'SoftmaxOptions',
  GELU: 'GeluOptions',
  CONCATENATION: 'ConcatenationOptions',
  SLICE: 'SliceOptions',
  STRIDED_SLICE: 'StridedSliceOptions',
  GATHER: 'GatherOptions',
  MEAN: 'ReducerOptions',
  SUM: 'ReducerOptions',
  REDUCE_MAX: 'ReducerOptions',
  REDUCE_MIN: 'ReducerOptions',
  REDUCE_PROD: 'ReducerOptions',
  REDUCE_ANY: 'ReducerOptions',
  REDUCE_ALL: 'ReducerOptions',
  SQUARE: 'SquareOptions',
  POW: 'PowOptions',
  EXP: 'ExpOptions',
  COS: 'CosOptions',
  DEQUANTIZE: 'DequantizeOptions',
  QUANTIZE: 'QuantizeOptions',
  PAD: 'PadOptions',
  PADV2: 'PadV2Options',
  MIRROR_PAD: 'MirrorPadOptions',
  CAST: 'CastOptions',
  SQUARED_DIFFERENCE: 'SquaredDifferenceOptions',
  NEG: 'NegOptions',
  SELECT: 'SelectOptions',
  SELECT_V2: 'SelectV2Options',
  BROADCAST_TO: 'BroadcastToOptions',
  SPLIT: 'SplitOptions',
  SPLIT_V: 'SplitVOptions',
  PACK: 'PackOptions',
  UNPACK: 'UnpackOptions',
  MAXIMUM: 'MaximumMinimumOptions',
  MINIMUM: 'MaximumMinimumOptions',
  LEAKY_RELU: 'LeakyReluOptions',
  HARD_SWISH: 'HardSwishOptions',
  CUMSUM: 'CumsumOptions',
  RANGE: 'RangeOptions',
  FILL: 'FillOptions',
  SHAPE: 'ShapeOptions',
  EXPAND_DIMS: 'ExpandDimsOptions',
  SQUEEZE: 'SqueezeOptions',
  ABS: 'AbsOptions',
  SIGN: 'SignOptions',
  RESIZE_BILINEAR: 'ResizeBilinearOptions',
  RESIZE_NEAREST_NEIGHBOR: 'ResizeNearestNeighborOptions',
  TILE: 'TileOptions',
  DYNAMIC_UPDATE_SLICE: 'DynamicUpdateSliceOptions',
  ARG_MAX: 'ArgMaxOptions',
  ARG_MIN: 'ArgMinOptions',
  GATHER_ND: 'GatherNdOptions',
  SPACE_TO_DEPTH: 'SpaceToDepthOptions',
  DEPTH_TO_SPACE: 'DepthToSpaceOptions',
  EQUAL: 'EqualOptions',
  NOT_EQUAL: 'NotEqualOptions',
  LESS: 'LessOptions',
  LESS_EQUAL: 'LessEqualOptions',
  GREATER: 'GreaterOptions',
  GREATER_EQUAL: 'GreaterEqualOptions',
  LOGICAL_OR: 'LogicalOrOptions',
  LOGICAL_AND: 'LogicalAndOptions',
  LOGICAL_NOT: 'LogicalNotOptions',
  FLOOR_DIV: 'FloorDivOptions',
  FLOOR_MOD: 'FloorModOptions',
  ONE_HOT: 'OneHotOptions',
  WHERE: 'WhereOptions',
  ZEROS_LIKE: 'ZerosLikeOptions',
  REVERSE_V2: 'ReverseV2Options',
  RANK: 'RankOptions',
  L2_NORMALIZATION: 'L2NormOptions',
  LOCAL_RESPONSE_NORMALIZATION: 'LocalResponseNormalizationOptions',
  CALL_ONCE: 'CallOnceOptions',
  IF: 'IfOptions',
  WHILE: 'WhileOptions',
  VAR_HANDLE: 'VarHandleOptions',
  READ_VARIABLE: 'ReadVariableOptions',
  ASSIGN_VARIABLE: 'AssignVariableOptions',
  STABLEHLO_COMPOSITE: 'StableHLOCompositeOptions',
};

/** Field specs of an options table, or undefined for an unknown table name. */
export function optionFields(table: string): readonly FieldSpec[] | undefined {
  return Object.hasOwn(OPTION_TABLES, table) ? OPTION_TABLES[table] : undefined;
}
