/**
 * safetensors reading and writing. The reader parses and validates the header, then reads each
 * tensor from the file by offset when asked (nothing is held in memory beyond the tensor being
 * converted), so a 1.4 GB checkpoint is never resident more than once.
 *
 * Format: u64 little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}`, then the data
 * (offsets are relative to the end of the header).
 */

import { closeSync, readSync } from 'node:fs';
import {
  AudiogenError,
  bf16ToFloat,
  floatToBf16,
  floatToHalf,
  halfToFloat,
  openInputFileSync,
  writeOutput,
} from '@audiogen/core';

export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';
const DTYPE_SIZE: Record<SafetensorsDType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export interface SafetensorsEntry {
  dtype: SafetensorsDType;
  shape: number[];
  /** Byte range in the data section. */
  begin: number;
  end: number;
}

/** Anything that yields named float32 weights with shapes (a checkpoint, random weights, …). */
export interface WeightSource {
  keys(): string[];
  shape(key: string): number[] | undefined;
  /** The tensor converted to float32 (fp16/bf16/f64 decoded). */
  get(key: string): Float32Array;
}

const bad = (msg: string, details?: Record<string, unknown>) =>
  new AudiogenError('INVALID_CHECKPOINT', msg, details ? { details } : {});

const MAX_HEADER = 100 * 1024 * 1024;

export class SafetensorsFile implements WeightSource {
  private constructor(
    readonly source: string,
    readonly entries: Map<string, SafetensorsEntry>,
    readonly metadata: Record<string, string>,
    private readonly dataStart: number,
    private fd: number | null,
    private readonly bytes: Uint8Array | null,
  ) {}

  /** Opens a file (lazily read by offset) or wraps bytes already in memory. */
  static open(pathOrBytes: string | Uint8Array): SafetensorsFile {
    if (typeof pathOrBytes !== 'string') {
      const { entries, metadata, dataStart } = parseHeader(pathOrBytes, pathOrBytes.byteLength, '<bytes>');
      return new SafetensorsFile('<bytes>', entries, metadata, dataStart, null, pathOrBytes);
    }
    // A regular file (a directory, FIFO or device is refused with a typed error before any read).
    const { fd, size } = openInputFileSync(pathOrBytes, {
      what: 'checkpoint',
      maxBytes: Number.MAX_SAFE_INTEGER,
    });
    try {
      if (size < 8) throw bad(`${pathOrBytes}: file of ${size} bytes is too small for safetensors`);
      const lenBuf = new Uint8Array(8);
      readSync(fd, lenBuf, 0, 8, 0);
      const n = Number(new DataView(lenBuf.buffer).getBigUint64(0, true));
      if (n > MAX_HEADER || n + 8 > size) {
        throw bad(`${pathOrBytes}: header length ${n} is invalid for a file of ${size} bytes`);
      }
      const head = new Uint8Array(8 + n);
      readSync(fd, head, 0, 8 + n, 0);
      const { entries, metadata, dataStart } = parseHeader(head, size, pathOrBytes);
      return new SafetensorsFile(pathOrBytes, entries, metadata, dataStart, fd, null);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  shape(key: string): number[] | undefined {
    return this.entries.get(key)?.shape;
  }

  /** Raw little-endian bytes of a tensor. */
  raw(key: string): Uint8Array {
    const e = this.entries.get(key);
    if (!e) throw new AudiogenError('NOT_FOUND', `tensor ${key} is not in ${this.source}`);
    const len = e.end - e.begin;
    if (this.bytes) return this.bytes.slice(this.dataStart + e.begin, this.dataStart + e.end);
    if (this.fd === null) throw new AudiogenError('DISPOSED', `${this.source} is closed`);
    const out = new Uint8Array(len);
    let off = 0;
    while (off < len) {
      const r = readSync(this.fd, out, off, Math.min(len - off, 1 << 30), this.dataStart + e.begin + off);
      if (r <= 0) throw bad(`${this.source}: unexpected end of file reading ${key}`);
      off += r;
    }
    return out;
  }

  get(key: string): Float32Array {
    const e = this.entries.get(key);
    if (!e) throw new AudiogenError('NOT_FOUND', `tensor ${key} is not in ${this.source}`);
    const b = this.raw(key);
    const n = b.byteLength / DTYPE_SIZE[e.dtype];
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    switch (e.dtype) {
      case 'F32':
        return new Float32Array(b.buffer, b.byteOffset, n);
      case 'F16': {
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
        return out;
      }
      case 'BF16': {
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = bf16ToFloat(dv.getUint16(2 * i, true));
        return out;
      }
      case 'F64': {
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
        return out;
      }
      default:
        throw new AudiogenError(
          'UNSUPPORTED',
          `tensor ${key} has dtype ${e.dtype}; a float tensor is needed`,
        );
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

function parseHeader(
  head: Uint8Array,
  fileSize: number,
  name: string,
): { entries: Map<string, SafetensorsEntry>; metadata: Record<string, string>; dataStart: number } {
  if (head.byteLength < 8) throw bad(`${name}: too small for safetensors`);
  const n = Number(new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true));
  if (n > MAX_HEADER || 8 + n > fileSize || 8 + n > head.byteLength) {
    throw bad(`${name}: header length ${n} is invalid for ${fileSize} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(8, 8 + n)));
  } catch (e) {
    throw bad(`${name}: header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw bad(`${name}: header is not an object`);
  const dataStart = 8 + n;
  const dataSize = fileSize - dataStart;
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  const problems: string[] = [];
  for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
    if (k === '__metadata__') {
      if (typeof v !== 'object' || v === null || Object.values(v).some((x) => typeof x !== 'string')) {
        problems.push('__metadata__ must map strings to strings');
      } else metadata = v as Record<string, string>;
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) {
      problems.push(`${k}: entry is not an object`);
      continue;
    }
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_SIZE)) {
      problems.push(`${k}: unsupported dtype ${String(e.dtype)}`);
      continue;
    }
    const shape = e.shape;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      problems.push(`${k}: invalid shape ${JSON.stringify(shape)}`);
      continue;
    }
    const off = e.data_offsets;
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !Number.isSafeInteger(off[0]) ||
      !Number.isSafeInteger(off[1]) ||
      off[0] < 0 ||
      off[1] < off[0]
    ) {
      problems.push(`${k}: invalid data_offsets ${JSON.stringify(off)}`);
      continue;
    }
    const dtype = e.dtype as SafetensorsDType;
    const need = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_SIZE[dtype];
    if (off[1] - off[0] !== need) {
      problems.push(
        `${k}: ${off[1] - off[0]} bytes but shape ${JSON.stringify(shape)} of ${dtype} needs ${need}`,
      );
      continue;
    }
    if (off[1] > dataSize) {
      problems.push(`${k}: data ends at ${off[1]} beyond the ${dataSize} data bytes (truncated file?)`);
      continue;
    }
    entries.set(k, { dtype, shape: shape as number[], begin: off[0], end: off[1] });
  }
  // Overlapping ranges are invalid.
  const sorted = [...entries.entries()].sort((a, b) => a[1].begin - b[1].begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]![1].begin < sorted[i - 1]![1].end) {
      problems.push(`${sorted[i]![0]} overlaps ${sorted[i - 1]![0]}`);
    }
  }
  if (problems.length) {
    throw bad(`${name}: invalid safetensors header:\n  ${problems.slice(0, 50).join('\n  ')}`, { problems });
  }
  return { entries, metadata, dataStart };
}

