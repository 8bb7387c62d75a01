import { closeSync, openSync, readSync } from 'node:fs';
import { AudiogenError, halfToFloat } from '@audiogen/core';
import {
  type Graph,
  readTflite,
  readTfliteStructure,
  verifyTflite,
  writeTfliteAppendix,
} from '@audiogen/core/tflite';
import { ADD_SNAKE_OP, fuseSnakes, SNAKE_OP } from './fuse';

/** A constant quantized tensor whose scales XNNPACK refuses (zero, negative or not finite). */
export interface ScaleProblem {
  subgraph: number;
  tensor: number;
  name: string;
  kind: 'blockwise' | 'per-channel';
  /** Scales that are 0 (e.g. an all-zero block whose fp16 scale is 0). */
  zero: number;
  /** Scales that are negative, NaN or infinite. */
  invalid: number;
  total: number;
}

/** Facts our bounded scan of a .tflite flatbuffer collects (used for errors and open dimensions). */
export interface TfliteScan {
  /** Custom op names (OperatorCode.custom_code) the model uses. */
  customOps: string[];
  /** Effective builtin operator codes used. */
  builtinCodes: number[];
  /** `<signature key>/<input name>` → shape_signature, for signature inputs that have a -1 in it. */
  openDims: Map<string, number[]>;
  /**
   * Byte ranges of the file, as [offset, size, offset, size, …], that hold constant weights consumed only
   * as the weights or bias of ops XNNPACK packs into its own memory at compile (see `packedWeightRanges`).
   */
  packedWeights?: number[];
  /**
   * Finds quantized constants whose scales XNNPACK refuses. Only called to explain a failed load: it
   * reads the (small) scale tensors, never the weights.
   */
  scaleProblems?: () => ScaleProblem[];
  /**
   * Files read as structure (`verifyModelFile`): the model with its Snake activations fused (see
   * `fuseSnakes`) as tables to append to the file of `fileLength` bytes (`writeTfliteAppendix`), or null
   * when it has none.
   */
  snakeAppendix?: (fileLength: number) => SnakeAppendix | null;
}

/** Where to write the fused model's tables into the file and how many Snakes it fused. */
export interface SnakeAppendix {
  at: number;
  bytes: Uint8Array;
  root: number;
  fused: number;
}

const QUANTIZED_TYPES = new Set(['INT4', 'INT8', 'UINT8', 'INT16']);

/**
 * Quantized constants of `graph` whose scales are 0, negative or not finite (XNNPACK refuses them):
 * per-channel scales come from the tables, blockwise/multi-axis scale tensors from
 * `constant(subgraph, tensor)` (their bytes, undefined if unavailable); `isConstant` tells which
 * tensors are constants (activations are not checked).
 */
export function findScaleProblems(
  graph: Graph,
  isConstant: (subgraph: number, tensor: number) => boolean,
  constant: (subgraph: number, tensor: number) => Uint8Array | undefined,
): ScaleProblem[] {
  const out: ScaleProblem[] = [];
  graph.subgraphs.forEach((sg, si) => {
    sg.tensors.forEach((t, ti) => {
      const q = t.quantization;
      if (!q || !QUANTIZED_TYPES.has(t.type) || !isConstant(si, ti)) return;
      let zero = 0;
      let invalid = 0;
      let total = 0;
      const count = (x: number) => {
        total++;
        if (x === 0) zero++;
        else if (!(x > 0 && x < Number.POSITIVE_INFINITY)) invalid++;
      };
      const det = q.details;
      let kind: ScaleProblem['kind'] = 'per-channel';
      if (det && det.type !== 'CustomQuantization') {
        kind = 'blockwise';
        const st = sg.tensors[det.scales];
        const bytes = constant(si, det.scales);
        if (!st || !bytes) return;
        const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        if (st.type === 'FLOAT16') {
          for (let i = 0; i + 2 <= bytes.length; i += 2) count(halfToFloat(v.getUint16(i, true)));
        } else if (st.type === 'FLOAT32') {
          for (let i = 0; i + 4 <= bytes.length; i += 4) count(v.getFloat32(i, true));
        }
      } else if (q.scale) {
        for (const x of q.scale) count(x);
      }
      if (zero || invalid) out.push({ subgraph: si, tensor: ti, name: t.name, kind, zero, invalid, total });
    });
  });
  return out;
}

