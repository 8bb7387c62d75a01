/**
 * ONNX → .tflite graph (opsets 13–21, batch-static): initializers (inline or external data),
 * shape-computation subgraphs folded at conversion time, NCW/NCHW convolutions translated to
 * TFLite's NHWC kernels, dynamic dimensions fixed by user-given shapes. Unsupported ops are reported
 * all at once with their node names.
 */
import { closeSync, readSync, realpathSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { AudiogenError, inputFileError, openInputFileSync, readInputFileSync } from '@audiogen/core';
import type { Graph } from '@audiogen/core/tflite';
import onnxProto, { type onnx as O } from 'onnx-proto';
import { GraphBuilder, type T, transposeArray } from './builder';

const onnx = (onnxProto as unknown as { onnx: typeof O }).onnx;

export interface OnnxConvertOptions {
  /** Fixed shapes for inputs with symbolic or unknown dimensions, e.g. `{ x: [1, 64, 256] }`. */
  shapes?: Record<string, number[]>;
  /** Folder of the .onnx file, for external data. */
  baseDir?: string;
  onProgress?: (message: string, fraction?: number) => void;
}

type Num = number | { toNumber(): number };
const num = (v: Num | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

/** A value during conversion: a graph tensor, or a constant known at conversion time. */
type V =
  | { kind: 't'; t: T; int: boolean }
  | { kind: 'c'; int: boolean; shape: number[]; data: number[] | Float32Array }
  | { kind: 'erf'; x: V } // erf(x/√2), kept symbolic to fuse GELU
  | { kind: 'erf1'; x: V }; // 1 + erf(x/√2)

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const bad = (m: string) => new AudiogenError('INVALID_ONNX', m);

// ONNX TensorProto.DataType
const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;

export const ONNX_SUPPORTED_OPS = [
  'Abs',
  'Add',
  'Cast',
  'Clip',
  'Concat',
  'Constant',
  'ConstantOfShape',
  'Conv',
  'ConvTranspose',
  'Cos',
  'Div',
  'Dropout',
  'Einsum',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'Equal',
  'Greater',
  'GreaterOrEqual',
  'Less',
  'LessOrEqual',
  'Not',
  'And',
  'Or',
  'Floor',
  'Erf',
  'Exp',
  'Expand',
  'Flatten',
  'Gather',
  'Gelu',
  'Gemm',
  'Identity',
  'LayerNormalization',
  'LeakyRelu',
  'Log',
  'MatMul',
  'Max',
  'Min',
  'Mul',
  'Neg',
  'Pad',
  'Pow',
  'Range',
  'Reciprocal',
  'ReduceMax',
  'ReduceMean',
  'ReduceSum',
  'Relu',
  'Reshape',
  'Shape',
  'Sigmoid',
  'Sin',
  'Slice',
  'Softmax',
  'Split',
  'Sqrt',
  'Squeeze',
  'Sub',
  'Tanh',
  'Transpose',
  'Unsqueeze',
  'Where',
] as const;

const ELEMENT_BYTES: Record<number, number> = {
  [DT.FLOAT]: 4,
  [DT.DOUBLE]: 8,
  [DT.FLOAT16]: 2,
  [DT.INT64]: 8,
  [DT.INT32]: 4,
  [DT.INT8]: 1,
  [DT.UINT8]: 1,
  [DT.BOOL]: 1,
};
/** Largest initializer converted (elements): above any real weight tensor, within what memory holds. */
const MAX_INITIALIZER_ELEMENTS = 2 ** 31;

/** A non-negative integer byte count from an external_data entry (decimal text). */
function byteCount(v: string | null | undefined, what: string, name: string): number {
  const x = /^\d{1,16}$/.test(String(v)) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(x))
    throw bad(`initializer ${name}: external data ${what} ${JSON.stringify(v)} is not a valid byte count`);
  return x;
}

/**
 * The `need` bytes of an initializer stored outside the .onnx file. As onnxruntime requires, the location
 * is a relative path inside the model's folder: no absolute path, no '..', no symlink leading out of it.
 * Only the tensor's own range is read.
 */
function externalData(t: O.ITensorProto, baseDir: string | undefined, need: number): Uint8Array {
  const kv = Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value]));
  if (!baseDir) throw bad(`initializer ${t.name} uses external data: give baseDir`);
  const location = String(kv.location ?? '');
  if (
    location === '' ||
    location.includes('\0') ||
    isAbsolute(location) ||
    /^[a-zA-Z]:/.test(location) ||
    location.split(/[\\/]/).includes('..')
  ) {
    throw bad(
      `initializer ${t.name}: external data location ${JSON.stringify(location)} must be a relative path inside the model's folder`,
    );
  }
  const path = resolve(baseDir, location);
  let real: string;
  let root: string;
  try {
    root = realpathSync(baseDir);
    real = realpathSync(path);
  } catch (e) {
    throw inputFileError(e, path, `external data file of initializer ${t.name}`);
  }
  if (!real.startsWith(root.endsWith(sep) ? root : root + sep)) {
    throw bad(
      `initializer ${t.name}: external data location ${JSON.stringify(location)} leads outside the model's folder (to ${real})`,
    );
  }
  const offset = byteCount(kv.offset ?? '0', 'offset', t.name ?? '');
  const { fd, size } = openInputFileSync(real, {
    what: `external data file of initializer ${t.name}`,
    maxBytes: Number.MAX_SAFE_INTEGER,
  });
  try {
    const length = kv.length != null ? byteCount(kv.length, 'length', t.name ?? '') : size - offset;
    if (offset > size || length > size - offset) {
      throw bad(
        `initializer ${t.name}: external data range [${offset}, ${offset + length}) is outside ${location} (${size} bytes)`,
      );
    }
    if (length < need) {
      throw bad(`initializer ${t.name}: external data has ${length} bytes, the tensor needs ${need}`);
    }
    const out = new Uint8Array(need);
    for (let got = 0; got < need; ) {
      const r = readSync(fd, out, got, Math.min(need - got, 1 << 30), offset + got);
      if (r <= 0) throw bad(`initializer ${t.name}: ${location} ended early (it changed while read)`);
      got += r;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

function tensorData(
  t: O.ITensorProto,
  baseDir: string | undefined,
): { int: boolean; shape: number[]; data: number[] | Float32Array } {
  const shape = (t.dims ?? []).map(num);
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0)
      throw bad(`initializer ${t.name}: invalid dimension ${d} in [${shape.join(', ')}]`);
  }
  const n = prod(shape);
  if (n > MAX_INITIALIZER_ELEMENTS)
    throw bad(
      `initializer ${t.name}: [${shape.join(', ')}] has ${n} elements, more than ${MAX_INITIALIZER_ELEMENTS}`,
    );
  const dt = t.dataType ?? 0;
  const elementBytes = ELEMENT_BYTES[dt];
  if (elementBytes === undefined)
    throw new AudiogenError('UNSUPPORTED', `initializer ${t.name}: ONNX data type ${dt} is not supported`);
  let raw: Uint8Array | undefined = t.rawData?.length ? t.rawData : undefined;
  if (t.dataLocation === 1) raw = externalData(t, baseDir, n * elementBytes);
  if (raw && raw.length < n * elementBytes) {
    throw bad(
      `initializer ${t.name}: ${raw.length} bytes of raw data, [${shape.join(', ')}] needs ${n * elementBytes}`,
    );
  }
  if (!raw) {
    const listed =
      dt === DT.FLOAT
        ? t.floatData
        : dt === DT.DOUBLE
          ? t.doubleData
          : dt === DT.INT64
            ? t.int64Data
            : t.int32Data;
    if ((listed?.length ?? 0) < n)
      throw bad(`initializer ${t.name}: ${listed?.length ?? 0} values, [${shape.join(', ')}] needs ${n}`);
  }
  const dv = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  switch (dt) {
    case DT.FLOAT: {
      if (dv) {
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
        return { int: false, shape, data: out };
      }
      return { int: false, shape, data: Float32Array.from(t.floatData ?? []) };
    }
    case DT.DOUBLE: {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv ? dv.getFloat64(8 * i, true) : (t.doubleData ?? [])[i]!;
      return { int: false, shape, data: out };
    }
    case DT.FLOAT16: {
      const out = new Float32Array(n);
      const h = (x: number) => {
        const s = x & 0x8000 ? -1 : 1;
        const e = (x >> 10) & 0x1f;
        const f = x & 0x3ff;
        return e === 0
          ? s * 2 ** -14 * (f / 1024)
          : e === 31
            ? f
              ? Number.NaN
              : s * Number.POSITIVE_INFINITY
            : s * 2 ** (e - 15) * (1 + f / 1024);
      };
      for (let i = 0; i < n; i++) out[i] = h(dv ? dv.getUint16(2 * i, true) : (t.int32Data ?? [])[i]!);
      return { int: false, shape, data: out };
    }
    case DT.INT64: {
      const out: number[] = [];
      for (let i = 0; i < n; i++)
        out.push(dv ? Number(dv.getBigInt64(8 * i, true)) : num((t.int64Data ?? [])[i]));
      return { int: true, shape, data: out };
    }
    case DT.INT32:
    case DT.INT8:
    case DT.UINT8:
    case DT.BOOL: {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        out.push(
          dv
            ? dt === DT.INT32
              ? dv.getInt32(4 * i, true)
              : dt === DT.INT8
                ? dv.getInt8(i)
                : dv.getUint8(i)
            : (t.int32Data ?? [])[i]!,
        );
      }
      return { int: true, shape, data: out };
    }
    default:
      throw new AudiogenError('UNSUPPORTED', `initializer ${t.name}: ONNX data type ${dt} is not supported`);
  }
}

