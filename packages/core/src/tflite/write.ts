import { AudiogenError, writeFileAtomic } from '@audiogen/core';
import { Builder } from 'flatbuffers';
import type { BuiltinOptions, Graph, GraphTensor, Operator, Quantization } from './graph';
import { TensorType, type TensorTypeName } from './graph';
import {
  BuiltinOperator,
  builtinOperatorCode,
  type FieldSpec,
  OP_OPTIONS_TABLE,
  optionFields,
  optionsUnionIndex,
  PLACEHOLDER_FOR_GREATER_OP_CODES,
  tensorTypeByteSize,
} from './schema';

/** The schema version the converter writes (TFLITE_SCHEMA_VERSION). */
export const TFLITE_SCHEMA_VERSION = 3;

/** Above this many bytes of constant data, `writeTfliteFile` uses the Buffer.offset/size layout. */
export const DEFAULT_OFFSET_THRESHOLD = 512 * 1024 * 1024;

/** Flatbuffers cannot exceed 2 GB; keep a margin for tables. */
const INLINE_LIMIT = 2 ** 31 - 64 * 1024 * 1024;

export interface WriteTfliteOptions {
  /**
   * Store constant data after the flatbuffer (Buffer.offset/size, schema v3c) instead of inline.
   * Required above ~2 GB; `writeTflite` defaults to inline when it fits.
   */
  bufferOffsets?: boolean;
}

export interface WriteTfliteFileOptions {
  /** Use the offset/size layout when the unique constant bytes exceed this (default 512 MiB). */
  offsetThreshold?: number;
  /** Files the output must not be (e.g. the model it was read from): refused with INVALID_ARGUMENT. */
  inputs?: readonly (string | undefined)[];
}

function bad(message: string, details: Record<string, unknown> = {}): never {
  throw new AudiogenError('INVALID_ARGUMENT', `cannot write .tflite: ${message}`, { details });
}

function align16(n: number): number {
  return Math.ceil(n / 16) * 16;
}

/** Constant bytes already in a file: `size` bytes at absolute byte `offset`. */
export interface ConstantRef {
  offset: number;
  size: number;
}

interface Plan {
  /** Unique constant arrays in buffer order (buffer index = position + 1). */
  data: Uint8Array[];
  index: Map<Uint8Array, number>;
  /**
   * Instead of `data` (writeTfliteAppendix), in buffer order: regions already in the file (by offset in
   * `refIndex`) and new constants to append (`bytes`, by array in `index`; placed after the tables).
   */
  refs: { offset: number; size: number; bytes?: Uint8Array }[];
  refIndex: Map<number, number>;
  /** Buffer index of each tensor with constant data, per subgraph (0: none). */
  tensorBuffer: number[][];
  metaData: Uint8Array[];
  opcodes: { code: number; custom?: string; version: number }[];
  opcodeKey: Map<string, number>;
  constantBytes: number;
}

function checkTensor(t: GraphTensor, w: string): void {
  if (!t || typeof t !== 'object') bad(`${w} is not an object`);
  if (!Object.hasOwn(TensorType, t.type)) bad(`${w}: unknown tensor type ${String(t.type)}`);
  if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isInteger(d) || d < -1)) {
    bad(`${w}: invalid shape ${JSON.stringify(t.shape)}`);
  }
  if (t.data !== undefined) {
    if (!(t.data instanceof Uint8Array)) bad(`${w}: data must be a Uint8Array`);
    if (t.data.length > 0 && !t.sparsity) {
      let n = 1;
      for (const d of t.shape) n *= d;
      const expected = tensorTypeByteSize(t.type, n);
      const unpacked4 = (t.type === 'INT4' || t.type === 'UINT4') && t.data.length === n;
      if (n < 0 || (expected !== undefined && expected !== t.data.length && !unpacked4)) {
        bad(
          `${w} (${t.name}): ${t.data.length} bytes of data but ${t.type} [${t.shape.join(',')}] needs ${expected}`,
        );
      }
    }
  }
}