function invalid(message: string): AudiogenError {
  return new AudiogenError('INVALID_TFLITE', message);
}

// The inputs of the ops whose constant weights and bias XNNPACK copies into its own packed layout when it
// compiles them (FC, convolutions; TRANSPOSE_CONV's input 0 is the output shape, 2 the activation).
const PACKED_INPUTS: Record<string, readonly number[]> = {
  FULLY_CONNECTED: [1, 2],
  CONV_2D: [1, 2],
  DEPTHWISE_CONV_2D: [1, 2],
  TRANSPOSE_CONV: [1, 3],
};
const PACKED_TYPES = new Set(['FLOAT32', 'INT8', 'INT4', 'UINT8', 'INT32']);

/**
 * The constant buffers that only packing ops read: every tensor over the buffer (in every subgraph) is
 * consumed by at least one op and only at a weight/bias input of FC/CONV_2D/DEPTHWISE_CONV_2D/TRANSPOSE_CONV,
 * is not a graph input/output, variable or sparse, and has a plain type. Once XNNPACK has packed such a
 * node, nothing reads that buffer again. `where(b)` gives buffer b's [offset, size] in the file.
 * Returns [offset, size, …].
 */
export function packedWeightRanges(
  graph: Graph,
  bufferOf: (subgraph: number, tensor: number) => number,
  where: (buffer: number) => [number, number] | undefined,
): number[] {
  const ok = new Map<number, boolean>();
  graph.subgraphs.forEach((sg, si) => {
    const uses = new Map<number, boolean>(); // tensor -> consumed only at packed inputs (so far)
    for (const op of sg.operators) {
      const packed = PACKED_INPUTS[op.op];
      op.inputs.forEach((t, pos) => {
        if (t < 0) return;
        uses.set(t, (uses.get(t) ?? true) && packed !== undefined && packed.includes(pos));
      });
      for (const t of [...op.outputs, ...(op.intermediates ?? [])]) uses.set(t, false);
    }
    for (const t of [...sg.inputs, ...sg.outputs]) uses.set(t, false);
    sg.tensors.forEach((t, ti) => {
      const b = bufferOf(si, ti);
      if (!(b > 0) || !where(b)) return;
      const good =
        uses.get(ti) === true && PACKED_TYPES.has(t.type) && !t.is_variable && t.sparsity === undefined;
      ok.set(b, (ok.get(b) ?? true) && good);
    });
  });
  const out: number[] = [];
  for (const [b, good] of ok) {
    const r = where(b);
    if (good && r && r[1] > 0) out.push(r[0], r[1]);
  }
  return out;
}

/**
 * A bounded, never-trusting walk over the parts of a .tflite flatbuffer we need: identifier, root table,
 * operator codes and subgraph-0 tensors. Every offset is range-checked (throws INVALID_TFLITE), so a
 * malformed file is refused here before LiteRT parses it.
 */
