import type { DType } from '@audiogen/core';

/** LiteRtElementType (= TfLiteType numbering) → core DType. */
const ELEMENT_TO_DTYPE: Record<number, DType> = {
  1: 'float32',
  2: 'int32',
  3: 'uint8',
  4: 'int64',
  6: 'bool',
  7: 'int16',
  9: 'int8',
  10: 'float16',
  11: 'float64',
  13: 'uint64',
  16: 'uint32',
  17: 'uint16',
  18: 'int4',
  19: 'bfloat16',
};

const ELEMENT_NAMES: Record<number, string> = {
  0: 'none',
  5: 'string',
  8: 'complex64',
  12: 'complex128',
  14: 'resource',
  15: 'variant',
  20: 'int2',
};

export function elementTypeToDType(code: number): DType | undefined {
  return ELEMENT_TO_DTYPE[code];
}

export function elementTypeName(code: number): string {
  return ELEMENT_TO_DTYPE[code] ?? ELEMENT_NAMES[code] ?? `type#${code}`;
}
