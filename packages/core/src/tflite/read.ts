import { AudiogenError } from '@audiogen/core';
import type {
  BuiltinOptions,
  Graph,
  GraphTensor,
  MetadataEntry,
  Operator,
  OptionValue,
  Quantization,
  QuantizationDetails,
  Signature,
  SignatureTensor,
  Subgraph,
  TensorTypeName,
} from './graph';
import {
  BUILTIN_OPTIONS_UNION,
  BUILTIN_OPTIONS2_UNION,
  builtinOperatorName,
  type FieldSpec,
  optionFields,
  tensorTypeByteSize,
  tensorTypeName,
} from './schema';
import { type ByteSource, FileSource, MemorySource } from './source';

/**
 * Largest tensor rank accepted: LiteRT's C API describes a tensor in a fixed array of 8 dimensions
 * (LITERT_TENSOR_MAX_RANK; the addon's AUDIOGEN_LITERT_MAX_RANK, checked equal when the addon loads).
 * A file with more would make LiteRT write past that array, so it is refused here, before LiteRT.
 */
export const MAX_RANK = 8;
/** Largest number of subgraphs accepted. */
export const MAX_SUBGRAPHS = 100_000;
/** Default cap on the bytes any one tensor (constant or activation) may need. */
export const DEFAULT_MAX_TENSOR_BYTES = 2 ** 31;

function rankTooHigh(what: string, field: string): (rank: number) => never {
  return (rank) => {
    throw new AudiogenError(
      'INVALID_TFLITE',
      `invalid .tflite: ${what}: ${field} has rank ${rank}; LiteRT supports at most ${MAX_RANK} dimensions`,
      { details: { tensor: what, rank, maxRank: MAX_RANK } },
    );
  };
}

export interface VerifyTfliteOptions {
  /**
   * Largest size one tensor may need, from its type and shape (default 2 GiB). Guards the runtime
   * against files that declare absurd activation shapes, which LiteRT would try to allocate.
   */
  maxTensorBytes?: number;
}

/**
 * Ops whose inputs may be omitted (-1) at any position: the recurrent families with their many
 * optional gates, custom ops and ops this schema version does not know.
 */
const ANY_OPTIONAL_INPUT = new Set([
  'LSTM',
  'RNN',
  'SVDF',
  'UNIDIRECTIONAL_SEQUENCE_RNN',
  'UNIDIRECTIONAL_SEQUENCE_LSTM',
  'BIDIRECTIONAL_SEQUENCE_RNN',
  'BIDIRECTIONAL_SEQUENCE_LSTM',
  'CUSTOM',
]);
/**
 * Fewest inputs each common builtin op needs: LiteRT's kernels read their operands by position,
 * some before checking the count (an op without inputs or outputs made BATCH_MATMUL segfault in
 * the cross-check). Other builtin ops need at least one input and one output unless listed in
 * NO_INPUT_OPS / NO_OUTPUT_OPS.
 */
const MIN_INPUTS: Record<string, number> = {
  ADD: 2,
  SUB: 2,
  MUL: 2,
  DIV: 2,
  POW: 2,
  MAXIMUM: 2,
  MINIMUM: 2,
  SQUARED_DIFFERENCE: 2,
  FLOOR_DIV: 2,
  FLOOR_MOD: 2,
  BATCH_MATMUL: 2,
  FULLY_CONNECTED: 2,
  CONV_2D: 2,
  DEPTHWISE_CONV_2D: 2,
  TRANSPOSE_CONV: 3,
  RESHAPE: 1,
  TRANSPOSE: 2,
  GATHER: 2,
  GATHER_ND: 2,
  EMBEDDING_LOOKUP: 2,
  MEAN: 2,
  SUM: 2,
  REDUCE_MAX: 2,
  REDUCE_MIN: 2,
  REDUCE_PROD: 2,
  SLICE: 3,
  STRIDED_SLICE: 4,
  PAD: 2,
  PADV2: 3,
  MIRROR_PAD: 2,
  SELECT: 3,
  SELECT_V2: 3,
  BROADCAST_TO: 2,
  TILE: 2,
  SPLIT: 2,
  SPLIT_V: 3,
  EXPAND_DIMS: 2,
  DYNAMIC_UPDATE_SLICE: 3,
  CUMSUM: 2,
  RANGE: 3,
  FILL: 2,
  EQUAL: 2,
  NOT_EQUAL: 2,
  LESS: 2,
  LESS_EQUAL: 2,
  GREATER: 2,
  GREATER_EQUAL: 2,
  LOGICAL_AND: 2,
  LOGICAL_OR: 2,
  ARG_MAX: 2,
  ARG_MIN: 2,
};
const NO_INPUT_OPS = new Set(['VAR_HANDLE', 'CALL_ONCE', 'WHILE', 'IF', 'STABLEHLO_IOTA']);
const NO_OUTPUT_OPS = new Set(['CALL_ONCE', 'ASSIGN_VARIABLE', 'WHILE', 'IF']);

/** Ops with a trailing optional input: the first N inputs are required (bias may be -1). */
const REQUIRED_INPUTS: Record<string, number> = {
  FULLY_CONNECTED: 2,
  CONV_2D: 2,
  DEPTHWISE_CONV_2D: 2,
  CONV_3D: 2,
  TRANSPOSE_CONV: 3,
  CONV_3D_TRANSPOSE: 3,
};

interface Tab {
  pos: number;
  vt: number;
  vtSize: number;
  objSize: number;
}

