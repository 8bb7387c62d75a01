import { describe, expect, it } from 'vitest';
import { TensorType } from './graph';
import { TENSOR_TYPE_CODES } from './schema-generated';

describe('hand-written schema enums', () => {
  it('TensorType equals the table generated from the official wheel schema', () => {
    expect({ ...TensorType }).toEqual({ ...TENSOR_TYPE_CODES });
  });
});