/** Buffer index of a tensor in a plan of references (writeTfliteAppendix); 0: no constant data. */
function refBuffer(p: Plan, t: GraphTensor, r: ConstantRef | undefined, w: string): number {
  if (t.data && t.data.length > 0) {
    if (!p.index.has(t.data)) {
      p.refs.push({ offset: -1, size: t.data.length, bytes: t.data });
      p.index.set(t.data, p.refs.length);
    }
    return p.index.get(t.data) as number;
  }
  if (!r || r.size === 0) return 0;
  if (!Number.isSafeInteger(r.offset) || r.offset < 2 || !Number.isSafeInteger(r.size) || r.size < 0)
    bad(`${w}: invalid constant reference ${JSON.stringify(r)}`);
  if (!p.refIndex.has(r.offset)) {
    p.refs.push({ offset: r.offset, size: r.size });
    p.refIndex.set(r.offset, p.refs.length);
  }
  return p.refIndex.get(r.offset) as number;
}

function plan(graph: Graph, refOf?: (subgraph: number, tensor: number) => ConstantRef | undefined): Plan {
  if (!graph || typeof graph !== 'object' || !Array.isArray(graph.subgraphs))
    bad('graph has no subgraphs array');
  if (graph.subgraphs.length === 0) bad('graph has no subgraphs');
  const p: Plan = {
    data: [],
    index: new Map(),
    refs: [],
    refIndex: new Map(),
    tensorBuffer: [],
    metaData: [],
    opcodes: [],
    opcodeKey: new Map(),
    constantBytes: 0,
  };
  graph.subgraphs.forEach((sg, si) => {
    const n = sg.tensors.length;
    const inRange = (list: number[] | undefined, what: string, optional: boolean) => {
      for (const x of list ?? []) {
        if (!Number.isInteger(x) || !((x >= 0 && x < n) || (optional && x === -1))) {
          bad(`${what}: tensor index ${x} out of range (${n} tensors)`);
        }
      }
    };
    const buffers: number[] = [];
    p.tensorBuffer.push(buffers);
    sg.tensors.forEach((t, ti) => {
      const w = `subgraphs[${si}].tensors[${ti}]`;
      checkTensor(t, w);
      if (refOf) {
        buffers.push(refBuffer(p, t, refOf(si, ti), w));
        return;
      }
      if (t.data && t.data.length > 0 && !p.index.has(t.data)) {
        p.data.push(t.data);
        p.index.set(t.data, p.data.length);
        p.constantBytes += t.data.length;
      }
      buffers.push(t.data && t.data.length > 0 ? (p.index.get(t.data) as number) : 0);
    });
    inRange(sg.inputs, `subgraphs[${si}].inputs`, false);
    inRange(sg.outputs, `subgraphs[${si}].outputs`, false);
    sg.operators.forEach((op, oi) => {
      const w = `subgraphs[${si}].operators[${oi}]`;
      inRange(op.inputs, `${w}.inputs`, true);
      inRange(op.outputs, `${w}.outputs`, true);
      inRange(op.intermediates, `${w}.intermediates`, true);
      let code = op.builtin_code;
      const named = BuiltinOperator[op.op];
      if (code === undefined || code === null) code = builtinOperatorCode(op.op);
      if (!Number.isInteger(code) || code < 0) bad(`${w}: invalid builtin_code ${code}`);
      if (named !== undefined && named !== code) bad(`${w}: op ${op.op} has code ${named}, not ${code}`);
      const version = op.version ?? 1;
      const key = `${code}/${version}/${op.custom_code ?? ''}`;
      if (!p.opcodeKey.has(key)) {
        p.opcodeKey.set(key, p.opcodes.length);
        p.opcodes.push({ code, custom: op.custom_code, version });
      }
    });
  });
  for (const m of graph.metadata ?? []) {
    if (!(m.data instanceof Uint8Array)) bad(`metadata ${m.name}: data must be a Uint8Array`);
    p.metaData.push(m.data);
  }
  return p;
}