function attrs(node: O.INodeProto): Record<string, O.IAttributeProto> {
  return Object.fromEntries((node.attribute ?? []).map((a) => [a.name!, a]));
}

/** Converts an ONNX model (bytes) to a core Graph with a `serving_default` signature. */
export function convertOnnx(bytes: Uint8Array, opts: OnnxConvertOptions = {}): Graph {
  let model: O.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw bad(`not an ONNX model: ${(e as Error).message}`);
  }
  const g = model.graph;
  if (!g) throw bad('the ONNX model has no graph');
  const opset = num(
    (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 13,
  );
  if (opset < 11 || opset > 22)
    throw new AudiogenError('UNSUPPORTED', `ONNX opset ${opset} is not supported (13–21)`);
  const nodes = g.node ?? [];
  const unsupported = nodes.filter((n) =>
    n.domain && n.domain !== 'ai.onnx'
      ? true
      : !(ONNX_SUPPORTED_OPS as readonly string[]).includes(n.opType!),
  );
  if (unsupported.length) {
    throw new AudiogenError(
      'UNSUPPORTED_OPS',
      `unsupported ONNX ops:\n  ${unsupported.map((n) => `${n.opType} (node ${n.name || n.output?.[0]})`).join('\n  ')}`,
      { details: { ops: unsupported.map((n) => ({ op: n.opType, node: n.name })) } },
    );
  }
  const b = new GraphBuilder('audiogen convert: from ONNX');
  const vals = new Map<string, V>();
  for (const init of g.initializer ?? [])
    vals.set(init.name!, { kind: 'c', ...tensorData(init, opts.baseDir) });

  // Inputs with fixed shapes.
  const unresolved: string[] = [];
  for (const inp of g.input ?? []) {
    if (vals.has(inp.name!)) continue;
    const tt = inp.type?.tensorType;
    const given = opts.shapes?.[inp.name!];
    const dims = (tt?.shape?.dim ?? []).map((d) =>
      d.dimValue != null && num(d.dimValue) > 0 ? num(d.dimValue) : -1,
    );
    const shape = given ?? dims;
    if (!given && (shape.some((d) => d < 0) || !tt?.shape)) {
      unresolved.push(
        `${inp.name} [${(tt?.shape?.dim ?? []).map((d) => d.dimParam || (d.dimValue != null ? num(d.dimValue) : '?')).join(',')}]`,
      );
      continue;
    }
    const et = tt?.elemType ?? DT.FLOAT;
    if (et === DT.INT64 || et === DT.INT32) {
      const t = b.input(inp.name!, et === DT.INT64 ? 'INT64' : 'INT32', shape);
      vals.set(inp.name!, { kind: 't', t: et === DT.INT64 ? b.cast(t, 'INT32') : t, int: true });
    } else if (et === DT.FLOAT) {
      vals.set(inp.name!, { kind: 't', t: b.input(inp.name!, 'FLOAT32', shape), int: false });
    } else throw new AudiogenError('UNSUPPORTED', `input ${inp.name}: element type ${et} is not supported`);
  }
  if (unresolved.length) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `ONNX inputs with unresolved dimensions; give their shapes (e.g. --shape name=1x64x256):\n  ${unresolved.join('\n  ')}`,
    );
  }

  const get = (name: string | undefined | null): V | undefined => (name ? vals.get(name) : undefined);
  const req = (name: string | undefined | null, node: O.INodeProto): V => {
    const v = get(name);
    if (!v) throw bad(`node ${node.name || node.opType}: input ${name} is not available`);
    return v;
  };
  const shapeOf = (v: V): number[] =>
    v.kind === 't' ? [...v.t.shape] : v.kind === 'c' ? v.shape : shapeOf(v.x);
  const ints = (v: V, node: O.INodeProto): number[] => {
    if (v.kind !== 'c')
      throw new AudiogenError(
        'UNSUPPORTED',
        `node ${node.name || node.opType}: needs a constant input (dynamic shapes are not supported)`,
      );
    return [...v.data];
  };
  const tens = (v: V): T => {
    if (v.kind === 't') return v.t;
    if (v.kind === 'c')
      return v.int
        ? b.i32('const', v.shape, v.data as number[])
        : b.f32('const', v.shape, Float32Array.from(v.data));
    throw new AudiogenError(
      'UNSUPPORTED',
      'Erf outside the GELU pattern x·0.5·(1 + erf(x/√2)) is not supported',
    );
  };
  const T_ = (t: T, int = false): V => ({ kind: 't', t, int });
  const C_ = (shape: number[], data: number[] | Float32Array, int: boolean): V => ({
    kind: 'c',
    shape,
    data,
    int,
  });
  const normAxis = (a: number, r: number) => (a < 0 ? a + r : a);
  const isScalarConst = (v: V, x: number) =>
    v.kind === 'c' && prod(v.shape) === 1 && Math.abs(Number(v.data[0]) - x) < 1e-6;

  /** Elementwise on constants (numpy broadcasting). */
  const foldBin = (
    a: V & { kind: 'c' },
    c: V & { kind: 'c' },
    f: (x: number, y: number) => number,
    int: boolean,
  ): V => {
    const os = [...new Array(Math.max(a.shape.length, c.shape.length))].map((_, i) => {
      const da = a.shape[a.shape.length - Math.max(a.shape.length, c.shape.length) + i] ?? 1;
      const dc = c.shape[c.shape.length - Math.max(a.shape.length, c.shape.length) + i] ?? 1;
      return Math.max(da, dc);
    });
    const n = prod(os);
    const idx = (s: number[], o: number) => {
      let r = 0;
      let mul = 1;
      let rem = o;
      const off = os.length - s.length;
      const coords: number[] = [];
      for (let i = os.length - 1; i >= 0; i--) {
        coords[i] = rem % os[i]!;
        rem = Math.floor(rem / os[i]!);
      }
      for (let i = s.length - 1; i >= 0; i--) {
        r += (s[i] === 1 ? 0 : coords[i + off]!) * mul;
        mul *= s[i]!;
      }
      return r;
    };
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(f(Number(a.data[idx(a.shape, i)]), Number(c.data[idx(c.shape, i)])));
    return C_(os, int ? out.map((x) => Math.trunc(x)) : Float32Array.from(out), int);
  };

  /** Unary op: folded in JS for constants, else emitted. */
  const unary = (v: V, f: (q: number) => number, emit: (t: T) => T): V =>
    v.kind === 'c'
      ? C_(
          v.shape,
          v.int ? [...v.data].map((q) => f(Number(q))) : Float32Array.from(v.data, (q) => f(q)),
          v.int,
        )
      : T_(emit(tens(v)));

  const total = nodes.length;
  // Consumers of each value, for fusing a bias Add into the MatMul before it.
  const consumers = new Map<string, O.INodeProto[]>();
  for (const n of nodes) for (const i of n.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const graphOutputs = new Set((g.output ?? []).map((o) => o.name!));
  const fused = new Set<O.INodeProto>();

  const convertNode = (node: O.INodeProto, ni: number) => {
    if (fused.has(node)) return;
    if (ni % 50 === 0) opts.onProgress?.(`onnx: node ${ni + 1}/${total}`, ni / total);
    const a = attrs(node);
    const ai = (k: string, d: number) => (a[k] ? num(a[k]!.i) : d);
    const af = (k: string, d: number) => (a[k] ? (a[k]!.f ?? d) : d);
    const aints = (k: string): number[] | undefined => (a[k] ? (a[k]!.ints ?? []).map(num) : undefined);
    const ins = (node.input ?? []).map((n) => (n ? get(n) : undefined));
    const x = () => req(node.input?.[0], node);
    const set = (v: V, i = 0) => vals.set(node.output![i]!, v);
    const op = node.opType!;
    const binary = (f: (p: number, q: number) => number, tf: (p: T, q: T) => T) => {
      const p = req(node.input![0], node);
      const q = req(node.input![1], node);
      if (p.kind === 'c' && q.kind === 'c') return set(foldBin(p, q, f, p.int && q.int));
      const isInt = (v: V) => (v.kind === 't' || v.kind === 'c') && v.int;
      set(T_(tf(tens(p), tens(q)), isInt(p) && isInt(q)));
    };
    switch (op) {
      case 'Identity':
      case 'Dropout':
        return set(x());
      case 'Constant': {
        if (a.value?.t) return set({ kind: 'c', ...tensorData(a.value.t, opts.baseDir) });
        if (a.value_float) return set(C_([], Float32Array.from([a.value_float.f ?? 0]), false));
        if (a.value_floats)
          return set(C_([a.value_floats.floats!.length], Float32Array.from(a.value_floats.floats!), false));
        if (a.value_int) return set(C_([], [num(a.value_int.i)], true));
        if (a.value_ints) return set(C_([a.value_ints.ints!.length], a.value_ints.ints!.map(num), true));
        throw new AudiogenError('UNSUPPORTED', `Constant node ${node.name}: unsupported value attribute`);
      }
      case 'Shape': {
        let s = shapeOf(x());
        const start = ai('start', 0);
        const end = a.end ? ai('end', s.length) : s.length;
        s = s.slice(normAxis(start, s.length), normAxis(end, s.length) || (end === 0 ? 0 : s.length));
        return set(C_([s.length], s, true));
      }
      case 'ConstantOfShape': {
        const shape = ints(x(), node);
        const v = a.value?.t ? tensorData(a.value.t, opts.baseDir) : { int: false, data: [0] };
        const n = prod(shape);
        const val = Number(v.data[0] ?? 0);
        return set(C_(shape, v.int ? new Array(n).fill(val) : new Float32Array(n).fill(val), v.int));
      }
      case 'Range': {
        const [s, l, d] = [0, 1, 2].map((i) => ints(req(node.input![i], node), node)[0]!);
        const out: number[] = [];
        for (let v = s!; d! > 0 ? v < l! : v > l!; v += d!) out.push(v);
        return set(C_([out.length], out, true));
      }
      case 'Cast': {
        const to = ai('to', DT.FLOAT);
        const v = x();
        const toInt = to !== DT.FLOAT && to !== DT.DOUBLE && to !== DT.FLOAT16;
        if (v.kind === 'c')
          return set(
            C_(
              v.shape,
              toInt ? [...v.data].map((q) => Math.trunc(Number(q))) : Float32Array.from(v.data),
              toInt,
            ),
          );
        const t = tens(v);
        if (toInt === (v.kind === 't' && v.int)) return set(v);
        return set(T_(b.cast(t, toInt ? 'INT32' : 'FLOAT32'), toInt));
      }
      case 'Add': {
        const p = req(node.input![0], node);
        const q = req(node.input![1], node);
        if (p.kind === 'erf' && isScalarConst(q, 1)) return set({ kind: 'erf1', x: p.x });
        if (q.kind === 'erf' && isScalarConst(p, 1)) return set({ kind: 'erf1', x: q.x });
        return binary(
          (m, n) => m + n,
          (m, n) => b.add(m, n),
        );
      }
      case 'Sub':
        return binary(
          (m, n) => m - n,
          (m, n) => b.sub(m, n),
        );
      case 'Mul': {
        const p = req(node.input![0], node);
        const q = req(node.input![1], node);
        // GELU: x · (1 + erf(x/√2)) = 2·gelu(x); the following ·0.5 stays an elementwise MUL.
        for (const [e, o] of [
          [p, q],
          [q, p],
        ] as const) {
          if (e.kind === 'erf1' && o === e.x) return set(T_(b.mul(b.gelu(tens(o)), b.scalar(2))));
        }
        return binary(
          (m, n) => m * n,
          (m, n) => b.mul(m, n),
        );
      }
      case 'Div': {
        const p = req(node.input![0], node);
        const q = req(node.input![1], node);
        if (p.kind === 'c' && q.kind === 'c')
          return set(foldBin(p, q, (m, n) => (p.int && q.int ? Math.trunc(m / n) : m / n), p.int && q.int));
        if (q.kind === 'c' && !q.int) {
          // x / c → x · (1/c) is not bit-identical; keep DIV (XNNPACK takes it).
        }
        return set(T_(b.div(tens(p), tens(q))));
      }
      case 'Erf': {
        // Only as part of GELU: erf(x / √2) or erf(x · (1/√2)).
        const inName = node.input![0]!;
        const producer = nodes.find((n) => n.output?.includes(inName));
        if (producer && (producer.opType === 'Div' || producer.opType === 'Mul')) {
          const src = req(producer.input![0], producer);
          const k = req(producer.input![1], producer);
          const ok =
            producer.opType === 'Div' ? isScalarConst(k, Math.SQRT2) : isScalarConst(k, Math.SQRT1_2);
          if (ok) return set({ kind: 'erf', x: src });
        }
        throw new AudiogenError(
          'UNSUPPORTED',
          `Erf node ${node.name}: only the GELU pattern erf(x/√2) is supported`,
        );
      }
      case 'Gelu':
        return set(
          T_(
            b.gelu(
              tens(x()),
              (a.approximate?.s ? new TextDecoder().decode(a.approximate.s) : 'none') === 'tanh',
            ),
          ),
        );
      case 'Pow': {
        const e = req(node.input![1], node);
        if (isScalarConst(e, 2)) return set(T_(b.square(tens(x()))));
        if (isScalarConst(e, 0.5)) return set(T_(b.sqrt(tens(x()))));
        if (isScalarConst(e, 1)) return set(x());
        throw new AudiogenError(
          'UNSUPPORTED',
          `Pow node ${node.name}: only exponents 2, 0.5, 1 are supported`,
        );
      }
      case 'Max':
      case 'Min': {
        const cs = (node.input ?? []).map((n) => req(n, node));
        if (cs.every((c) => c.kind === 'c')) {
          let r = cs[0] as V & { kind: 'c' };
          for (const c of cs.slice(1))
            r = foldBin(
              r,
              c as V & { kind: 'c' },
              op === 'Max' ? Math.max : Math.min,
              r.int && (c as V & { kind: 'c' }).int,
            ) as V & { kind: 'c' };
          return set(r);
        }
        const vs = cs.map(tens);
        let r = vs[0]!;
        for (const v of vs.slice(1)) r = op === 'Max' ? b.maximum(r, v) : b.minimum(r, v);
        return set(T_(r));
      }
      case 'Sqrt':
        return set(unary(x(), Math.sqrt, (t) => b.sqrt(t)));
      case 'Reciprocal':
        return set(
          unary(
            x(),
            (q) => 1 / q,
            (t) => b.div(b.scalar(1), t),
          ),
        );
      case 'Exp':
        return set(unary(x(), Math.exp, (t) => b.exp(t)));
      case 'Log':
        return set(unary(x(), Math.log, (t) => b.log(t)));
      case 'Sin':
        return set(unary(x(), Math.sin, (t) => b.sin(t)));
      case 'Cos':
        return set(unary(x(), Math.cos, (t) => b.cos(t)));
      case 'Tanh':
        return set(unary(x(), Math.tanh, (t) => b.tanh(t)));
      case 'Sigmoid':
        return set(
          unary(
            x(),
            (q) => 1 / (1 + Math.exp(-q)),
            (t) => b.logistic(t),
          ),
        );
      case 'Relu':
        return set(
          unary(
            x(),
            (q) => Math.max(0, q),
            (t) => b.relu(t),
          ),
        );
      case 'LeakyRelu': {
        const t = tens(x());
        return set(T_(b.maximum(t, b.mul(t, b.scalar(af('alpha', 0.01))))));
      }
      case 'Neg':
        return set(
          unary(
            x(),
            (q) => -q,
            (t) => b.neg(t),
          ),
        );
      case 'Abs':
        return set(unary(x(), Math.abs, (t) => b.abs(t)));
      case 'Clip': {
        let t = tens(x());
        const mn = ins[1] ?? (a.min ? C_([], Float32Array.from([af('min', 0)]), false) : undefined);
        const mx = ins[2] ?? (a.max ? C_([], Float32Array.from([af('max', 0)]), false) : undefined);
        if (mn) t = b.maximum(t, tens(mn));
        if (mx) t = b.minimum(t, tens(mx));
        return set(T_(t));
      }
      case 'Floor':
        return set(
          unary(x(), Math.floor, () => {
            throw new AudiogenError(
              'UNSUPPORTED',
              `Floor node ${node.name}: only constant operands are supported`,
            );
          }),
        );
      case 'Not':
        return set(
          unary(
            x(),
            (q) => (q ? 0 : 1),
            () => {
              throw new AudiogenError(
                'UNSUPPORTED',
                `Not node ${node.name}: only constant operands are supported`,
              );
            },
          ),
        );
      case 'Less':
      case 'LessOrEqual':
      case 'Greater':
      case 'GreaterOrEqual':
      case 'And':
      case 'Or': {
        const f: Record<string, (m: number, n: number) => number> = {
          Less: (m, n) => +(m < n),
          LessOrEqual: (m, n) => +(m <= n),
          Greater: (m, n) => +(m > n),
          GreaterOrEqual: (m, n) => +(m >= n),
          And: (m, n) => +(!!m && !!n),
          Or: (m, n) => +(!!m || !!n),
        };
        const p = req(node.input![0], node);
        const q = req(node.input![1], node);
        if (p.kind === 'c' && q.kind === 'c') return set(foldBin(p, q, f[op]!, true));
        if (op === 'And' || op === 'Or') {
          return set(T_(b.logical(op === 'And' ? 'LOGICAL_AND' : 'LOGICAL_OR', tens(p), tens(q)), true));
        }
        const cmp = {
          Less: 'LESS',
          LessOrEqual: 'LESS_EQUAL',
          Greater: 'GREATER',
          GreaterOrEqual: 'GREATER_EQUAL',
        } as const;
        return set(T_(b.compare(cmp[op as keyof typeof cmp], tens(p), tens(q)), true));
      }
      case 'Equal':
        return binary(
          (m, n) => (m === n ? 1 : 0),
          (m, n) => b.compare('EQUAL', m, n),
        );
      case 'Where': {
        const [c, p, q] = [0, 1, 2].map((i) => req(node.input![i], node));
        if (c!.kind === 'c' && p!.kind === 'c' && q!.kind === 'c') {
          const t1 = foldBin(c!, p!, (cc, pp) => (cc ? pp : Number.NaN), p!.int) as V & { kind: 'c' };
          return set(foldBin(t1, q!, (tt, qq) => (Number.isNaN(tt) ? qq : tt), p!.int));
        }
        let cond: T;
        if (c!.kind === 'c')
          cond = b.constant(
            'cond',
            'BOOL',
            c!.shape,
            Uint8Array.from(c!.data, (v) => (v ? 1 : 0)),
          );
        else {
          cond = tens(c!);
          if (cond.type !== 'BOOL')
            cond = b.compare(
              'NOT_EQUAL',
              cond,
              cond.type === 'FLOAT32' ? b.scalar(0) : b.i32('zero', [], [0]),
            );
        }
        const pt = tens(p!);
        const qt = tens(q!);
        return set(T_(b.select(cond, pt, qt), pt.type !== 'FLOAT32'));
      }
      case 'MatMul': {
        const p = req(node.input![0], node);
        const q = req(node.input![1], node);
        const ps = shapeOf(p);
        const qs = shapeOf(q);
        if (q.kind === 'c' && qs.length === 2) {
          const w = transposeArray(Float32Array.from(q.data), qs, [1, 0]);
          // MatMul → Add(const [N]) becomes one FULLY_CONNECTED with a fused bias.
          const out = node.output![0]!;
          const cs = consumers.get(out) ?? [];
          let bias: T | null = null;
          let target = out;
          if (cs.length === 1 && cs[0]!.opType === 'Add' && !graphOutputs.has(out)) {
            const other = cs[0]!.input!.find((n) => n !== out);
            const bv = get(other);
            if (
              bv?.kind === 'c' &&
              !bv.int &&
              prod(bv.shape) === qs[1] &&
              bv.shape[bv.shape.length - 1] === qs[1]
            ) {
              bias = b.f32('bias', [qs[1]!], Float32Array.from(bv.data));
              target = cs[0]!.output![0]!;
              fused.add(cs[0]!);
            }
          }
          const y = b.fullyConnected(
            b.reshape(tens(p), [-1, qs[0]!]),
            b.f32('weight', [qs[1]!, qs[0]!], w),
            bias,
          );
          vals.set(target, T_(b.reshape(y, [...ps.slice(0, -1), qs[1]!])));
          return;
        }
        return set(T_(b.batchMatmul(tens(p), tens(q))));
      }
      case 'Gemm': {
        const A = tens(x());
        const B = req(node.input![1], node);
        if (B.kind !== 'c')
          throw new AudiogenError('UNSUPPORTED', `Gemm node ${node.name}: B must be constant`);
        const alpha = af('alpha', 1);
        const beta = af('beta', 1);
        const tA = ai('transA', 0);
        const tB = ai('transB', 0);
        let w = Float32Array.from(B.data);
        if (!tB) w = transposeArray(w, B.shape, [1, 0]);
        if (alpha !== 1) w = w.map((v) => v * alpha);
        const [n, k] = tB ? B.shape : [B.shape[1]!, B.shape[0]!];
        let bias: T | null = null;
        const C = ins[2];
        if (C) {
          if (C.kind === 'c' && prod(C.shape) === n)
            bias = b.f32(
              'bias',
              [n!],
              Float32Array.from(C.data).map((v) => v * beta),
            );
          else
            throw new AudiogenError('UNSUPPORTED', `Gemm node ${node.name}: C must be a constant [N] vector`);
        }
        const inp = tA ? b.transpose(A, [1, 0]) : A;
        return set(T_(b.fullyConnected(inp, b.f32('weight', [n!, k!], w), bias)));
      }
      case 'Softmax': {
        const t = tens(x());
        const r = t.shape.length;
        const axis = normAxis(ai('axis', -1), r);
        if (axis === r - 1) return set(T_(b.softmax(t)));
        const perm = [...Array(r).keys()];
        [perm[axis], perm[r - 1]] = [perm[r - 1]!, perm[axis]!];
        return set(T_(b.transpose(b.softmax(b.transpose(t, perm)), perm)));
      }
      case 'LayerNormalization': {
        const t = tens(x());
        const axis = normAxis(ai('axis', -1), t.shape.length);
        if (axis !== t.shape.length - 1)
          throw new AudiogenError('UNSUPPORTED', `LayerNormalization ${node.name}: only the last axis`);
        return set(
          T_(b.layerNorm(t, ins[1] ? tens(ins[1]) : null, ins[2] ? tens(ins[2]) : null, af('epsilon', 1e-5))),
        );
      }
      case 'ReduceMean':
      case 'ReduceSum':
      case 'ReduceMax': {
        const t = tens(x());
        const axes = aints('axes') ?? (ins[1] ? ints(ins[1], node) : [...t.shape.keys()]);
        const keep = ai('keepdims', 1) === 1;
        const f =
          op === 'ReduceMean' ? b.mean.bind(b) : op === 'ReduceSum' ? b.sum.bind(b) : b.reduceMax.bind(b);
        return set(T_(f(t, axes, keep)));
      }
      case 'Transpose': {
        const v = x();
        const s = shapeOf(v);
        const perm = aints('perm') ?? [...s.keys()].reverse();
        if (v.kind === 'c' && !v.int)
          return set(
            C_(
              perm.map((p) => s[p]!),
              transposeArray(Float32Array.from(v.data), s, perm),
              false,
            ),
          );
        return set(T_(b.transpose(tens(v), perm), v.kind === 't' && v.int));
      }
      case 'Reshape':
      case 'Flatten':
      case 'Squeeze':
      case 'Unsqueeze': {
        const v = x();
        const s = shapeOf(v);
        let out: number[];
        if (op === 'Reshape') {
          const spec = ints(req(node.input![1], node), node);
          out = spec.map((d, i) => (d === 0 && ai('allowzero', 0) === 0 ? s[i]! : d));
          const neg = out.indexOf(-1);
          if (neg >= 0) out[neg] = prod(s) / prod(out.filter((d) => d !== -1));
        } else if (op === 'Flatten') {
          const axis = normAxis(ai('axis', 1), s.length);
          out = [prod(s.slice(0, axis)), prod(s.slice(axis))];
        } else if (op === 'Squeeze') {
          const axes = (
            aints('axes') ??
            (ins[1] ? ints(ins[1], node) : s.map((d, i) => (d === 1 ? i : -99)).filter((i) => i >= 0))
          ).map((q) => normAxis(q, s.length));
          out = s.filter((_, i) => !axes.includes(i));
        } else {
          const axes = aints('axes') ?? ints(req(node.input![1], node), node);
          const r = s.length + axes.length;
          const ax = axes.map((q) => normAxis(q, r));
          out = [];
          let j = 0;
          for (let i = 0; i < r; i++) out.push(ax.includes(i) ? 1 : s[j++]!);
        }
        if (v.kind === 'c') return set(C_(out, v.data, v.int));
        return set(T_(b.reshape(tens(v), out), v.kind === 't' && v.int));
      }
      case 'Concat': {
        const vs = (node.input ?? []).map((n) => req(n, node));
        const r = shapeOf(vs[0]!).length;
        const axis = normAxis(ai('axis', 0), r);
        if (vs.every((v) => v.kind === 'c') && r === 1) {
          const data = vs.flatMap((v) => [...(v as V & { kind: 'c' }).data]);
          return set(
            C_(
              [data.length],
              vs[0]!.kind === 'c' && vs[0]!.int ? data : Float32Array.from(data),
              (vs[0] as V & { kind: 'c' }).int,
            ),
          );
        }
        return set(T_(b.concat(vs.map(tens), axis)));
      }
      case 'Split': {
        const t = tens(x());
        const axis = normAxis(ai('axis', 0), t.shape.length);
        const n = node.output!.length;
        const sizes =
          aints('split') ?? (ins[1] ? ints(ins[1], node) : new Array(n).fill(Math.ceil(t.shape[axis]! / n)));
        let off = 0;
        sizes.forEach((sz, i) => {
          const begin = t.shape.map((_, j) => (j === axis ? off : 0));
          const size = t.shape.map((d, j) => (j === axis ? Math.min(sz, d - off) : d));
          set(T_(b.slice(t, begin, size)), i);
          off += sz;
        });
        return;
      }
      case 'Slice': {
        const v = x();
        const s = shapeOf(v);
        const starts = ints(req(node.input![1], node), node);
        const ends = ints(req(node.input![2], node), node);
        const axes = ins[3] ? ints(ins[3], node).map((q) => normAxis(q, s.length)) : starts.map((_, i) => i);
        const steps = ins[4] ? ints(ins[4], node) : starts.map(() => 1);
        const begin = s.map(() => 0);
        const end = [...s];
        const stride = s.map(() => 1);
        axes.forEach((ax, i) => {
          const d = s[ax]!;
          const cl = (q: number) => Math.max(0, Math.min(d, q < 0 ? q + d : q));
          if (steps[i]! <= 0) throw new AudiogenError('UNSUPPORTED', `Slice ${node.name}: negative steps`);
          begin[ax] = cl(starts[i]!);
          end[ax] = Math.max(begin[ax]!, cl(ends[i]!));
          stride[ax] = steps[i]!;
        });
        if (v.kind === 'c' && s.length === 1) {
          const out: number[] = [];
          for (let i = begin[0]!; i < end[0]!; i += stride[0]!) out.push(Number(v.data[i]));
          return set(C_([out.length], v.int ? out : Float32Array.from(out), v.int));
        }
        const t = tens(v);
        if (stride.every((q) => q === 1))
          return set(
            T_(
              b.slice(
                t,
                begin,
                end.map((e, i) => e - begin[i]!),
              ),
              v.kind === 't' && v.int,
            ),
          );
        return set(T_(b.stridedSlice(t, begin, end, stride)));
      }
      case 'Gather': {
        const data = x();
        const idx = req(node.input![1], node);
        const ds = shapeOf(data);
        const axis = normAxis(ai('axis', 0), ds.length);
        if (data.kind === 'c' && idx.kind === 'c' && ds.length === 1) {
          const out = [...idx.data].map((i) =>
            Number(data.data[Number(i) < 0 ? Number(i) + ds[0]! : Number(i)]),
          );
          return set(C_(idx.shape, data.int ? out : Float32Array.from(out), data.int));
        }
        if (idx.kind === 'c' && idx.shape.length === 0) {
          const i = Number(idx.data[0]);
          const begin = ds.map((_, j) => (j === axis ? (i < 0 ? i + ds[axis]! : i) : 0));
          const size = ds.map((d, j) => (j === axis ? 1 : d));
          return set(
            T_(
              b.reshape(
                b.slice(tens(data), begin, size),
                ds.filter((_, j) => j !== axis),
              ),
            ),
          );
        }
        return set(T_(b.gather(tens(data), tens(idx), axis)));
      }
      case 'Expand': {
        const v = x();
        const shape = ints(req(node.input![1], node), node);
        const s = shapeOf(v);
        const n = Math.max(s.length, shape.length);
        const out = [...Array(n).keys()].map((i) =>
          Math.max(s[s.length - n + i] ?? 1, shape[shape.length - n + i] ?? 1),
        );
        if (out.every((d, i) => d === (s[s.length - n + i] ?? -1)) && s.length === n) return set(v);
        return set(T_(b.mul(tens(v), b.f32('ones', out, new Float32Array(prod(out)).fill(1)))));
      }
      case 'Pad': {
        const t = tens(x());
        const mode = a.mode?.s ? new TextDecoder().decode(a.mode.s) : 'constant';
        if (mode !== 'constant') throw new AudiogenError('UNSUPPORTED', `Pad ${node.name}: mode ${mode}`);
        const pads = aints('pads') ?? ints(req(node.input![1], node), node);
        if (ins[2] && !isScalarConst(ins[2], 0))
          throw new AudiogenError('UNSUPPORTED', `Pad ${node.name}: non-zero value`);
        const r = t.shape.length;
        const axes = ins[3] ? ints(ins[3], node).map((q) => normAxis(q, r)) : [...Array(r).keys()];
        const pp: [number, number][] = t.shape.map(() => [0, 0]);
        axes.forEach((ax, i) => {
          pp[ax] = [pads[i]!, pads[i + axes.length]!];
        });
        return set(T_(b.pad(t, pp)));
      }
      case 'Einsum': {
        const eq = a.equation?.s ? new TextDecoder().decode(a.equation.s).replace(/\s/g, '') : '';
        const operands = (node.input ?? []).map((n) => tens(req(n, node)));
        return set(T_(einsum(b, eq, operands, node.name ?? '')));
      }
      case 'MaxPool':
      case 'AveragePool':
      case 'GlobalAveragePool': {
        const t = tens(x());
        const r = t.shape.length;
        if (r !== 3 && r !== 4)
          throw new AudiogenError('UNSUPPORTED', `${op} ${node.name}: only 1-D and 2-D pooling`);
        if (op === 'GlobalAveragePool') return set(T_(b.mean(t, r === 3 ? [2] : [2, 3], true)));
        const ks = aints('kernel_shape') ?? [];
        const st = aints('strides') ?? ks.map(() => 1);
        const pads = aints('pads') ?? [0, 0, 0, 0];
        if (
          pads.some((q) => q !== 0) ||
          ai('ceil_mode', 0) ||
          (aints('dilations') ?? []).some((d) => d !== 1)
        ) {
          throw new AudiogenError(
            'UNSUPPORTED',
            `${op} ${node.name}: only unpadded, undilated, floor-mode pooling`,
          );
        }
        const [n, c] = t.shape as [number, number];
        const hw = r === 3 ? [1, t.shape[2]!] : [t.shape[2]!, t.shape[3]!];
        const h = b.reshape(b.transpose(t, r === 3 ? [0, 2, 1] : [0, 2, 3, 1]), [n, hw[0]!, hw[1]!, c]);
        const f: [number, number] = r === 3 ? [1, ks[0]!] : [ks[0]!, ks[1]!];
        const s2: [number, number] = r === 3 ? [1, st[0]!] : [st[0]!, st[1]!];
        const y = b.pool2d(op === 'MaxPool' ? 'MAX' : 'AVERAGE', h, {
          filter: f,
          stride: s2,
          padding: 'VALID',
        });
        const [, , ow, oc] = y.shape as [number, number, number, number];
        return set(
          T_(r === 3 ? b.transpose(b.reshape(y, [n, ow, oc]), [0, 2, 1]) : b.transpose(y, [0, 3, 1, 2])),
        );
      }
      case 'Conv':
      case 'ConvTranspose':
        return set(T_(conv(b, node, op, tens(x()), req(node.input![1], node), ins[2], a)));
      default:
        throw new AudiogenError('UNSUPPORTED_OPS', `unsupported ONNX op ${op} (node ${node.name})`);
    }
  };
  for (let ni = 0; ni < nodes.length; ni++) convertNode(nodes[ni]!, ni);

  for (const o of g.output ?? []) {
    const v = vals.get(o.name!);
    if (!v) throw bad(`graph output ${o.name} was not produced`);
    let t = tens(v);
    if (v.kind === 'c') t = b.add(t, b.scalar(0)); // outputs must be computed tensors
    b.output(t, o.name!);
  }
  opts.onProgress?.('onnx: converted', 1);
  return b.build();
}

