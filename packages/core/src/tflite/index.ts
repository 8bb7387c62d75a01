export { readTfliteFile } from './file';
export * from './graph';
export {
  formatInspection,
  inspectTflite,
  inspectTfliteFile,
  type TensorSummary,
  type TfliteInspection,
  weightPrecision,
} from './inspect';
export {
  type BufferLayout,
  DEFAULT_MAX_TENSOR_BYTES,
  MAX_RANK,
  MAX_SUBGRAPHS,
  readTflite,
  readTfliteStructure,
  type VerifyTfliteOptions,
  verifyTflite,
  verifyTfliteFile,
} from './read';
export {
  ActivationFunctionType,
  BuiltinOperator,
  builtinOperatorCode,
  builtinOperatorName,
  dtypeToTensorType,
  OP_OPTIONS_TABLE,
  optionFields,
  optionsUnionIndex,
  Padding,
  PLACEHOLDER_FOR_GREATER_OP_CODES,
  tensorTypeByteSize,
  tensorTypeName,
  tensorTypeToDType,
} from './schema';
export {
  type ConstantRef,
  DEFAULT_OFFSET_THRESHOLD,
  TFLITE_SCHEMA_VERSION,
  type WriteTfliteFileOptions,
  type WriteTfliteOptions,
  writeTflite,
  writeTfliteAppendix,
  writeTfliteFile,
} from './write';