function intVector(b: Builder, xs: readonly number[]): number {
  b.startVector(4, xs.length, 4);
  for (let i = xs.length - 1; i >= 0; i--) b.addInt32(xs[i] as number);
  return b.endVector();
}

function floatVector(b: Builder, xs: readonly number[]): number {
  b.startVector(4, xs.length, 4);
  for (let i = xs.length - 1; i >= 0; i--) b.addFloat32(xs[i] as number);
  return b.endVector();
}

function int64Vector(b: Builder, xs: readonly number[]): number {
  b.startVector(8, xs.length, 8);
  for (let i = xs.length - 1; i >= 0; i--) b.addInt64(BigInt(xs[i] as number));
  return b.endVector();
}

function byteVector(b: Builder, xs: Uint8Array, align = 1): number {
  if (align > 1) b.prep(align, xs.length);
  return b.createByteVector(xs);
}

function offsetVector(b: Builder, offs: readonly number[]): number {
  b.startVector(4, offs.length, 4);
  for (let i = offs.length - 1; i >= 0; i--) b.addOffset(offs[i] as number);
  return b.endVector();
}

function numVector(b: Builder, kind: string, xs: readonly number[], w: string): number {
  switch (kind) {
    case 'int32':
    case 'uint32':
      return intVector(b, xs);
    case 'float32':
      return floatVector(b, xs);
    case 'int64':
    case 'uint64':
      return int64Vector(b, xs);
    case 'bool':
    case 'int8':
    case 'uint8':
      return byteVector(
        b,
        Uint8Array.from(xs, (x) => (kind === 'bool' ? (x ? 1 : 0) : x & 0xff)),
      );
    case 'int16':
    case 'uint16':
      b.startVector(2, xs.length, 2);
      for (let i = xs.length - 1; i >= 0; i--) b.addInt16(xs[i] as number);
      return b.endVector();
    default:
      return bad(`${w}: unsupported vector kind ${kind}`);
  }
}

function writeOptions(b: Builder, opts: BuiltinOptions, w: string): number {
  const fields = optionFields(opts.type);
  if (!fields) bad(`${w}: unknown options table ${String(opts.type)}`);
  const known = new Set(fields.map((f) => f[0]));
  for (const k of Object.keys(opts)) {
    if (k !== 'type' && !known.has(k)) bad(`${w}: ${opts.type} has no field ${k}`);
  }
  // Offsets (strings, vectors) are created before the table starts.
  const offs = new Map<string, number>();
  for (const [name, , kind] of fields as readonly FieldSpec[]) {
    const v = opts[name];
    if (v === undefined) continue;
    if (kind === 'string') {
      if (typeof v !== 'string') bad(`${w}.${name} must be a string`);
      offs.set(name, b.createString(v));
    } else if (kind === '[uint8]') {
      if (!(v instanceof Uint8Array)) bad(`${w}.${name} must be a Uint8Array`);
      offs.set(name, byteVector(b, v));
    } else if (kind.startsWith('[')) {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) bad(`${w}.${name} must be a number[]`);
      offs.set(name, numVector(b, kind.slice(1, -1), v, `${w}.${name}`));
    }
  }
  const maxId = fields.reduce((m, f) => Math.max(m, f[1]), -1);
  b.startObject(maxId + 1);
  for (const [name, id, kind, def] of fields as readonly FieldSpec[]) {
    const v = opts[name];
    if (v === undefined) continue;
    const o = offs.get(name);
    if (o !== undefined) {
      b.addFieldOffset(id, o, 0);
      continue;
    }
    const num = (): number => {
      if (typeof v === 'boolean') return v ? 1 : 0;
      if (typeof v === 'number' && Number.isFinite(v)) return v;
      if (typeof v === 'bigint') return Number(v);
      return bad(`${w}.${name} must be a number`);
    };
    switch (kind) {
      case 'bool':
        b.addFieldInt8(id, num() ? 1 : 0, def ? 1 : 0);
        break;
      case 'int8':
      case 'uint8':
        b.addFieldInt8(id, num(), Number(def ?? 0));
        break;
      case 'int16':
      case 'uint16':
        b.addFieldInt16(id, num(), Number(def ?? 0));
        break;
      case 'int32':
      case 'uint32':
        b.addFieldInt32(id, num(), Number(def ?? 0));
        break;
      case 'float32':
        b.addFieldFloat32(id, num(), Number(def ?? 0));
        break;
      case 'float64':
        b.addFieldFloat64(id, num(), Number(def ?? 0));
        break;
      case 'int64':
      case 'uint64': {
        let big: bigint;
        if (typeof v === 'bigint') big = v;
        else if (typeof v === 'number' && Number.isInteger(v)) big = BigInt(v);
        else return bad(`${w}.${name} must be an integer or bigint`);
        if (kind === 'uint64') big = BigInt.asIntN(64, big);
        b.addFieldInt64(id, big, BigInt(def ?? 0));
        break;
      }
      default:
        bad(`${w}.${name}: unsupported field kind ${kind}`);
    }
  }
  return b.endObject();
}

