import { AudiogenError } from './errors';

export const DTYPES = [
  'float32',
  'float16',
  'bfloat16',
  'float64',
  'int4',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'bool',
] as const;
export type DType = (typeof DTYPES)[number];

/** The typed array that holds each dtype. 16-bit floats are raw bits; int4 is packed two per byte. */
export interface DTypeArrays {
  float32: Float32Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  float64: Float64Array;
  int4: Uint8Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int16: Int16Array;
  uint16: Uint16Array;
  int32: Int32Array;
  uint32: Uint32Array;
  int64: BigInt64Array;
  uint64: BigUint64Array;
  bool: Uint8Array;
}
export type TypedArrayOf<D extends DType> = DTypeArrays[D];
export type AnyTypedArray = DTypeArrays[DType];

export interface Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: TypedArrayOf<D>;
}

const CTORS = {
  float32: Float32Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  float64: Float64Array,
  int4: Uint8Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
} as const;

/** The typed-array class that stores a dtype (views over existing memory: `new C(buffer, offset, length)`). */
export function typedArrayConstructor<D extends DType>(
  dtype: D,
): new (
  buffer: ArrayBufferLike,
  byteOffset?: number,
  length?: number,
) => TypedArrayOf<D> {
  return CTORS[dtype] as unknown as new (
    buffer: ArrayBufferLike,
    byteOffset?: number,
    length?: number,
  ) => TypedArrayOf<D>;
}

/** Bytes per element; int4 reports 0.5. */
export function dtypeByteSize(dtype: DType): number {
  if (dtype === 'int4') return 0.5;
  return CTORS[dtype].BYTES_PER_ELEMENT;
}

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && (DTYPES as readonly string[]).includes(x);
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new AudiogenError('INVALID_ARGUMENT', `invalid dimension ${d} in shape [${shape.join(', ')}]`);
    }
    n *= d;
  }
  return n;
}

/** Number of typed-array elements needed to hold a tensor of this dtype and element count. */
export function storageLength(dtype: DType, elements: number): number {
  return dtype === 'int4' ? Math.ceil(elements / 2) : elements;
}

/** Creates a tensor, checking that the data length matches the shape. Allocates zeros when data is omitted. */
export function tensor<D extends DType>(
  dtype: D,
  shape: readonly number[],
  data?: TypedArrayOf<D>,
): Tensor<D> {
  if (!isDType(dtype)) throw new AudiogenError('INVALID_ARGUMENT', `unknown dtype ${String(dtype)}`);
  const n = storageLength(dtype, shapeSize(shape));
  const Ctor = CTORS[dtype] as unknown as new (n: number) => TypedArrayOf<D>;
  const d = data ?? new Ctor(n);
  if (!(d instanceof (CTORS[dtype] as unknown as typeof Uint8Array))) {
    throw new AudiogenError('INVALID_ARGUMENT', `data for a ${dtype} tensor must be a ${CTORS[dtype].name}`);
  }
  if (d.length !== n) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `tensor data has ${d.length} elements but shape [${shape.join(', ')}] needs ${n}`,
    );
  }
  return { dtype, shape: [...shape], data: d };
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** IEEE half → float. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** float → IEEE half bits, round to nearest even (as numpy's astype(float16)). */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rem = mant & ((1 << shift) - 1);
    let r = mant >>> shift;
    if (rem > half || (rem === half && r & 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && r & 1)) r++;
  return sign | r;
}

/** bfloat16 bits → float. */
export function bf16ToFloat(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0]!;
}

/** float → bfloat16 bits, round to nearest even. */
export function floatToBf16(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  if ((bits & 0x7f800000) === 0x7f800000 && bits & 0x7fffff) return ((bits >>> 16) | 0x40) & 0xffff;
  const r = bits + 0x7fff + ((bits >>> 16) & 1);
  return (r >>> 16) & 0xffff;
}

/** Copies any numeric tensor into float32 (float16/bfloat16 decoded, int64 narrowed). */
export function toFloat32(t: Tensor): Float32Array {
  const n = shapeSize(t.shape);
  const out = new Float32Array(n);
  const d = t.data;
  switch (t.dtype) {
    case 'float16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat((d as Uint16Array)[i]!);
      return out;
    case 'bfloat16':
      for (let i = 0; i < n; i++) out[i] = bf16ToFloat((d as Uint16Array)[i]!);
      return out;
    case 'int64':
    case 'uint64':
      for (let i = 0; i < n; i++) out[i] = Number((d as BigInt64Array)[i]!);
      return out;
    case 'int4':
      for (let i = 0; i < n; i++) {
        const byte = (d as Uint8Array)[i >> 1]!;
        const nib = i & 1 ? byte >> 4 : byte & 0xf;
        out[i] = nib >= 8 ? nib - 16 : nib;
      }
      return out;
    default:
      for (let i = 0; i < n; i++) out[i] = Number((d as Float32Array)[i]);
      return out;
  }
}
