/**
 * Quantization math, bit-compatible with AEQ's min_max_uniform_quantize
 * (algorithms/uniform_quantize/uniform_quantize_tensor.py, v0.10.0), which runs in numpy float32:
 * every float op here is rounded to float32 (Math.fround) the way numpy does it.
 */
import { AudiogenError, bf16ToFloat, floatToBf16, floatToHalf, halfToFloat } from '@audiogen/core';
import { blockSizeOf, type Granularity, isBlockwise } from './recipe';

const f = Math.fround;
/** numpy casts the Python float 1e-9 (min_bound) to the array's float32. */
const MIN_BOUND = f(1e-9);

/** numpy.rint: round half to even. */
export function rint(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; fix ties to even.
  if (r - x === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

export function quantizedRange(numBits: number, signed = true): [number, number] {
  if (signed) return [-(2 ** (numBits - 1)), 2 ** (numBits - 1) - 1];
  return [0, 2 ** numBits - 1];
}

/** Where the per-channel / per-block parameters vary, and how many groups there are. */
export interface Layout {
  shape: number[];
  /** Quantized dimension (undefined for per-tensor). */
  dim?: number;
  /** Block size along `dim` for blockwise (0 otherwise). */
  blockSize: number;
}

/** Shape of the scale array: [] per-tensor, [C] per-channel, shape with dim/blocks for blockwise. */
export function paramShape(layout: Layout): number[] {
  if (layout.dim === undefined) return [];
  if (layout.blockSize > 0) {
    const s = layout.shape.slice();
    s[layout.dim] = s[layout.dim]! / layout.blockSize;
    return s;
  }
  return [layout.shape[layout.dim]!];
}

/**
 * Visits the tensor in row-major order as (group of the first element of a run, run length, group
 * stride within the run): the quantized dim splits the shape into outer × n × inner.
 */
function forEachRun(
  layout: Layout,
  fn: (start: number, length: number, group: number, groupStride: number) => void,
): void {
  const { shape, dim, blockSize } = layout;
  const total = shape.reduce((a, b) => a * b, 1);
  if (dim === undefined) {
    fn(0, total, 0, 0);
    return;
  }
  let inner = 1;
  for (let d = dim + 1; d < shape.length; d++) inner *= shape[d]!;
  const n = shape[dim]!;
  const outer = n * inner === 0 ? 0 : total / (n * inner);
  const nb = blockSize > 0 ? n / blockSize : 0;
  for (let o = 0; o < outer; o++) {
    for (let d = 0; d < n; d++) {
      const start = (o * n + d) * inner;
      if (blockSize === 0) fn(start, inner, d, 0);
      else fn(start, inner, (o * nb + Math.floor(d / blockSize)) * inner, 1);
    }
  }
}

export function layoutFor(
  shape: readonly number[],
  granularity: Granularity,
  channelDim: number | undefined,
  blockDim: number | undefined,
): Layout {
  if (granularity === 'TENSORWISE') return { shape: [...shape], blockSize: 0 };
  if (granularity === 'CHANNELWISE') {
    if (channelDim === undefined) {
      throw new AudiogenError('UNSUPPORTED', 'per-channel quantization has no channel dimension for this op');
    }
    return { shape: [...shape], dim: channelDim, blockSize: 0 };
  }
  const bs = blockSizeOf(granularity);
  if (blockDim === undefined)
    throw new AudiogenError('UNSUPPORTED', 'blockwise quantization is not defined for this op');
  const n = shape[blockDim];
  if (n === undefined || n % bs !== 0) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `quantized dimension ${n} in tensor shape [${shape.join(',')}] is not divisible by block size ${bs}`,
    );
  }
  return { shape: [...shape], dim: blockDim, blockSize: bs };
}

/** Min and max per parameter group (numpy min/max over the reduced dims; exact in float32). */
export function minMax(data: Float32Array, layout: Layout): { min: Float32Array; max: Float32Array } {
  const count = paramShape(layout).reduce((a, b) => a * b, 1);
  const min = new Float32Array(count).fill(Number.POSITIVE_INFINITY);
  const max = new Float32Array(count).fill(Number.NEGATIVE_INFINITY);
  forEachRun(layout, (start, length, group, stride) => {
    if (stride === 0) {
      let lo = min[group]!;
      let hi = max[group]!;
      for (let i = start, e = start + length; i < e; i++) {
        const v = data[i]!;
        // numpy propagates NaN through min/max.
        if (v < lo || Number.isNaN(v)) lo = v;
        if (v > hi || Number.isNaN(v)) hi = v;
        if (Number.isNaN(lo)) hi = lo;
      }
      min[group] = lo;
      max[group] = hi;
      return;
    }
    for (let j = 0; j < length; j++) {
      const v = data[start + j]!;
      const k = group + j;
      if (v < min[k]! || Number.isNaN(v)) min[k] = v;
      if (v > max[k]! || Number.isNaN(v)) max[k] = v;
    }
  });
  return { min, max };
}

export interface QuantParams {
  scale: Float32Array;
  zeroPoint: Int32Array;
  numBits: number;
  symmetric: boolean;
  layout: Layout;
}

