import { closeSync, readSync } from 'node:fs';
import { openInputFileSync } from '@audiogen/core';
import { ByteBuffer } from 'flatbuffers';

/**
 * Random access to the bytes of a .tflite file. The decoder checks bounds before every read, so
 * implementations may assume `offset + size <= length`.
 */
export interface ByteSource {
  readonly length: number;
  u8(o: number): number;
  i8(o: number): number;
  u16(o: number): number;
  i16(o: number): number;
  i32(o: number): number;
  u32(o: number): number;
  i64(o: number): bigint;
  u64(o: number): bigint;
  f32(o: number): number;
  f64(o: number): number;
  /** The bytes [o, o+n): a view when possible, else a copy. */
  bytes(o: number, n: number): Uint8Array;
  /** True when `bytes` returns views (no allocation): lets the decoder skip copies it does not need. */
  readonly zeroCopy: boolean;
}

/** Bytes in memory, read with the official flatbuffers ByteBuffer. */
export class MemorySource implements ByteSource {
  readonly length: number;
  readonly zeroCopy = true;
  private readonly bb: ByteBuffer;
  constructor(private readonly data: Uint8Array) {
    this.length = data.length;
    this.bb = new ByteBuffer(data);
  }
  u8(o: number) {
    return this.bb.readUint8(o);
  }
  i8(o: number) {
    return this.bb.readInt8(o);
  }
  u16(o: number) {
    return this.bb.readUint16(o);
  }
  i16(o: number) {
    return this.bb.readInt16(o);
  }
  i32(o: number) {
    return this.bb.readInt32(o);
  }
  u32(o: number) {
    return this.bb.readUint32(o);
  }
  i64(o: number) {
    return this.bb.readInt64(o);
  }
  u64(o: number) {
    return this.bb.readUint64(o);
  }
  f32(o: number) {
    return this.bb.readFloat32(o);
  }
  f64(o: number) {
    return this.bb.readFloat64(o);
  }
  bytes(o: number, n: number) {
    return this.data.subarray(o, o + n);
  }
}

const PAGE = 1 << 20;

/**
 * A file read on demand in 1 MiB pages (a small cache), so a multi-GB model can be verified
 * without being loaded: only the flatbuffer's tables are touched, never the constant data.
 */
export class FileSource implements ByteSource {
  readonly length: number;
  readonly zeroCopy = false;
  private readonly fd: number;
  private readonly pages = new Map<number, Uint8Array>();
  private readonly scratch = new DataView(new ArrayBuffer(8));
  private readonly scratchBytes = new Uint8Array(this.scratch.buffer);

  constructor(path: string) {
    const { fd, size } = openInputFileSync(path, { what: '.tflite file', maxBytes: Number.MAX_SAFE_INTEGER });
    this.fd = fd;
    this.length = size;
  }

  close(): void {
    closeSync(this.fd);
    this.pages.clear();
  }

  private page(p: number): Uint8Array {
    let b = this.pages.get(p);
    if (b) return b;
    if (this.pages.size >= 64) {
      const first = this.pages.keys().next().value as number;
      this.pages.delete(first);
    }
    const start = p * PAGE;
    const n = Math.min(PAGE, this.length - start);
    b = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const r = readSync(this.fd, b, got, n - got, start + got);
      if (r <= 0) break;
      got += r;
    }
    this.pages.set(p, b);
    return b;
  }

  /** Copies n (<= 8) bytes at o into the scratch view. */
  private load(o: number, n: number): DataView {
    for (let i = 0; i < n; i++) {
      const q = o + i;
      this.scratchBytes[i] = this.page(Math.floor(q / PAGE))[q % PAGE] ?? 0;
    }
    return this.scratch;
  }

  u8(o: number) {
    return this.page(Math.floor(o / PAGE))[o % PAGE] ?? 0;
  }
  i8(o: number) {
    return (this.u8(o) << 24) >> 24;
  }
  u16(o: number) {
    return this.load(o, 2).getUint16(0, true);
  }
  i16(o: number) {
    return this.load(o, 2).getInt16(0, true);
  }
  i32(o: number) {
    return this.load(o, 4).getInt32(0, true);
  }
  u32(o: number) {
    return this.load(o, 4).getUint32(0, true);
  }
  i64(o: number) {
    return this.load(o, 8).getBigInt64(0, true);
  }
  u64(o: number) {
    return this.load(o, 8).getBigUint64(0, true);
  }
  f32(o: number) {
    return this.load(o, 4).getFloat32(0, true);
  }
  f64(o: number) {
    return this.load(o, 8).getFloat64(0, true);
  }
  bytes(o: number, n: number) {
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const q = o + done;
      const pg = this.page(Math.floor(q / PAGE));
      const off = q % PAGE;
      const take = Math.min(n - done, pg.length - off);
      if (take <= 0) break;
      out.set(pg.subarray(off, off + take), done);
      done += take;
    }
    return out;
  }
}