interface Region {
  start: number;
  size: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A bounds-checked walk over a .tflite flatbuffer. Every table, vtable, field, vector and string is
 * checked against the file before it is read; a work budget proportional to the file size bounds
 * the number of objects visited, so no input can cause a hang or a huge allocation.
 */
class Decoder {
  private budget: number;

  constructor(private readonly s: ByteSource) {
    // Legit files visit far fewer objects than they have bytes; hostile sharing of tables is cut off.
    this.budget = 100_000 + 2 * Math.min(s.length, 2 ** 31);
  }

  fail(message: string, details: Record<string, unknown> = {}): never {
    throw new AudiogenError('INVALID_TFLITE', `invalid .tflite: ${message}`, { details });
  }

  private tick(n = 1): void {
    this.budget -= n;
    if (this.budget < 0) this.fail('too many objects for the file size (corrupt or hostile file)');
  }

  private need(pos: number, size: number, what: string): void {
    if (!(Number.isSafeInteger(pos) && Number.isSafeInteger(size) && pos >= 0 && size >= 0)) {
      this.fail(`${what}: bad offset ${pos}`);
    }
    if (pos + size > this.s.length) {
      this.fail(`${what} out of bounds (offset ${pos}, size ${size}, file ${this.s.length} bytes)`);
    }
  }

  table(pos: number, what: string): Tab {
    this.tick();
    this.need(pos, 4, what);
    if (pos % 4 !== 0) this.fail(`${what}: misaligned table at ${pos}`);
    const vt = pos - this.s.i32(pos);
    this.need(vt, 4, `${what} vtable`);
    if (vt % 2 !== 0) this.fail(`${what}: misaligned vtable`);
    const vtSize = this.s.u16(vt);
    const objSize = this.s.u16(vt + 2);
    if (vtSize < 4 || vtSize % 2 !== 0) this.fail(`${what}: bad vtable size ${vtSize}`);
    this.need(vt, vtSize, `${what} vtable`);
    if (objSize < 4) this.fail(`${what}: bad table size ${objSize}`);
    this.need(pos, objSize, what);
    return { pos, vt, vtSize, objSize };
  }

  /** Absolute position of field `id` (0 when absent), checked to lie inside its table. */
  private field(t: Tab, id: number, size: number, what: string): number {
    const slot = 4 + 2 * id;
    if (slot + 2 > t.vtSize) return 0;
    const o = this.s.u16(t.vt + slot);
    if (o === 0) return 0;
    if (o < 4 || o + size > t.objSize) this.fail(`${what}: field ${id} lies outside its table`);
    const p = t.pos + o;
    if (p % size !== 0) this.fail(`${what}: misaligned field ${id}`);
    return p;
  }

  has(t: Tab, id: number): boolean {
    const slot = 4 + 2 * id;
    return slot + 2 <= t.vtSize && this.s.u16(t.vt + slot) !== 0;
  }

  u8(t: Tab, id: number, def: number, what: string): number {
    const p = this.field(t, id, 1, what);
    return p ? this.s.u8(p) : def;
  }
  i8(t: Tab, id: number, def: number, what: string): number {
    const p = this.field(t, id, 1, what);
    return p ? this.s.i8(p) : def;
  }
  bool(t: Tab, id: number, def: boolean, what: string): boolean {
    const p = this.field(t, id, 1, what);
    return p ? this.s.u8(p) !== 0 : def;
  }
  i16(t: Tab, id: number, def: number, what: string): number {
    const p = this.field(t, id, 2, what);
    return p ? this.s.i16(p) : def;
  }
  u16(t: Tab, id: number, def: number, what: string): number {
    const p = this.field(t, id, 2, what);
    return p ? this.s.u16(p) : def;
  }
  i32(t: Tab, id: number, def: number, what: string): number {
    const p = this.field(t, id, 4, what);
    return p ? this.s.i32(p) : def;
  }
  u32(t: Tab, id: number, def: number, what: string): number {
    const p = this.field(t, id, 4, what);
    return p ? this.s.u32(p) : def;
  }
  f32(t: Tab, id: number, def: number, what: string): number {
    const p = this.field(t, id, 4, what);
    return p ? this.s.f32(p) : def;
  }
  f64(t: Tab, id: number, def: number, what: string): number {
    const p = this.field(t, id, 8, what);
    return p ? this.s.f64(p) : def;
  }
  i64(t: Tab, id: number, def: bigint, what: string): bigint {
    const p = this.field(t, id, 8, what);
    return p ? this.s.i64(p) : def;
  }
  u64(t: Tab, id: number, def: bigint, what: string): bigint {
    const p = this.field(t, id, 8, what);
    return p ? this.s.u64(p) : def;
  }

  /** Target of an offset field, or 0 when absent. */
  ref(t: Tab, id: number, what: string): number {
    const p = this.field(t, id, 4, what);
    if (!p) return 0;
    const target = p + this.s.u32(p);
    this.need(target, 4, what);
    return target;
  }

  vec(t: Tab, id: number, elemSize: number, what: string): Region | undefined {
    const target = this.ref(t, id, what);
    if (!target) return undefined;
    if (target % 4 !== 0) this.fail(`${what}: misaligned vector`);
    const len = this.s.u32(target);
    const start = target + 4;
    if (len * elemSize > this.s.length - start) {
      this.fail(`${what}: vector of ${len} elements runs past the end of the file`);
    }
    return { start, size: len };
  }