/** Opens a .safetensors file (or bytes) and validates its header. */
export function readSafetensors(pathOrBytes: string | Uint8Array): SafetensorsFile {
  return SafetensorsFile.open(pathOrBytes);
}

export interface SafetensorsTensorInput {
  dtype?: 'F32' | 'F16' | 'BF16';
  shape: readonly number[];
  /** float32 values (converted to dtype), or a function producing them (called once, while writing). */
  data: Float32Array | (() => Float32Array);
}

function encode(dtype: 'F32' | 'F16' | 'BF16', d: Float32Array): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  const out = new Uint16Array(d.length);
  const f = dtype === 'F16' ? floatToHalf : floatToBf16;
  for (let i = 0; i < d.length; i++) out[i] = f(d[i]!);
  return new Uint8Array(out.buffer);
}

/** Builds the header bytes (padded with spaces to a multiple of 8) for the given tensors, in order. */
function header(
  tensors: [string, SafetensorsTensorInput][],
  metadata?: Record<string, string>,
): { head: Uint8Array; sizes: number[] } {
  const obj: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) obj.__metadata__ = metadata;
  let off = 0;
  const sizes: number[] = [];
  for (const [k, t] of tensors) {
    const dtype = t.dtype ?? 'F32';
    const size = t.shape.reduce((a, b) => a * b, 1) * DTYPE_SIZE[dtype];
    obj[k] = { dtype, shape: [...t.shape], data_offsets: [off, off + size] };
    sizes.push(size);
    off += size;
  }
  let json = JSON.stringify(obj);
  while ((json.length + 8) % 8 !== 0) json += ' ';
  const body = new TextEncoder().encode(json);
  const head = new Uint8Array(8 + body.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(body.length), true);
  head.set(body, 8);
  return { head, sizes };
}

/** Serialises tensors to safetensors bytes in memory (small models and tests). */
export function encodeSafetensors(
  tensors: Record<string, SafetensorsTensorInput>,
  metadata?: Record<string, string>,
): Uint8Array {
  const list = Object.entries(tensors);
  const { head, sizes } = header(list, metadata);
  const out = new Uint8Array(head.length + sizes.reduce((a, b) => a + b, 0));
  out.set(head, 0);
  let off = head.length;
  list.forEach(([k, t], i) => {
    const d = typeof t.data === 'function' ? t.data() : t.data;
    const b = encode(t.dtype ?? 'F32', d);
    if (b.byteLength !== sizes[i])
      throw new AudiogenError('INVALID_ARGUMENT', `tensor ${k}: data does not fit its shape`);
    out.set(b, off);
    off += b.byteLength;
  });
  return out;
}

/** Writes a .safetensors file atomically, streaming one tensor at a time. */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, SafetensorsTensorInput>,
  metadata?: Record<string, string>,
): Promise<void> {
  const list = Object.entries(tensors);
  const { head, sizes } = header(list, metadata);
  // One tensor in memory at a time, straight into the output layer's sink.
  await writeOutput(path, async (sink) => {
    await sink.write(head);
    for (let i = 0; i < list.length; i++) {
      const [k, t] = list[i]!;
      const d = typeof t.data === 'function' ? t.data() : t.data;
      const b = encode(t.dtype ?? 'F32', d);
      if (b.byteLength !== sizes[i]) {
        throw new AudiogenError(
          'INVALID_ARGUMENT',
          `tensor ${k}: data does not fit shape [${t.shape.join(',')}]`,
        );
      }
      await sink.write(b);
    }
  });
}