function writeQuantization(b: Builder, q: Quantization, w: string): number {
  const min = q.min ? floatVector(b, q.min) : 0;
  const max = q.max ? floatVector(b, q.max) : 0;
  const scale = q.scale ? floatVector(b, q.scale) : 0;
  const zp = q.zero_point ? int64Vector(b, q.zero_point) : 0;
  let detailsType = 0;
  let details = 0;
  const d = q.details;
  if (d) {
    if (d.type === 'CustomQuantization') {
      const c = byteVector(b, d.custom, 16);
      b.startObject(1);
      b.addFieldOffset(0, c, 0);
      details = b.endObject();
      detailsType = 1;
    } else if (d.type === 'BlockwiseQuantization' || d.type === 'MultiAxisQuantization') {
      const dims = d.type === 'MultiAxisQuantization' ? intVector(b, d.quantized_dimensions) : 0;
      b.startObject(d.type === 'MultiAxisQuantization' ? 4 : 3);
      b.addFieldInt32(0, d.scales, 0);
      b.addFieldInt32(1, d.zero_points, 0);
      b.addFieldInt32(2, d.block_size, 0);
      if (dims) b.addFieldOffset(3, dims, 0);
      details = b.endObject();
      detailsType = d.type === 'BlockwiseQuantization' ? 2 : 3;
    } else {
      bad(`${w}: unknown quantization details ${(d as { type: string }).type}`);
    }
  }
  b.startObject(7);
  if (min) b.addFieldOffset(0, min, 0);
  if (max) b.addFieldOffset(1, max, 0);
  if (scale) b.addFieldOffset(2, scale, 0);
  if (zp) b.addFieldOffset(3, zp, 0);
  if (detailsType) {
    b.addFieldInt8(4, detailsType, 0);
    b.addFieldOffset(5, details, 0);
  }
  b.addFieldInt32(6, q.quantized_dimension ?? 0, 0);
  return b.endObject();
}

const SPARSE_TYPES: Record<string, [number, string]> = {
  Int32Vector: [1, 'int32'],
  Uint16Vector: [2, 'uint16'],
  Uint8Vector: [3, 'uint8'],
};