/** Conv / ConvTranspose over NCW or NCHW input, as NHWC TFLite kernels between transposes. */
function conv(
  b: GraphBuilder,
  node: O.INodeProto,
  op: string,
  x: T,
  w: V,
  bias: V | undefined,
  a: Record<string, O.IAttributeProto>,
): T {
  if (w.kind !== 'c') throw new AudiogenError('UNSUPPORTED', `${op} ${node.name}: weights must be constant`);
  const r = x.shape.length;
  if (r !== 3 && r !== 4)
    throw new AudiogenError('UNSUPPORTED', `${op} ${node.name}: only 1-D and 2-D convolutions`);
  const ints = (k: string, d: number[]) => (a[k] ? (a[k]!.ints ?? []).map(num) : d);
  const sp = r - 2;
  const group = a.group ? num(a.group.i) : 1;
  const strides = ints('strides', new Array(sp).fill(1));
  const dil = ints('dilations', new Array(sp).fill(1));
  const pads = ints('pads', new Array(2 * sp).fill(0));
  const autoPad = a.auto_pad?.s ? new TextDecoder().decode(a.auto_pad.s) : 'NOTSET';
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID')
    throw new AudiogenError('UNSUPPORTED', `${op} ${node.name}: auto_pad ${autoPad}`);
  // To NHWC: NCW → [N,1,W,C]; NCHW → [N,H,W,C].
  const [n, c] = x.shape as [number, number];
  const hw = r === 3 ? [1, x.shape[2]!] : [x.shape[2]!, x.shape[3]!];
  let h = b.reshape(b.transpose(x, r === 3 ? [0, 2, 1] : [0, 2, 3, 1]), [n, hw[0]!, hw[1]!, c]);
  const st: [number, number] = r === 3 ? [1, strides[0]!] : [strides[0]!, strides[1]!];
  const dl: [number, number] = r === 3 ? [1, dil[0]!] : [dil[0]!, dil[1]!];
  const pb = r === 3 ? [0, pads[0]!] : [pads[0]!, pads[1]!];
  const pe = r === 3 ? [0, pads[1]!] : [pads[2]!, pads[3]!];
  const ws = w.shape;
  const k = r === 3 ? [1, ws[2]!] : [ws[2]!, ws[3]!];
  const wd = Float32Array.from(w.data);
  const biasT = bias
    ? b.f32(
        'bias',
        [prod(bias.kind === 'c' ? bias.shape : [0])],
        Float32Array.from((bias as V & { kind: 'c' }).data),
      )
    : null;
  let y: T;
  if (op === 'Conv') {
    const o = ws[0]!;
    const cpg = ws[1]!;
    // [O, C/g, kh, kw] → OHWI or depthwise [1, kh, kw, O]
    const ohwi = transposeArray(wd, [o, cpg, k[0]!, k[1]!], [0, 2, 3, 1]);
    h = b.pad(h, [
      [0, 0],
      [pb[0]!, pe[0]!],
      [pb[1]!, pe[1]!],
      [0, 0],
    ]);
    if (group === 1) {
      y = b.conv2d(h, b.f32('filter', [o, k[0]!, k[1]!, cpg], ohwi), biasT, {
        stride: st,
        dilation: dl,
        padding: 'VALID',
      });
    } else if (group === c && cpg === 1) {
      const dw = transposeArray(wd, [o, 1, k[0]!, k[1]!], [1, 2, 3, 0]);
      y = b.depthwiseConv2d(
        h,
        b.f32('filter', [1, k[0]!, k[1]!, o], dw),
        biasT ?? b.f32('zero_bias', [o], new Float32Array(o)),
        {
          stride: st,
          dilation: dl,
          padding: 'VALID',
        },
      );
    } else throw new AudiogenError('UNSUPPORTED', `Conv ${node.name}: group ${group} (only 1 or depthwise)`);
  } else {
    if (group !== 1) throw new AudiogenError('UNSUPPORTED', `ConvTranspose ${node.name}: group ${group}`);
    if (dl[0] !== 1 || dl[1] !== 1)
      throw new AudiogenError('UNSUPPORTED', `ConvTranspose ${node.name}: dilation`);
    const [ci, o] = [ws[0]!, ws[1]!];
    const ohwi = transposeArray(wd, [ci, o, k[0]!, k[1]!], [1, 2, 3, 0]);
    y = b.transposeConv(h, b.f32('filter', [o, k[0]!, k[1]!, ci], ohwi), biasT, {
      stride: st,
      padding: 'VALID',
    });
    const op_ = ints('output_padding', new Array(sp).fill(0));
    const extra = r === 3 ? [0, op_[0]!] : [op_[0]!, op_[1]!];
    const full = y.shape;
    if (extra.some((e) => e > 0))
      y = b.pad(y, [
        [0, 0],
        [0, extra[0]!],
        [0, extra[1]!],
        [0, 0],
      ]);
    const size = [
      full[0]!,
      full[1]! + extra[0]! - pb[0]! - pe[0]!,
      full[2]! + extra[1]! - pb[1]! - pe[1]!,
      full[3]!,
    ];
    y = b.slice(y, [0, pb[0]!, pb[1]!, 0], size);
  }
  const [, , ow, oc] = y.shape as [number, number, number, number];
  return r === 3 ? b.transpose(b.reshape(y, [n, ow, oc]), [0, 2, 1]) : b.transpose(y, [0, 3, 1, 2]);
}