  str(t: Tab, id: number, what: string): string | undefined {
    const v = this.vec(t, id, 1, what);
    if (!v) return undefined;
    this.need(v.start + v.size, 1, `${what} terminator`);
    if (this.s.u8(v.start + v.size) !== 0) this.fail(`${what}: string is not null-terminated`);
    this.tick(Math.ceil(v.size / 64));
    try {
      return utf8.decode(this.s.bytes(v.start, v.size));
    } catch {
      return this.fail(`${what}: string is not valid UTF-8`);
    }
  }

  tables(t: Tab, id: number, what: string, max = Number.POSITIVE_INFINITY): number[] | undefined {
    const v = this.vec(t, id, 4, what);
    if (!v) return undefined;
    if (v.size > max) this.fail(`${what}: ${v.size} entries exceeds the limit of ${max}`);
    this.tick(v.size);
    const out = new Array<number>(v.size);
    for (let i = 0; i < v.size; i++) {
      const p = v.start + 4 * i;
      const target = p + this.s.u32(p);
      this.need(target, 4, `${what}[${i}]`);
      out[i] = target;
    }
    return out;
  }

  nums(
    t: Tab,
    id: number,
    kind: string,
    what: string,
    max = Number.POSITIVE_INFINITY,
    tooMany?: (n: number) => never,
  ): number[] | undefined {
    const size =
      kind === 'int64' || kind === 'uint64' || kind === 'float64'
        ? 8
        : kind.endsWith('16')
          ? 2
          : kind === 'int8' || kind === 'uint8' || kind === 'bool'
            ? 1
            : 4;
    const v = this.vec(t, id, size, what);
    if (!v) return undefined;
    if (v.size > max) {
      tooMany?.(v.size);
      this.fail(`${what}: ${v.size} entries exceeds the limit of ${max}`);
    }
    this.tick(v.size);
    const out = new Array<number>(v.size);
    for (let i = 0; i < v.size; i++) {
      const p = v.start + size * i;
      let x: number;
      switch (kind) {
        case 'int32':
          x = this.s.i32(p);
          break;
        case 'uint32':
          x = this.s.u32(p);
          break;
        case 'float32':
          x = this.s.f32(p);
          break;
        case 'float64':
          x = this.s.f64(p);
          break;
        case 'int16':
          x = this.s.i16(p);
          break;
        case 'uint16':
          x = this.s.u16(p);
          break;
        case 'int8':
          x = this.s.i8(p);
          break;
        case 'uint8':
          x = this.s.u8(p);
          break;
        case 'bool':
          x = this.s.u8(p) ? 1 : 0;
          break;
        case 'int64':
        case 'uint64': {
          const b = kind === 'int64' ? this.s.i64(p) : this.s.u64(p);
          x = Number(b);
          if (!Number.isSafeInteger(x)) this.fail(`${what}: 64-bit value ${b} is not a safe integer`);
          break;
        }
        default:
          return this.fail(`${what}: unsupported vector kind ${kind}`);
      }
      out[i] = x;
    }
    return out;
  }

  bytesOf(r: Region): Uint8Array {
    return this.s.bytes(r.start, r.size);
  }