function writeSparsity(b: Builder, sp: Record<string, unknown>, w: string): number {
  const nums = (x: unknown, what: string): number[] => {
    if (!Array.isArray(x) || x.some((v) => typeof v !== 'number')) bad(`${what} must be a number[]`);
    return x as number[];
  };
  const to =
    sp.traversal_order !== undefined ? intVector(b, nums(sp.traversal_order, `${w}.traversal_order`)) : 0;
  const bm = sp.block_map !== undefined ? intVector(b, nums(sp.block_map, `${w}.block_map`)) : 0;
  let dims = 0;
  if (sp.dim_metadata !== undefined) {
    if (!Array.isArray(sp.dim_metadata)) bad(`${w}.dim_metadata must be an array`);
    const offs = (sp.dim_metadata as Record<string, unknown>[]).map((dm, i) => {
      const parts: [number, number][] = [];
      for (const [key, id] of [
        ['array_segments', 2],
        ['array_indices', 4],
      ] as const) {
        const v = dm[key] as { type: string; values: number[] } | undefined;
        if (!v) continue;
        const spec = SPARSE_TYPES[v.type];
        if (!spec) bad(`${w}.dim_metadata[${i}].${key}: unknown type ${String(v.type)}`);
        const vals = numVector(b, spec[1], nums(v.values, `${w}.${key}.values`), w);
        b.startObject(1);
        b.addFieldOffset(0, vals, 0);
        parts.push([id, spec[0]], [id + 1, b.endObject()]);
      }
      b.startObject(6);
      b.addFieldInt8(0, Number(dm.format ?? 0), 0);
      b.addFieldInt32(1, Number(dm.dense_size ?? 0), 0);
      for (const [id, val] of parts) {
        if (id % 2 === 0) b.addFieldInt8(id, val, 0);
        else b.addFieldOffset(id, val, 0);
      }
      return b.endObject();
    });
    dims = offsetVector(b, offs);
  }
  b.startObject(3);
  if (to) b.addFieldOffset(0, to, 0);
  if (bm) b.addFieldOffset(1, bm, 0);
  if (dims) b.addFieldOffset(2, dims, 0);
  return b.endObject();
}

function writeOperator(b: Builder, op: Operator, p: Plan, w: string): number {
  const key = `${op.builtin_code ?? builtinOperatorCode(op.op)}/${op.version ?? 1}/${op.custom_code ?? ''}`;
  const opcodeIndex = p.opcodeKey.get(key) as number;
  const inputs = intVector(b, op.inputs);
  const outputs = intVector(b, op.outputs);
  const inter = op.intermediates ? intVector(b, op.intermediates) : 0;
  const custom = op.custom_options ? byteVector(b, op.custom_options) : 0;
  const mvi = op.mutating_variable_inputs
    ? byteVector(
        b,
        Uint8Array.from(op.mutating_variable_inputs, (x) => (x ? 1 : 0)),
      )
    : 0;
  let options = op.options;
  if (!options) {
    // A missing table reads as all zeros in the runtime, not the schema defaults: write a table of
    // defaults whenever that differs (e.g. Conv2D dilation 1, ADD pot_scale_int16). Tables whose
    // defaults are all zero/empty are equivalent to no table, and converters omit them (RESHAPE,
    // TRANSPOSE…), so leaving them out keeps read → write → read exact.
    const table = OP_OPTIONS_TABLE[op.op];
    if (table && optionFields(table)?.some((f) => f[3] !== null && f[3] !== 0 && f[3] !== false)) {
      options = { type: table };
    }
  }
  let o1 = 0;
  let t1 = 0;
  if (options) {
    const u = optionsUnionIndex(options.type);
    if (u?.union !== 1) bad(`${w}: ${String(options.type)} is not a BuiltinOptions table`);
    o1 = writeOptions(b, options, `${w}.${options.type}`);
    t1 = u.index;
  }
  let o2 = 0;
  let t2 = 0;
  if (op.options2) {
    const u = optionsUnionIndex(op.options2.type);
    if (u?.union !== 2) bad(`${w}: ${String(op.options2.type)} is not a BuiltinOptions2 table`);
    o2 = writeOptions(b, op.options2, `${w}.${op.options2.type}`);
    t2 = u.index;
  }
  b.startObject(13);
  b.addFieldInt32(0, opcodeIndex, -1);
  b.addFieldOffset(1, inputs, 0);
  b.addFieldOffset(2, outputs, 0);
  if (t1) {
    b.addFieldInt8(3, t1, 0);
    b.addFieldOffset(4, o1, 0);
  }
  if (custom) b.addFieldOffset(5, custom, 0);
  if (mvi) b.addFieldOffset(7, mvi, 0);
  if (inter) b.addFieldOffset(8, inter, 0);
  if (t2) {
    b.addFieldInt8(11, t2, 0);
    b.addFieldOffset(12, o2, 0);
  }
  return b.endObject();
}

