/**
 * The in-memory .tflite graph that readers produce, builders and transforms edit, and the writer
 * serialises. It mirrors the schema (google-ai-edge/LiteRT tflite/converter/schema/schema.fbs) but
 * replaces buffer indices with the bytes themselves, and builtin option tables with plain objects
 * whose keys are the schema's snake_case field names.
 */

/** TensorType enum values of the schema. */
export const TensorType = {
  FLOAT32: 0,
  FLOAT16: 1,
  INT32: 2,
  UINT8: 3,
  INT64: 4,
  STRING: 5,
  BOOL: 6,
  INT16: 7,
  COMPLEX64: 8,
  INT8: 9,
  FLOAT64: 10,
  COMPLEX128: 11,
  UINT64: 12,
  RESOURCE: 13,
  VARIANT: 14,
  UINT32: 15,
  UINT16: 16,
  INT4: 17,
  BFLOAT16: 18,
  INT2: 19,
  UINT4: 20,
  FLOAT8_E4M3FN: 21,
  FLOAT8_E5M2: 22,
} as const;
export type TensorTypeName = keyof typeof TensorType;

export interface BlockwiseQuantization {
  type: 'BlockwiseQuantization';
  /** Tensor index of the scale tensor. */
  scales: number;
  /** Tensor index of the zero-point tensor, -1 when all zero. */
  zero_points: number;
  block_size: number;
}

export interface CustomQuantization {
  type: 'CustomQuantization';
  custom: Uint8Array;
}

export interface MultiAxisQuantization {
  type: 'MultiAxisQuantization';
  scales: number;
  zero_points: number;
  block_size: number;
  quantized_dimensions: number[];
}

export type QuantizationDetails = BlockwiseQuantization | CustomQuantization | MultiAxisQuantization;

export interface Quantization {
  min?: number[];
  max?: number[];
  scale?: number[];
  /** int64 in the file; safe integers here. */
  zero_point?: number[];
  quantized_dimension?: number;
  details?: QuantizationDetails;
}

export interface GraphTensor {
  name: string;
  type: TensorTypeName;
  shape: number[];
  /** -1 for unknown dims; omitted when equal to shape. */
  shape_signature?: number[];
  /** Constant bytes (little-endian, row-major). Tensors that share one Uint8Array share one buffer. */
  data?: Uint8Array;
  quantization?: Quantization;
  is_variable?: boolean;
  has_rank?: boolean;
  /** Sparsity parameters, kept as a plain object for round trips. */
  sparsity?: Record<string, unknown>;
}

/** Option value types found in builtin option tables. */
export type OptionValue = number | bigint | boolean | string | number[] | Uint8Array;

/** A builtin options table: `type` is the table name (e.g. 'FullyConnectedOptions'). */
export interface BuiltinOptions {
  type: string;
  [field: string]: OptionValue;
}

export interface Operator {
  /** Builtin operator name as in the schema enum, e.g. 'FULLY_CONNECTED', or 'CUSTOM'. */
  op: string;
  /** Numeric builtin code (kept so codes unknown to this version survive a round trip). */
  builtin_code: number;
  custom_code?: string;
  /** OperatorCode.version (default 1). */
  version: number;
  /** Tensor indices; -1 for an omitted optional input. */
  inputs: number[];
  outputs: number[];
  intermediates?: number[];
  options?: BuiltinOptions;
  /** builtin_options_2 (e.g. StableHLOCompositeOptions). */
  options2?: BuiltinOptions;
  custom_options?: Uint8Array;
  mutating_variable_inputs?: boolean[];
}

export interface Subgraph {
  name: string;
  tensors: GraphTensor[];
  inputs: number[];
  outputs: number[];
  operators: Operator[];
}

export interface SignatureTensor {
  name: string;
  tensor_index: number;
}

export interface Signature {
  signature_key: string;
  subgraph_index: number;
  inputs: SignatureTensor[];
  outputs: SignatureTensor[];
}

export interface MetadataEntry {
  name: string;
  data: Uint8Array;
}

export interface Graph {
  version: number;
  description: string;
  subgraphs: Subgraph[];
  signatures: Signature[];
  metadata: MetadataEntry[];
}