  ubytes(t: Tab, id: number, what: string): Uint8Array | undefined {
    const v = this.vec(t, id, 1, what);
    if (!v) return undefined;
    return this.s.bytes(v.start, v.size);
  }
}

function safe(n: bigint, d: Decoder, what: string): number {
  const x = Number(n);
  if (!Number.isSafeInteger(x) || x < 0) d.fail(`${what}: value ${n} out of range`);
  return x;
}

function decodeOptions(d: Decoder, pos: number, table: string, what: string): BuiltinOptions {
  const fields = optionFields(table);
  if (!fields) return d.fail(`${what}: unknown options table ${table}`);
  const t = d.table(pos, what);
  const out: BuiltinOptions = { type: table };
  for (const f of fields as readonly FieldSpec[]) {
    const [name, id, kind, def] = f;
    const w = `${what}.${name}`;
    let v: OptionValue | undefined;
    switch (kind) {
      case 'bool':
        v = d.bool(t, id, def === true, w);
        break;
      case 'int8':
        v = d.i8(t, id, Number(def ?? 0), w);
        break;
      case 'uint8':
        v = d.u8(t, id, Number(def ?? 0), w);
        break;
      case 'int16':
        v = d.i16(t, id, Number(def ?? 0), w);
        break;
      case 'uint16':
        v = d.u16(t, id, Number(def ?? 0), w);
        break;
      case 'int32':
        v = d.i32(t, id, Number(def ?? 0), w);
        break;
      case 'uint32':
        v = d.u32(t, id, Number(def ?? 0), w);
        break;
      case 'float32':
        v = d.f32(t, id, Number(def ?? 0), w);
        break;
      case 'float64':
        v = d.f64(t, id, Number(def ?? 0), w);
        break;
      case 'int64':
        v = d.i64(t, id, BigInt(def ?? 0), w);
        break;
      case 'uint64':
        v = d.u64(t, id, BigInt(def ?? 0), w);
        break;
      case 'string':
        v = d.str(t, id, w);
        break;
      case '[uint8]':
        v = d.ubytes(t, id, w);
        break;
      default:
        if (kind.startsWith('[') && !kind.includes('table') && kind !== '[string]') {
          v = d.nums(t, id, kind.slice(1, -1), w);
        } else {
          return d.fail(`${what}: field kind ${kind} is not supported`);
        }
    }
    if (v !== undefined) out[name] = v;
  }
  return out;
}

function decodeQuantization(d: Decoder, pos: number, what: string): Quantization | undefined {
  const t = d.table(pos, what);
  const q: Quantization = {};
  const min = d.nums(t, 0, 'float32', `${what}.min`);
  const max = d.nums(t, 1, 'float32', `${what}.max`);
  const scale = d.nums(t, 2, 'float32', `${what}.scale`);
  const zp = d.vec(t, 3, 8, `${what}.zero_point`) ? d.nums(t, 3, 'int64', `${what}.zero_point`) : undefined;
  const detailsType = d.u8(t, 4, 0, `${what}.details_type`);
  const qd = d.i32(t, 6, 0, `${what}.quantized_dimension`);
  if (min?.length) q.min = min;
  if (max?.length) q.max = max;
  if (scale?.length) q.scale = scale;
  if (zp?.length) q.zero_point = zp;
  if (detailsType !== 0) {
    const p = d.ref(t, 5, `${what}.details`);
    if (!p) d.fail(`${what}: details_type ${detailsType} without details`);
    const dt = d.table(p, `${what}.details`);
    let details: QuantizationDetails;
    if (detailsType === 1) {
      details = {
        type: 'CustomQuantization',
        custom: d.ubytes(dt, 0, `${what}.custom`) ?? new Uint8Array(0),
      };
    } else if (detailsType === 2) {
      details = {
        type: 'BlockwiseQuantization',
        scales: d.i32(dt, 0, 0, `${what}.scales`),
        zero_points: d.i32(dt, 1, 0, `${what}.zero_points`),
        block_size: d.i32(dt, 2, 0, `${what}.block_size`),
      };
    } else if (detailsType === 3) {
      details = {
        type: 'MultiAxisQuantization',
        scales: d.i32(dt, 0, 0, `${what}.scales`),
        zero_points: d.i32(dt, 1, 0, `${what}.zero_points`),
        block_size: d.i32(dt, 2, 0, `${what}.block_size`),
        quantized_dimensions: d.nums(dt, 3, 'int32', `${what}.quantized_dimensions`, MAX_RANK) ?? [],
      };
    } else {
      return d.fail(`${what}: unknown quantization details type ${detailsType}`);
    }
    q.details = details;
  }
  if (Object.keys(q).length === 0 && qd === 0) return undefined;
  q.quantized_dimension = qd;
  return q;
}

const SPARSE_VECTORS = [
  null,
  ['Int32Vector', 'int32'],
  ['Uint16Vector', 'uint16'],
  ['Uint8Vector', 'uint8'],
] as const;

function decodeSparsity(d: Decoder, pos: number, what: string): Record<string, unknown> {
  const t = d.table(pos, what);
  const out: Record<string, unknown> = {};
  const to = d.nums(t, 0, 'int32', `${what}.traversal_order`, MAX_RANK * 2);
  const bm = d.nums(t, 1, 'int32', `${what}.block_map`, MAX_RANK * 2);
  if (to) out.traversal_order = to;
  if (bm) out.block_map = bm;
  const dims = d.tables(t, 2, `${what}.dim_metadata`, MAX_RANK * 2);
  if (dims) {
    out.dim_metadata = dims.map((p, i) => {
      const w = `${what}.dim_metadata[${i}]`;
      const dt = d.table(p, w);
      const dm: Record<string, unknown> = {
        format: d.i8(dt, 0, 0, `${w}.format`),
        dense_size: d.i32(dt, 1, 0, `${w}.dense_size`),
      };
      for (const [key, id] of [
        ['array_segments', 2],
        ['array_indices', 4],
      ] as const) {
        const ty = d.u8(dt, id, 0, `${w}.${key}_type`);
        if (ty === 0) continue;
        const spec = SPARSE_VECTORS[ty];
        if (!spec) d.fail(`${w}: unknown ${key} type ${ty}`);
        const vp = d.ref(dt, id + 1, `${w}.${key}`);
        if (!vp) d.fail(`${w}: ${key} type without value`);
        const vt = d.table(vp, `${w}.${key}`);
        dm[key] = { type: spec[0], values: d.nums(vt, 0, spec[1], `${w}.${key}.values`) ?? [] };
      }
      return dm;
    });
  }
  return out;
}

const SUBGRAPH_FIELD = /subgraph_ind(ex|ices)$/;

/** Decodes (and thereby verifies) a whole model. */
/**
 * Where each tensor's constant data lives: buffer index per tensor, each buffer's byte size and its
 * byte offset in the file (so that a few small buffers, e.g. quantization scales, can be read alone).
 */
export interface BufferLayout {
  tensorBuffers: number[][];
  bufferSizes: number[];
  bufferOffsets: number[];
}

function decodeModel(
  s: ByteSource,
  materialize: boolean,
  layout?: BufferLayout,
  options: VerifyTfliteOptions = {},
): Graph {
  const d = new Decoder(s);
  const maxTensorBytes = options.maxTensorBytes ?? DEFAULT_MAX_TENSOR_BYTES;
  if (s.length < 8) d.fail(`file is ${s.length} bytes, too short for a flatbuffer`);
  const ident = String.fromCharCode(s.u8(4), s.u8(5), s.u8(6), s.u8(7));
  if (ident !== 'TFL3') d.fail(`file identifier is ${JSON.stringify(ident)}, expected "TFL3"`);
  const m = d.table(s.u32(0), 'Model');
  const version = d.u32(m, 0, 0, 'Model.version');
  const description = d.str(m, 3, 'Model.description') ?? '';

  // Operator codes.
  const opcodes = (d.tables(m, 1, 'Model.operator_codes') ?? []).map((p, i) => {
    const w = `operator_codes[${i}]`;
    const t = d.table(p, w);
    const dep = d.i8(t, 0, 0, `${w}.deprecated_builtin_code`);
    const custom = d.str(t, 1, `${w}.custom_code`);
    const ver = d.i32(t, 2, 1, `${w}.version`);
    const bc = d.i32(t, 3, 0, `${w}.builtin_code`);
    const code = Math.max(bc, dep);
    if (code < 0) d.fail(`${w}: negative builtin code ${code}`);
    return { code, custom, version: ver };
  });

  // Buffers: inline data or the offset/size form (data outside the flatbuffer).
  const buffers: Region[] = (d.tables(m, 4, 'Model.buffers') ?? []).map((p, i) => {
    const w = `buffers[${i}]`;
    const t = d.table(p, w);
    const data = d.vec(t, 0, 1, `${w}.data`);
    const offset = safe(d.u64(t, 1, 0n, `${w}.offset`), d, `${w}.offset`);
    const size = safe(d.u64(t, 2, 0n, `${w}.size`), d, `${w}.size`);
    if (offset > 1) {
      if (data && data.size > 0) d.fail(`${w} has both inline data and an offset`);
      if (size > s.length || offset > s.length - size) {
        d.fail(`${w}: offset ${offset} + size ${size} is past the end of the file (${s.length} bytes)`);
      }
      return { start: offset, size };
    }
    return data ?? { start: 0, size: 0 };
  });
  const nbuf = buffers.length;
  const bufferCache = new Map<number, Uint8Array>();
  const bufferBytes = (b: number): Uint8Array | undefined => {
    const r = buffers[b];
    if (!r || r.size === 0 || !materialize) return undefined;
    let u = bufferCache.get(b);
    if (!u) {
      u = d.bytesOf(r);
      bufferCache.set(b, u);
    }
    return u;
  };

  // Metadata.
  const metadata: MetadataEntry[] = (d.tables(m, 6, 'Model.metadata') ?? []).map((p, i) => {
    const w = `metadata[${i}]`;
    const t = d.table(p, w);
    const name = d.str(t, 0, `${w}.name`) ?? '';
    const b = d.u32(t, 1, 0, `${w}.buffer`);
    if (b >= nbuf) d.fail(`${w}: buffer ${b} out of range (${nbuf} buffers)`);
    // Metadata payloads are small (version strings, conversion info): read them even when the
    // constant data are skipped, unless a file claims a huge one.
    const r = buffers[b] as Region;
    const data = materialize ? bufferBytes(b) : r.size > 0 && r.size <= 1 << 20 ? d.bytesOf(r) : undefined;
    return { name, data: data ?? new Uint8Array(0) };
  });

  // Subgraphs.
  const subgraphRefs: number[][] = [];
  const tensorBuffers: number[][] = [];
  const sgPos = d.tables(m, 2, 'Model.subgraphs', MAX_SUBGRAPHS) ?? [];
  if (sgPos.length === 0) d.fail('model has no subgraphs');
  const subgraphs: Subgraph[] = sgPos.map((p, si) => {
    const w = `subgraphs[${si}]`;
    const t = d.table(p, w);
    const refs: number[] = [];
    subgraphRefs.push(refs);
    const tensorInfo: { buffer: number; sparse: boolean }[] = [];
    const bufIdx: number[] = [];
    tensorBuffers.push(bufIdx);
    const tensors: GraphTensor[] = (d.tables(t, 0, `${w}.tensors`) ?? []).map((tp, ti) => {
      const tw = `${w}.tensors[${ti}]`;
      const tt = d.table(tp, tw);
      const shape = d.nums(tt, 0, 'int32', `${tw}.shape`, MAX_RANK, rankTooHigh(tw, 'shape')) ?? [];
      const typeCode = d.i8(tt, 1, 0, `${tw}.type`);
      const type = tensorTypeName(typeCode);
      if (!type) d.fail(`${tw}: unknown tensor type ${typeCode}`);
      const buffer = d.u32(tt, 2, 0, `${tw}.buffer`);
      if (buffer >= nbuf) d.fail(`${tw}: buffer ${buffer} out of range (${nbuf} buffers)`);
      const name = d.str(tt, 3, `${tw}.name`) ?? '';
      const qp = d.ref(tt, 4, `${tw}.quantization`);
      const isVar = d.bool(tt, 5, false, `${tw}.is_variable`);
      const sp = d.ref(tt, 6, `${tw}.sparsity`);
      const sig = d.nums(
        tt,
        7,
        'int32',
        `${tw}.shape_signature`,
        MAX_RANK,
        rankTooHigh(tw, 'shape_signature'),
      );
      const hasRank = d.bool(tt, 8, false, `${tw}.has_rank`);
      if (d.u32(tt, 10, 0, `${tw}.external_buffer`) !== 0) {
        d.fail(`${tw}: external buffers (LiteRT ExternalBuffer tables) are not supported`);
      }
      for (const dim of shape) if (dim < -1) d.fail(`${tw}: invalid dimension ${dim}`);
      if (sig) for (const dim of sig) if (dim < -1) d.fail(`${tw}: invalid signature dimension ${dim}`);
      {
        let known = 1;
        for (const dim of shape) if (dim > 0) known *= dim;
        const need = tensorTypeByteSize(type as TensorTypeName, known) ?? known;
        if (need > maxTensorBytes) {
          d.fail(
            `${tw} (${name}): shape [${shape.join(',')}] needs ${need} bytes, over the ${maxTensorBytes}-byte limit`,
          );
        }
      }
      const out: GraphTensor = { name, type: type as TensorTypeName, shape };
      if (sig && (sig.length !== shape.length || sig.some((x, k) => x !== shape[k])))
        out.shape_signature = sig;
      const data = bufferBytes(buffer);
      if (data) out.data = data;
      if (qp) {
        const q = decodeQuantization(d, qp, `${tw}.quantization`);
        if (q) out.quantization = q;
      }
      if (isVar) out.is_variable = true;
      if (hasRank) out.has_rank = true;
      if (sp) out.sparsity = decodeSparsity(d, sp, `${tw}.sparsity`);
      // Constant data must match dtype × shape (sparse tensors hold compressed data).
      const region = buffers[buffer] as Region;
      if (buffer !== 0 && region.size > 0 && !sp) {
        let elements = 1;
        for (const dim of shape) elements *= dim;
        if (elements < 0) d.fail(`${tw}: constant tensor has an unknown dimension`);
        const expected = tensorTypeByteSize(type as TensorTypeName, elements);
        const unpackedInt4 = (type === 'INT4' || type === 'UINT4') && region.size === elements;
        if (expected !== undefined && region.size !== expected && !unpackedInt4) {
          d.fail(
            `${tw} (${name}): buffer has ${region.size} bytes but ${type} [${shape.join(',')}] needs ${expected}`,
          );
        }
      }
      tensorInfo.push({ buffer, sparse: !!sp });
      bufIdx.push(buffer);
      return out;
    });
    const n = tensors.length;
    const idx = (list: number[] | undefined, what: string, optional: boolean): number[] => {
      for (const x of list ?? []) {
        if (!((x >= 0 && x < n) || (optional && x === -1)))
          d.fail(`${what}: tensor index ${x} out of range (${n} tensors)`);
      }
      return list ?? [];
    };
    const inputs = idx(d.nums(t, 1, 'int32', `${w}.inputs`), `${w}.inputs`, false);
    for (const x of inputs) {
      // A constant lives in the (possibly read-only, mmapped) file: the runtime must never write it.
      if ((buffers[(tensorInfo[x] as { buffer: number }).buffer] as Region).size > 0) {
        d.fail(`${w}: input tensor ${x} is a constant`);
      }
    }
    const outputs = idx(d.nums(t, 2, 'int32', `${w}.outputs`), `${w}.outputs`, false);
    const name = d.str(t, 4, `${w}.name`) ?? '';

    const producer = new Int32Array(n).fill(-1);
    const operators: Operator[] = (d.tables(t, 3, `${w}.operators`) ?? []).map((op, oi) => {
      const ow = `${w}.operators[${oi}]`;
      const ot = d.table(op, ow);
      const ci = d.u32(ot, 0, 0, `${ow}.opcode_index`);
      const oc = opcodes[ci];
      if (!oc) return d.fail(`${ow}: opcode_index ${ci} out of range (${opcodes.length} operator codes)`);
      const ins = idx(d.nums(ot, 1, 'int32', `${ow}.inputs`), `${ow}.inputs`, true);
      const outs = idx(d.nums(ot, 2, 'int32', `${ow}.outputs`), `${ow}.outputs`, true);
      const opName = builtinOperatorName(oc.code);
      const builtin = opName !== 'CUSTOM' && !opName.startsWith('UNKNOWN_');
      if (builtin) {
        const min = MIN_INPUTS[opName] ?? (NO_INPUT_OPS.has(opName) ? 0 : 1);
        if (ins.length < min) d.fail(`${ow}: ${opName} needs at least ${min} inputs, has ${ins.length}`);
        if (outs.length < 1 && !NO_OUTPUT_OPS.has(opName)) d.fail(`${ow}: ${opName} has no outputs`);
      }
      if (!ANY_OPTIONAL_INPUT.has(opName) && !opName.startsWith('UNKNOWN_')) {
        const required = REQUIRED_INPUTS[opName] ?? ins.length;
        for (let k = 0; k < Math.min(required, ins.length); k++) {
          if (ins[k] === -1) d.fail(`${ow}: ${opName} input ${k} is required but omitted (-1)`);
        }
      }
      const o: Operator = {
        op: opName,
        builtin_code: oc.code,
        version: oc.version,
        inputs: ins,
        outputs: outs,
      };
      if (oc.custom !== undefined) o.custom_code = oc.custom;
      const inter = d.nums(ot, 8, 'int32', `${ow}.intermediates`);
      if (inter) o.intermediates = idx(inter, `${ow}.intermediates`, true);
      const ot1 = d.u8(ot, 3, 0, `${ow}.builtin_options_type`);
      if (ot1 !== 0) {
        const tn = BUILTIN_OPTIONS_UNION[ot1];
        if (!tn) return d.fail(`${ow}: unknown builtin options type ${ot1}`);
        const p1 = d.ref(ot, 4, `${ow}.builtin_options`);
        if (!p1) d.fail(`${ow}: builtin_options_type ${tn} without a table`);
        o.options = decodeOptions(d, p1, tn, `${ow}.${tn}`);
      }
      const ot2 = d.u8(ot, 11, 0, `${ow}.builtin_options_2_type`);
      if (ot2 !== 0) {
        const tn = BUILTIN_OPTIONS2_UNION[ot2];
        if (!tn) return d.fail(`${ow}: unknown builtin options 2 type ${ot2}`);
        const p2 = d.ref(ot, 12, `${ow}.builtin_options_2`);
        if (!p2) d.fail(`${ow}: builtin_options_2_type ${tn} without a table`);
        o.options2 = decodeOptions(d, p2, tn, `${ow}.${tn}`);
      }
      for (const opts of [o.options, o.options2]) {
        if (!opts) continue;
        for (const [k, v] of Object.entries(opts)) {
          if (!SUBGRAPH_FIELD.test(k)) continue;
          for (const x of Array.isArray(v) ? (v as number[]) : [v]) {
            if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x >= sgPos.length) {
              d.fail(`${ow}: ${k} ${String(x)} out of range (${sgPos.length} subgraphs)`);
            }
            refs.push(x as number);
          }
        }
      }
      const custom = d.vec(ot, 5, 1, `${ow}.custom_options`);
      if (custom) {
        o.custom_options = d.bytesOf(custom);
      } else {
        const lo = safe(
          d.u64(ot, 9, 0n, `${ow}.large_custom_options_offset`),
          d,
          `${ow}.large_custom_options_offset`,
        );
        const ls = safe(
          d.u64(ot, 10, 0n, `${ow}.large_custom_options_size`),
          d,
          `${ow}.large_custom_options_size`,
        );
        if (lo > 1) {
          if (ls > s.length || lo > s.length - ls)
            d.fail(`${ow}: large custom options past the end of the file`);
          o.custom_options = d.bytesOf({ start: lo, size: ls });
        }
      }
      const mvi = d.nums(ot, 7, 'bool', `${ow}.mutating_variable_inputs`);
      if (mvi) o.mutating_variable_inputs = mvi.map((x) => x !== 0);
      // Execution order: an op may only consume tensors produced by earlier ops.
      for (const x of outs) {
        if (x < 0) continue;
        if (producer[x] !== -1) d.fail(`${ow}: tensor ${x} is already produced by operator ${producer[x]}`);
        const info = tensorInfo[x] as { buffer: number };
        if ((buffers[info.buffer] as Region).size > 0) d.fail(`${ow}: output tensor ${x} is a constant`);
        producer[x] = oi;
      }
      return o;
    });
    // Second pass for inputs so that an input produced later (a cycle) is caught.
    operators.forEach((o, oi) => {
      for (const x of o.inputs) {
        if (x >= 0 && (producer[x] as number) >= oi) {
          d.fail(
            `${w}.operators[${oi}]: input tensor ${x} is produced by operator ${producer[x]} at or after it (cycle)`,
          );
        }
      }
    });
    const sgOut: Subgraph = { name, tensors, inputs, outputs, operators };
    return sgOut;
  });