export function scanTflite(bytes: Uint8Array): TfliteScan {
  try {
    return scanUnsafe(bytes);
  } catch (e) {
    if (e instanceof AudiogenError) throw e;
    throw invalid(`malformed flatbuffer: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function scanUnsafe(bytes: Uint8Array): TfliteScan {
  if (bytes.length < 16) throw invalid(`file is too small to be a .tflite model (${bytes.length} bytes)`);
  const ident = String.fromCharCode(bytes[4]!, bytes[5]!, bytes[6]!, bytes[7]!);
  if (ident !== 'TFL3') throw invalid(`missing TFL3 file identifier (found ${JSON.stringify(ident)})`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length;
  const u32 = (p: number) => {
    if (p < 0 || p + 4 > n) throw invalid(`offset ${p} out of range`);
    return v.getUint32(p, true);
  };
  const i32 = (p: number) => {
    if (p < 0 || p + 4 > n) throw invalid(`offset ${p} out of range`);
    return v.getInt32(p, true);
  };
  const u16 = (p: number) => {
    if (p < 0 || p + 2 > n) throw invalid(`offset ${p} out of range`);
    return v.getUint16(p, true);
  };
  const field = (table: number, id: number): number => {
    const vt = table - i32(table);
    const vtSize = u16(vt);
    if (vtSize < 4 || vt + vtSize > n) throw invalid(`bad vtable at ${vt}`);
    if (4 + 2 * id >= vtSize) return 0;
    const off = u16(vt + 4 + 2 * id);
    return off === 0 ? 0 : table + off;
  };
  const deref = (p: number) => {
    const t = p + u32(p);
    if (t >= n) throw invalid(`reference at ${p} points outside the file`);
    return t;
  };
  const vector = (p: number, elem: number): [number, number] => {
    const start = deref(p);
    const len = u32(start);
    if (start + 4 + len * elem > n)
      throw invalid(`vector at ${start} (${len} elements) runs past the end of the file`);
    return [start + 4, len];
  };
  const str = (p: number): string => {
    const [s, len] = vector(p, 1);
    return new TextDecoder().decode(bytes.subarray(s, s + len));
  };

  const root = u32(0);
  if (root + 4 > n) throw invalid('root table offset is outside the file');
  const scan: TfliteScan = { customOps: [], builtinCodes: [], openDims: new Map() };
  const codesField = field(root, 1);
  if (codesField) {
    const [s, len] = vector(codesField, 4);
    for (let i = 0; i < len; i++) {
      const oc = deref(s + 4 * i);
      const depF = field(oc, 0);
      if (depF >= n) throw invalid(`offset ${depF} out of range`);
      const dep = depF ? v.getInt8(depF) : 0;
      const bF = field(oc, 3);
      const code = Math.max(dep, bF ? i32(bF) : 0);
      scan.builtinCodes.push(code);
      const cF = field(oc, 1);
      if (code === 32 && cF) scan.customOps.push(str(cF));
    }
  }
  const sgField = field(root, 2);
  if (!sgField) throw invalid('model has no subgraphs');
  const [sgs, sgLen] = vector(sgField, 4);
  if (sgLen === 0) throw invalid('model has no subgraphs');
  const shapeSignature = (subgraph: number, tensorIndex: number): number[] | undefined => {
    if (subgraph >= sgLen) throw invalid(`signature refers to subgraph ${subgraph} of ${sgLen}`);
    const sg = deref(sgs + 4 * subgraph);
    const tField = field(sg, 0);
    if (!tField) return undefined;
    const [ts, tLen] = vector(tField, 4);
    if (tensorIndex >= tLen) throw invalid(`signature refers to tensor ${tensorIndex} of ${tLen}`);
    const sigF = field(deref(ts + 4 * tensorIndex), 7);
    if (!sigF) return undefined;
    const [ss, sLen] = vector(sigF, 4);
    const dims: number[] = [];
    for (let k = 0; k < sLen; k++) dims.push(i32(ss + 4 * k));
    return dims;
  };
  const sdField = field(root, 7);
  if (sdField) {
    const [ds, dLen] = vector(sdField, 4);
    for (let i = 0; i < dLen; i++) {
      const sd = deref(ds + 4 * i);
      const keyF = field(sd, 2);
      const key = keyF ? str(keyF) : '';
      const sgF = field(sd, 4);
      const sub = sgF ? u32(sgF) : 0;
      const inF = field(sd, 0);
      if (!inF) continue;
      const [ins, inLen] = vector(inF, 4);
      for (let k = 0; k < inLen; k++) {
        const tm = deref(ins + 4 * k);
        const nameF = field(tm, 0);
        const idxF = field(tm, 1);
        if (!nameF) continue;
        const dims = shapeSignature(sub, idxF ? u32(idxF) : 0); // tensor_index 0 is the default, often omitted
        if (dims?.some((d) => d < 0)) scan.openDims.set(`${key}/${str(nameF)}`, dims);
      }
    }
  }
  return scan;
}

/** Verifies bytes with core's full verifier, then runs our own bounded scan. */
export function verifyModelBytes(bytes: Uint8Array): TfliteScan {
  verifyTflite(bytes);
  const scan = scanTflite(bytes);
  scan.scaleProblems = () => {
    const g = readTflite(bytes); // constant data are views into `bytes`, nothing is copied
    const data = (si: number, ti: number) => g.subgraphs[si]?.tensors[ti]?.data;
    return findScaleProblems(g, (si, ti) => (data(si, ti)?.length ?? 0) > 0, data);
  };
  return scan;
}

/** The scan facts, from a graph core has decoded (and thereby verified). */
export function scanFromGraph(graph: Graph): TfliteScan {
  const scan: TfliteScan = { customOps: [], builtinCodes: [], openDims: new Map() };
  const codes = new Set<number>();
  const custom = new Set<string>();
  for (const sg of graph.subgraphs) {
    for (const op of sg.operators) {
      codes.add(op.builtin_code);
      if (op.builtin_code === 32 && op.custom_code) custom.add(op.custom_code);
    }
  }
  scan.builtinCodes = [...codes];
  scan.customOps = [...custom];
  for (const sig of graph.signatures) {
    const sg = graph.subgraphs[sig.subgraph_index];
    for (const t of sig.inputs) {
      const dims = sg?.tensors[t.tensor_index]?.shape_signature;
      if (dims?.some((d) => d < 0)) scan.openDims.set(`${sig.signature_key}/${t.name}`, [...dims]);
    }
  }
  return scan;
}

/**
 * Verifies a model file on disk with core's verifier without loading its constant data (tables only),
 * so multi-GB models are checked cheaply; LiteRT then maps the file itself.
 */
export function verifyModelFile(path: string): TfliteScan {
  const { graph, layout } = readTfliteStructure(path);
  const scan = scanFromGraph(graph);
  const bufferOf = (si: number, ti: number) => layout.tensorBuffers[si]?.[ti] ?? 0;
  // Where buffer b's bytes are in the file; undefined when it has none.
  const region = (b: number) => {
    const size = layout.bufferSizes[b] ?? 0;
    return size > 0 ? { offset: layout.bufferOffsets[b] ?? 0, size } : undefined;
  };
  const ref = (si: number, ti: number) => region(bufferOf(si, ti));
  // Reads a few constants' bytes (at their offsets) with one descriptor; undefined where the file is short.
  const withReader = <R>(
    use: (read: (r: { offset: number; size: number }) => Uint8Array | undefined) => R,
  ): R => {
    let fd: number | undefined;
    try {
      return use((r) => {
        fd ??= openSync(path, 'r');
        const b = new Uint8Array(r.size);
        return readSync(fd, b, 0, r.size, r.offset) === r.size ? b : undefined;
      });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  };
  scan.snakeAppendix = (fileLength) => {
    // Tables past 2 GiB are beyond what flatbuffer verifiers accept: a file that large keeps its five ops.
    if (fileLength > 2 ** 31 - 2 ** 26) return null;
    const fusion = fuseSnakes(graph, (si, ti) => ref(si, ti) !== undefined);
    if (!fusion) return null;
    // The kernel's alpha/inv_beta are copied next to the new tables: LiteRT hands custom ops host memory
    // only at 64-byte-aligned addresses, and constants in a .tflite are aligned to 16 at best.
    return withReader((read) => {
      const subgraphs = [];
      for (const [si, sg] of fusion.graph.subgraphs.entries()) {
        const tensors = [...sg.tensors];
        for (const op of sg.operators) {
          const constants = op.custom_code === SNAKE_OP ? 1 : op.custom_code === ADD_SNAKE_OP ? 2 : -1;
          if (constants < 0) continue;
          for (const t of op.inputs.slice(constants)) {
            const r = ref(si, t);
            const tensor = tensors[t];
            if (!r || !tensor || tensor.data) continue;
            const data = read(r);
            if (!data) return null; // the file shrank since its tables were read: nothing fused
            tensors[t] = { ...tensor, data };
          }
        }
        subgraphs.push({ ...sg, tensors });
      }
      const fused = { ...fusion.graph, subgraphs };
      return { ...writeTfliteAppendix(fused, ref, fileLength), fused: fusion.fused };
    });
  };
  scan.packedWeights = packedWeightRanges(graph, bufferOf, (b) => {
    const r = region(b);
    return r ? [r.offset, r.size] : undefined;
  });
  // Reads only the scale tensors' bytes (at their offsets), never the weights.
  scan.scaleProblems = () =>
    withReader((read) =>
      findScaleProblems(
        graph,
        (si, ti) => ref(si, ti) !== undefined,
        (si, ti) => {
          const r = ref(si, ti);
          return r && r.size <= 1 << 28 ? read(r) : undefined;
        },
      ),
    );
  return scan;
}