/** tensor_zp_scale_from_min_max (signed types). Blockwise scales are bf16-rounded, then fp16, then f32. */
export function scaleFromMinMax(
  min: Float32Array,
  max: Float32Array,
  numBits: number,
  symmetric: boolean,
  blockwise: boolean,
): { scale: Float32Array; zeroPoint: Int32Array } {
  const [qmin, qmax] = quantizedRange(numBits);
  const n = min.length;
  const scale = new Float32Array(n);
  const zeroPoint = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let s: number;
    if (symmetric) {
      let bound = Math.max(Math.abs(min[i]!), Math.abs(max[i]!));
      bound = Math.max(bound, MIN_BOUND);
      s = f(bound / qmax);
    } else {
      const bmax = Math.max(max[i]!, 0);
      const bmin = Math.min(min[i]!, 0);
      const bound = Math.max(f(bmax - bmin), MIN_BOUND);
      s = f(bound / (qmax - qmin));
      zeroPoint[i] = wrapInt(rint(f(qmin - f(bmin / s))), numBits);
    }
    if (blockwise) s = halfToFloat(floatToHalf(bf16ToFloat(floatToBf16(s))));
    scale[i] = s;
  }
  return { scale, zeroPoint };
}

/** numpy astype to the int container (int8 for ≤ 8 bits, …): wraps like C. */
function wrapInt(x: number, numBits: number): number {
  const bits = numBits <= 8 ? 8 : numBits <= 16 ? 16 : 32;
  const m = 2 ** bits;
  let v = ((x % m) + m) % m;
  if (v >= m / 2) v -= m;
  return v;
}

/** uniform_quantize: q = clip(rint(x / scale + zp)); narrow range iff symmetric and ≥ 8 bits. */
export function quantizeValues(data: Float32Array, p: QuantParams): Int32Array {
  const [qmin, qmax] = quantizedRange(p.numBits);
  const lo = p.symmetric && p.numBits >= 8 ? qmin + 1 : qmin;
  const out = new Int32Array(data.length);
  const one = (v: number, s: number, zp: number): number => {
    let x = f(v / s);
    if (zp !== 0) x = f(x + zp);
    if (Number.isNaN(x)) return 0; // numpy: NaN cast to int is undefined; x86 gives 0 after int8 wrap
    let r = Math.round(x);
    if (r - x === 0.5 && r % 2 !== 0) r -= 1; // half to even
    return Math.max(lo, Math.min(qmax, r));
  };
  forEachRun(p.layout, (start, length, group, stride) => {
    if (stride === 0) {
      const s = p.scale[group]!;
      const zp = p.zeroPoint[group]!;
      for (let i = start, e = start + length; i < e; i++) out[i] = one(data[i]!, s, zp);
      return;
    }
    for (let j = 0; j < length; j++)
      out[start + j] = one(data[start + j]!, p.scale[group + j]!, p.zeroPoint[group + j]!);
  });
  return out;
}

/** Dequantize (for error analysis and tests): (q - zp) * scale. */
export function dequantizeValues(q: Int32Array, p: QuantParams): Float32Array {
  const out = new Float32Array(q.length);
  forEachRun(p.layout, (start, length, group, stride) => {
    for (let j = 0; j < length; j++) {
      const k = group + j * stride;
      out[start + j] = f((q[start + j]! - p.zeroPoint[k]!) * p.scale[k]!);
    }
  });
  return out;
}

/**
 * Stores quantized values as the .tflite constant bytes: int2/int4 packed (element 2i in the low
 * nibble), ≤ 8 bits as int8, ≤ 16 as int16, else int32.
 */
export function packQuantized(q: Int32Array, numBits: number): Uint8Array {
  if (numBits === 4 || numBits === 2) {
    const per = 8 / numBits;
    const mask = (1 << numBits) - 1;
    const out = new Uint8Array(Math.ceil(q.length / per));
    for (let i = 0; i < q.length; i++) {
      out[Math.floor(i / per)]! |= (q[i]! & mask) << ((i % per) * numBits);
    }
    return out;
  }
  if (numBits <= 8) return new Uint8Array(Int8Array.from(q).buffer);
  if (numBits <= 16) return new Uint8Array(Int16Array.from(q).buffer);
  return new Uint8Array(Int32Array.from(q).buffer);
}

/** Inverse of packQuantized (sign-extends). */
export function unpackQuantized(bytes: Uint8Array, numBits: number, count: number): Int32Array {
  const out = new Int32Array(count);
  if (numBits === 4 || numBits === 2) {
    const per = 8 / numBits;
    const mask = (1 << numBits) - 1;
    const sign = 1 << (numBits - 1);
    for (let i = 0; i < count; i++) {
      const v = (bytes[Math.floor(i / per)]! >> ((i % per) * numBits)) & mask;
      out[i] = v & sign ? v - (mask + 1) : v;
    }
    return out;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) {
    out[i] =
      numBits <= 8 ? dv.getInt8(i) : numBits <= 16 ? dv.getInt16(2 * i, true) : dv.getInt32(4 * i, true);
  }
  return out;
}

/** float32 → IEEE half bytes (numpy astype(float16): round to nearest even). */
export function castToFloat16(data: Float32Array): Uint8Array {
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = floatToHalf(data[i]!);
  return new Uint8Array(out.buffer);
}

/** Full weight quantization: min/max → scale/zp → values. */
export function quantizeWeights(
  data: Float32Array,
  shape: readonly number[],
  opts: {
    numBits: number;
    symmetric: boolean;
    granularity: Granularity;
    channelDim?: number;
    blockDim?: number;
  },
): { q: Int32Array; params: QuantParams } {
  const layout = layoutFor(shape, opts.granularity, opts.channelDim, opts.blockDim);
  const { min, max } = minMax(data, layout);
  const { scale, zeroPoint } = scaleFromMinMax(
    min,
    max,
    opts.numBits,
    opts.symmetric,
    isBlockwise(opts.granularity),
  );
  const params: QuantParams = { scale, zeroPoint, numBits: opts.numBits, symmetric: opts.symmetric, layout };
  return { q: quantizeValues(data, params), params };
}