  // Quantization parameters must fit the tensor, and details must name suitable scale tensors
  // (LiteRT reads them without further checks: a blockwise weight pointing at an activation as its
  // scales segfaulted in the cross-check).
  subgraphs.forEach((sg, si) => {
    const isConst = (k: number) => ((buffers[tensorBuffers[si]?.[k] ?? 0] as Region).size ?? 0) > 0;
    const count = (shape: number[]) => shape.reduce((a, b) => a * Math.max(b, 0), 1);
    sg.tensors.forEach((t, ti) => {
      const q = t.quantization;
      if (!q) return;
      const w = `subgraphs[${si}].tensors[${ti}] (${t.name})`;
      const scales = q.scale?.length ?? 0;
      const zps = q.zero_point?.length ?? 0;
      if (zps > 0 && scales > 0 && zps !== scales && zps !== 1) {
        d.fail(`${w}: ${zps} zero points for ${scales} scales`);
      }
      // Scales without zero points: LiteRT refuses them, or, depending on memory layout, crashes reading the
      // missing vector (a mutated file did so, SIGSEGV, in the adversarial suite).
      if (scales > 0 && zps === 0) d.fail(`${w}: ${scales} scales but no zero points`);
      if (scales > 1 && t.shape.length > 0) {
        const qd = q.quantized_dimension ?? 0;
        if (qd < 0 || qd >= t.shape.length || t.shape[qd] !== scales) {
          d.fail(`${w}: ${scales} per-channel scales do not match dimension ${qd} of [${t.shape.join(',')}]`);
        }
      }
      const det = q.details;
      if (!det || det.type === 'CustomQuantization') return;
      const n = sg.tensors.length;
      if (det.scales < 0 || det.scales >= n || det.zero_points < -1 || det.zero_points >= n) {
        d.fail(`${w}: quantization details refer to a tensor out of range`);
      }
      const st = sg.tensors[det.scales] as GraphTensor;
      if (!isConst(det.scales) || (st.type !== 'FLOAT16' && st.type !== 'FLOAT32')) {
        d.fail(`${w}: quantization scales tensor ${det.scales} must be a float16/float32 constant`);
      }
      if (det.zero_points >= 0 && !isConst(det.zero_points)) {
        d.fail(`${w}: quantization zero-point tensor ${det.zero_points} must be a constant`);
      }
      if (det.type === 'BlockwiseQuantization') {
        const last = t.shape[t.shape.length - 1] ?? 0;
        if (det.block_size <= 0 || last % det.block_size !== 0) {
          d.fail(`${w}: block size ${det.block_size} does not divide the last dimension ${last}`);
        }
        if (count(st.shape) * det.block_size !== count(t.shape)) {
          d.fail(
            `${w}: scales [${st.shape.join(',')}] do not cover [${t.shape.join(',')}] in blocks of ${det.block_size}`,
          );
        }
        if (det.zero_points >= 0) {
          const zt = sg.tensors[det.zero_points] as GraphTensor;
          if (count(zt.shape) !== count(st.shape)) d.fail(`${w}: zero points and scales differ in size`);
        }
      } else if (det.quantized_dimensions.some((x) => x < 0 || x >= t.shape.length)) {
        d.fail(`${w}: quantized dimension out of range for [${t.shape.join(',')}]`);
      }
    });
  });