/**
 * Two-operand Einsum without ellipsis or repeated indices in one operand, as one BATCH_MATMUL
 * between transposes/reshapes: batch indices (in both and the output), contracted (in both only),
 * and free indices of each side. Indices of one operand absent from the output are summed first.
 */
export function einsum(b: GraphBuilder, eq: string, ops: T[], name = ''): T {
  const m = /^([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]*)$/.exec(eq);
  const unsupported = () =>
    new AudiogenError('UNSUPPORTED', `Einsum ${name}: equation "${eq}" is not supported`);
  if (!m || ops.length !== 2) {
    const one = /^([a-zA-Z]+)->([a-zA-Z]*)$/.exec(eq);
    if (one && ops.length === 1) {
      const [, i, o] = one;
      const summed = [...i!].map((c, k) => (o!.includes(c) ? -1 : k)).filter((k) => k >= 0);
      const t = summed.length ? b.sum(ops[0]!, summed, false) : ops[0]!;
      const rest = [...i!].filter((c) => o!.includes(c));
      return b.transpose(
        t,
        [...o!].map((c) => rest.indexOf(c)),
      );
    }
    throw unsupported();
  }
  let [, ia, ib, io] = m as unknown as [string, string, string, string];
  if (new Set(ia).size !== ia.length || new Set(ib).size !== ib.length) throw unsupported();
  let [x, y] = ops as [T, T];
  // Sum indices that appear in one operand only and not in the output.
  const reduceLone = (t: T, idx: string, other: string): [T, string] => {
    const lone = [...idx]
      .map((c, k) => (!other.includes(c) && !io.includes(c) ? k : -1))
      .filter((k) => k >= 0);
    if (!lone.length) return [t, idx];
    return [b.sum(t, lone, false), [...idx].filter((_, k) => !lone.includes(k)).join('')];
  };
  [x, ia] = reduceLone(x, ia, ib);
  [y, ib] = reduceLone(y, ib, ia);
  const dim = (t: T, idx: string, c: string) => t.shape[idx.indexOf(c)]!;
  const batch = [...io].filter((c) => ia.includes(c) && ib.includes(c));
  const contract = [...ia].filter((c) => ib.includes(c) && !io.includes(c));
  const left = [...ia].filter((c) => !ib.includes(c));
  const right = [...ib].filter((c) => !ia.includes(c));
  const size = (t: T, idx: string, cs: string[]) => cs.reduce((p, c) => p * dim(t, idx, c), 1);
  const xt = b.transpose(
    x,
    [...batch, ...left, ...contract].map((c) => ia.indexOf(c)),
  );
  const yt = b.transpose(
    y,
    [...batch, ...contract, ...right].map((c) => ib.indexOf(c)),
  );
  const B = size(x, ia, batch);
  const x3 = b.reshape(xt, [B, size(x, ia, left), size(x, ia, contract)]);
  const y3 = b.reshape(yt, [B, size(y, ib, contract), size(y, ib, right)]);
  const z = b.batchMatmul(x3, y3);
  const zIdx = [...batch, ...left, ...right];
  const zShape = zIdx.map((c) => (ia.includes(c) ? dim(x, ia, c) : dim(y, ib, c)));
  const zr = b.reshape(z, zShape);
  if ([...io].some((c) => !zIdx.includes(c)) || zIdx.length !== io.length) throw unsupported();
  return b.transpose(
    zr,
    [...io].map((c) => zIdx.indexOf(c)),
  );
}

/** Reads an .onnx file (external data relative to it) and converts it. */
export function convertOnnxFile(path: string, opts: Omit<OnnxConvertOptions, 'baseDir'> = {}): Graph {
  // protobuf's limit: an .onnx file over 2 GiB keeps its weights as external data.
  const bytes = readInputFileSync(path, {
    what: 'ONNX model',
    maxBytes: 2 ** 31,
    tooLargeCode: 'INVALID_ONNX',
  });
  return convertOnnx(bytes, { ...opts, baseDir: join(path, '..') });
}