/**
 * Builds the flatbuffer. With `offsets`, Buffer tables carry offset/size (data not inline); the
 * offsets are those given (absolute file positions), or placeholders on the sizing pass.
 */
function build(graph: Graph, p: Plan, offsets: number[] | null): Uint8Array {
  const inlineBytes = offsets ? 0 : p.constantBytes;
  const b = new Builder(align16(Math.min(INLINE_LIMIT, Math.max(1024, inlineBytes + 64 * 1024))));

  // Buffers: [0] empty sentinel, then constants, then metadata payloads.
  const bufferOffs: number[] = [];
  b.startObject(3);
  bufferOffs.push(b.endObject());
  const sizes = p.refs.length > 0 ? p.refs.map((r) => r.size) : p.data.map((d) => d.length);
  sizes.forEach((size, i) => {
    const data = p.data[i];
    if (offsets || !data) {
      b.startObject(3);
      b.addFieldInt64(1, BigInt(offsets?.[i] ?? 0), 0n);
      b.addFieldInt64(2, BigInt(size), 0n);
      bufferOffs.push(b.endObject());
    } else {
      const v = byteVector(b, data, 16);
      b.startObject(3);
      b.addFieldOffset(0, v, 0);
      bufferOffs.push(b.endObject());
    }
  });
  const metaBufferBase = bufferOffs.length;
  for (const data of p.metaData) {
    const v = byteVector(b, data, 16);
    b.startObject(3);
    b.addFieldOffset(0, v, 0);
    bufferOffs.push(b.endObject());
  }
  const buffers = offsetVector(b, bufferOffs);

  const opcodes = offsetVector(
    b,
    p.opcodes.map((oc) => {
      const custom = oc.custom !== undefined ? b.createString(oc.custom) : 0;
      b.startObject(4);
      b.addFieldInt8(0, Math.min(oc.code, PLACEHOLDER_FOR_GREATER_OP_CODES), 0);
      if (custom) b.addFieldOffset(1, custom, 0);
      b.addFieldInt32(2, oc.version, 1);
      b.addFieldInt32(3, oc.code, 0);
      return b.endObject();
    }),
  );

  const subgraphs = offsetVector(
    b,
    graph.subgraphs.map((sg, si) => {
      const tensors = offsetVector(
        b,
        sg.tensors.map((t, ti) => {
          const w = `subgraphs[${si}].tensors[${ti}]`;
          const shape = intVector(b, t.shape);
          const name = b.createString(t.name ?? '');
          const q = t.quantization ? writeQuantization(b, t.quantization, `${w}.quantization`) : 0;
          const sp = t.sparsity ? writeSparsity(b, t.sparsity, `${w}.sparsity`) : 0;
          const sig = t.shape_signature ? intVector(b, t.shape_signature) : 0;
          const buffer = p.tensorBuffer[si]?.[ti] ?? 0;
          b.startObject(9);
          b.addFieldOffset(0, shape, 0);
          b.addFieldInt8(1, TensorType[t.type as TensorTypeName], 0);
          b.addFieldInt32(2, buffer, 0);
          b.addFieldOffset(3, name, 0);
          if (q) b.addFieldOffset(4, q, 0);
          if (t.is_variable) b.addFieldInt8(5, 1, 0);
          if (sp) b.addFieldOffset(6, sp, 0);
          if (sig) b.addFieldOffset(7, sig, 0);
          if (t.has_rank) b.addFieldInt8(8, 1, 0);
          return b.endObject();
        }),
      );
      const inputs = intVector(b, sg.inputs);
      const outputs = intVector(b, sg.outputs);
      const ops = offsetVector(
        b,
        sg.operators.map((op, oi) => writeOperator(b, op, p, `subgraphs[${si}].operators[${oi}]`)),
      );
      const name = b.createString(sg.name ?? '');
      b.startObject(5);
      b.addFieldOffset(0, tensors, 0);
      b.addFieldOffset(1, inputs, 0);
      b.addFieldOffset(2, outputs, 0);
      b.addFieldOffset(3, ops, 0);
      b.addFieldOffset(4, name, 0);
      return b.endObject();
    }),
  );

  const description = b.createString(graph.description ?? '');
  const metadata = offsetVector(
    b,
    (graph.metadata ?? []).map((m, i) => {
      const name = b.createString(m.name);
      b.startObject(2);
      b.addFieldOffset(0, name, 0);
      b.addFieldInt32(1, metaBufferBase + i, 0);
      return b.endObject();
    }),
  );
  const sigs = offsetVector(
    b,
    (graph.signatures ?? []).map((s, i) => {
      const sg = graph.subgraphs[s.subgraph_index];
      if (!sg) bad(`signatures[${i}]: subgraph_index ${s.subgraph_index} out of range`);
      const maps = (list: { name: string; tensor_index: number }[], what: string) =>
        offsetVector(
          b,
          list.map((tm) => {
            if (
              !Number.isInteger(tm.tensor_index) ||
              tm.tensor_index < 0 ||
              tm.tensor_index >= sg.tensors.length
            ) {
              bad(`signatures[${i}].${what}: tensor_index ${tm.tensor_index} out of range`);
            }
            const name = b.createString(tm.name);
            b.startObject(2);
            b.addFieldOffset(0, name, 0);
            b.addFieldInt32(1, tm.tensor_index, 0);
            return b.endObject();
          }),
        );
      const inputs = maps(s.inputs, 'inputs');
      const outputs = maps(s.outputs, 'outputs');
      const key = b.createString(s.signature_key);
      b.startObject(5);
      b.addFieldOffset(0, inputs, 0);
      b.addFieldOffset(1, outputs, 0);
      b.addFieldOffset(2, key, 0);
      b.addFieldInt32(4, s.subgraph_index, 0);
      return b.endObject();
    }),
  );

  b.startObject(8);
  b.addFieldInt32(0, graph.version || TFLITE_SCHEMA_VERSION, 0);
  b.addFieldOffset(1, opcodes, 0);
  b.addFieldOffset(2, subgraphs, 0);
  b.addFieldOffset(3, description, 0);
  b.addFieldOffset(4, buffers, 0);
  b.addFieldOffset(6, metadata, 0);
  b.addFieldOffset(7, sigs, 0);
  const model = b.endObject();
  b.finish(model, 'TFL3');
  return b.asUint8Array();
}