  // Subgraph references (control flow, composites) must not form a cycle.
  const state = new Uint8Array(subgraphs.length);
  for (let root = 0; root < subgraphs.length; root++) {
    if (state[root]) continue;
    const stack: [number, number][] = [[root, 0]];
    state[root] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1] as [number, number];
      const refs = subgraphRefs[top[0]] as number[];
      if (top[1] < refs.length) {
        const next = refs[top[1]++] as number;
        if (state[next] === 1) d.fail(`subgraph ${top[0]} refers back to subgraph ${next} (cycle)`);
        if (state[next] === 0) {
          state[next] = 1;
          stack.push([next, 0]);
        }
      } else {
        state[top[0]] = 2;
        stack.pop();
      }
    }
  }

  // Signatures.
  const signatures: Signature[] = (d.tables(m, 7, 'Model.signature_defs') ?? []).map((p, i) => {
    const w = `signature_defs[${i}]`;
    const t = d.table(p, w);
    const si = d.u32(t, 4, 0, `${w}.subgraph_index`);
    const sg = subgraphs[si];
    if (!sg) return d.fail(`${w}: subgraph_index ${si} out of range`);
    const maps = (id: number, what: string): SignatureTensor[] =>
      (d.tables(t, id, what) ?? []).map((mp, k) => {
        const mt = d.table(mp, `${what}[${k}]`);
        const name = d.str(mt, 0, `${what}[${k}].name`) ?? '';
        const ti = d.u32(mt, 1, 0, `${what}[${k}].tensor_index`);
        if (ti >= sg.tensors.length) d.fail(`${what}[${k}]: tensor_index ${ti} out of range`);
        return { name, tensor_index: ti };
      });
    return {
      signature_key: d.str(t, 2, `${w}.signature_key`) ?? '',
      subgraph_index: si,
      inputs: maps(0, `${w}.inputs`),
      outputs: maps(1, `${w}.outputs`),
    };
  });

  if (layout) {
    layout.bufferSizes = buffers.map((r) => r.size);
    layout.bufferOffsets = buffers.map((r) => r.start);
    layout.tensorBuffers = tensorBuffers;
  }
  return { version, description, subgraphs, signatures, metadata };
}

function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof AudiogenError) throw e;
    // Defensive: any other failure while walking untrusted bytes is still an invalid file.
    throw new AudiogenError(
      'INVALID_TFLITE',
      `invalid .tflite: ${e instanceof Error ? e.message : String(e)}`,
      {
        cause: e,
      },
    );
  }
}

function checkBytes(bytes: unknown): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new AudiogenError('INVALID_ARGUMENT', 'expected the .tflite file contents as a Uint8Array');
  }
}

/**
 * Checks untrusted bytes: identifier, every offset/length/vtable in bounds, strings UTF-8, buffer
 * sizes consistent with dtype × shape, indices in range, no cycles. Throws INVALID_TFLITE.
 */
export function verifyTflite(bytes: Uint8Array, options: VerifyTfliteOptions = {}): void {
  checkBytes(bytes);
  guard(() => decodeModel(new MemorySource(bytes), false, undefined, options));
}

/**
 * Verifies a .tflite file on disk without loading it: only the flatbuffer's tables are read (in
 * 1 MiB pages), never the constant data, so it is cheap even on a multi-GB model.
 */
export function verifyTfliteFile(path: string, options: VerifyTfliteOptions = {}): void {
  let src: FileSource;
  try {
    src = new FileSource(path);
  } catch (e) {
    throw new AudiogenError('MISSING_FILE', `cannot open ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    guard(() => decodeModel(src, false, undefined, options));
  } finally {
    src.close();
  }
}

/**
 * Reads the structure of a .tflite file on disk without its constant data (tensors have no `data`),
 * plus where the data are. Used to inspect multi-GB models cheaply.
 */
export function readTfliteStructure(
  path: string,
  options: VerifyTfliteOptions = {},
): { graph: Graph; layout: BufferLayout } {
  let src: FileSource;
  try {
    src = new FileSource(path);
  } catch (e) {
    throw new AudiogenError('MISSING_FILE', `cannot open ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const layout: BufferLayout = { tensorBuffers: [], bufferSizes: [], bufferOffsets: [] };
    const graph = guard(() => decodeModel(src, false, layout, options));
    return { graph, layout };
  } finally {
    src.close();
  }
}

/**
 * Verifies then reads a .tflite model. Constant data are views into `bytes` (no copy): tensors that
 * share a buffer share one Uint8Array.
 */
export function readTflite(bytes: Uint8Array, options: VerifyTfliteOptions = {}): Graph {
  checkBytes(bytes);
  return guard(() => decodeModel(new MemorySource(bytes), true, undefined, options));
}