const XNNPACK_PAD = new Uint8Array(16);

/** The offset/size layout: flatbuffer, padding, then each constant aligned to 16, then 16 zero bytes. */
function buildWithOffsets(graph: Graph, p: Plan): Uint8Array[] {
  const placeholder = p.data.map(() => 2 ** 40);
  const sizing = build(graph, p, placeholder);
  let pos = align16(sizing.length);
  const offsets = p.data.map((d) => {
    const at = pos;
    pos = align16(pos + d.length);
    return at;
  });
  const head = build(graph, p, offsets);
  if (head.length !== sizing.length) {
    throw new AudiogenError('INTERNAL', 'flatbuffer layout changed between the sizing and final pass');
  }
  const parts: Uint8Array[] = [head];
  let at = head.length;
  const pad = (to: number) => {
    if (to > at) parts.push(new Uint8Array(to - at));
    at = to;
  };
  pad(align16(at));
  p.data.forEach((d, i) => {
    if (at !== offsets[i]) throw new AudiogenError('INTERNAL', 'constant data layout mismatch');
    parts.push(d);
    at += d.length;
    pad(align16(at));
  });
  parts.push(XNNPACK_PAD);
  return parts;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const x of parts) n += x.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const x of parts) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

/**
 * Serialises a graph to .tflite bytes: buffers[0] is the empty sentinel, tensors sharing one
 * Uint8Array share one buffer, option tables are always written, constant data is 16-byte aligned.
 */
export function writeTflite(graph: Graph, options: WriteTfliteOptions = {}): Uint8Array {
  const p = plan(graph);
  const offsets = options.bufferOffsets ?? p.constantBytes > INLINE_LIMIT;
  try {
    return offsets ? concat(buildWithOffsets(graph, p)) : build(graph, p, null);
  } catch (e) {
    if (e instanceof AudiogenError) throw e;
    throw new AudiogenError('INTERNAL', `writing .tflite failed: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The tables of `graph` (read with `readTfliteStructure`, so without constant data) as bytes to append to
 * the file that holds its constants: each constant is a Buffer.offset/size reference (`refOf(subgraph,
 * tensor)`, absolute positions in that file), so nothing is copied; tensors that do carry `data` (new
 * constants) are placed after the tables, each at a multiple of 64 bytes of the file (what LiteRT wants
 * of host memory it hands to custom ops). Write `bytes` at `at` (the file's length rounded up to 64) and
 * `root` (u32, little-endian) over the file's first four bytes: the file then is the rewritten model,
 * its old tables dead bytes nothing points to.
 */
export function writeTfliteAppendix(
  graph: Graph,
  refOf: (subgraph: number, tensor: number) => ConstantRef | undefined,
  fileLength: number,
): { at: number; bytes: Uint8Array; root: number } {
  const align64 = (n: number) => Math.ceil(n / 64) * 64;
  try {
    const p = plan(graph, refOf);
    const at = align64(fileLength);
    // Sizing pass with placeholder offsets (int64 fields: the real ones take the same room).
    const head = build(
      graph,
      p,
      p.refs.map((r) => (r.bytes ? 2 ** 40 : r.offset)),
    ).length;
    let end = at + head;
    const offsets = p.refs.map((r) => {
      if (!r.bytes) return r.offset;
      const o = align64(end);
      end = o + r.size;
      return o;
    });
    const tables = build(graph, p, offsets);
    if (tables.length !== head)
      throw new Error('flatbuffer layout changed between the sizing and final pass');
    const bytes = new Uint8Array(end - at);
    bytes.set(tables, 0);
    p.refs.forEach((r, i) => {
      if (r.bytes) bytes.set(r.bytes, (offsets[i] as number) - at);
    });
    const root = at + new DataView(tables.buffer, tables.byteOffset, 4).getUint32(0, true);
    if (end > 0xffffffff) bad(`the model would be ${end} bytes, past a flatbuffer root's reach (4 GiB)`);
    return { at, bytes, root };
  } catch (e) {
    if (e instanceof AudiogenError) throw e;
    throw new AudiogenError('INTERNAL', `writing .tflite tables failed: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/**
 * Writes a graph to a file atomically (temp file + rename). Above `offsetThreshold` bytes of
 * constants the data are stored after the flatbuffer (Buffer.offset/size) and streamed from the
 * graph's own arrays, so no full in-memory copy of the model is made.
 */
export async function writeTfliteFile(
  path: string,
  graph: Graph,
  options: WriteTfliteFileOptions = {},
): Promise<void> {
  const p = plan(graph);
  const threshold = options.offsetThreshold ?? DEFAULT_OFFSET_THRESHOLD;
  let parts: Uint8Array[];
  try {
    const offsets = p.constantBytes > threshold || p.constantBytes > INLINE_LIMIT;
    parts = offsets ? buildWithOffsets(graph, p) : [build(graph, p, null)];
  } catch (e) {
    if (e instanceof AudiogenError) throw e;
    throw new AudiogenError('INTERNAL', `writing .tflite failed: ${(e as Error).message}`, { cause: e });
  }
  // Parts are the graph's own arrays: streamed to the file, never concatenated.
  await writeFileAtomic(path, parts, options.inputs ? { inputs: options.inputs } : {});
}
