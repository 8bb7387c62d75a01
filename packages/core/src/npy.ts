import { inflateRawSync } from 'node:zlib';
import { AudiogenError } from './errors';
import { type DType, shapeSize, type Tensor, tensor } from './tensor';

/**
 * NumPy .npy (format 1.0/2.0/3.0) and .npz reading/writing, validated.
 * Little-endian, C-order only; dtypes: f2 f4 f8 i1 u1 i2 u2 i4 u4 i8 u8 b1 (float16 as raw bits).
 */

const DESCR_TO_DTYPE: Record<string, DType> = {
  '<f4': 'float32',
  '<f2': 'float16',
  '<f8': 'float64',
  '|i1': 'int8',
  '|u1': 'uint8',
  '<i2': 'int16',
  '<u2': 'uint16',
  '<i4': 'int32',
  '<u4': 'uint32',
  '<i8': 'int64',
  '<u8': 'uint64',
  '|b1': 'bool',
};
const DTYPE_TO_DESCR: Partial<Record<DType, string>> = Object.fromEntries(
  Object.entries(DESCR_TO_DTYPE).map(([k, v]) => [v, k]),
);

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

function bad(message: string, details: Record<string, unknown> = {}): AudiogenError {
  return new AudiogenError('INVALID_NPY', message, { details });
}

function parseHeader(text: string): { descr: string; fortran: boolean; shape: number[] } {
  const t = text.trim();
  if (!t.startsWith('{') || !t.endsWith('}')) throw bad(`npy header is not a dict: ${t.slice(0, 80)}`);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(t);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(t);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(t);
  if (!descr || !fortran || !shape)
    throw bad(`npy header lacks descr/fortran_order/shape: ${t.slice(0, 120)}`);
  const dims = shape[1]!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      if (!/^\d+L?$/.test(s)) throw bad(`bad dimension '${s}' in npy shape`);
      return Number.parseInt(s, 10);
    });
  return { descr: descr[1]!, fortran: fortran[1] === 'True', shape: dims };
}

/** Parses a .npy file. The returned tensor owns a copy of the data (aligned for its typed array). */
export function readNpy(bytes: Uint8Array): Tensor {
  if (!(bytes instanceof Uint8Array))
    throw new AudiogenError('INVALID_ARGUMENT', 'readNpy expects a Uint8Array');
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) throw bad('not a .npy file (bad magic)');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw bad('truncated .npy header');
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    throw bad(`unsupported .npy format version ${major}`);
  }
  if (start + headerLen > bytes.length) throw bad('truncated .npy header', { headerLen, size: bytes.length });
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(start, start + headerLen),
  );
  const { descr, fortran, shape } = parseHeader(header);
  const dtype = DESCR_TO_DTYPE[descr];
  if (!dtype) throw bad(`unsupported npy dtype '${descr}' (little-endian numeric only)`, { descr });
  const n = shapeSize(shape);
  if (fortran && shape.filter((d) => d > 1).length > 1)
    throw bad('Fortran-order .npy arrays are not supported');
  const width = DESCR_TO_BYTES[descr]!;
  const dataStart = start + headerLen;
  const need = n * width;
  if (bytes.length - dataStart !== need) {
    throw bad(
      `.npy data has ${bytes.length - dataStart} bytes, shape [${shape.join(', ')}] of ${descr} needs ${need}`,
      {
        shape,
        descr,
      },
    );
  }
  const copy = new Uint8Array(need);
  copy.set(bytes.subarray(dataStart, dataStart + need));
  return tensor(dtype, shape, makeView(dtype, copy.buffer, n) as never);
}

const DESCR_TO_BYTES: Record<string, number> = {
  '<f4': 4,
  '<f2': 2,
  '<f8': 8,
  '|i1': 1,
  '|u1': 1,
  '<i2': 2,
  '<u2': 2,
  '<i4': 4,
  '<u4': 4,
  '<i8': 8,
  '<u8': 8,
  '|b1': 1,
};

function makeView(dtype: DType, buf: ArrayBuffer, n: number) {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf, 0, n);
    case 'float64':
      return new Float64Array(buf, 0, n);
    case 'float16':
    case 'uint16':
      return new Uint16Array(buf, 0, n);
    case 'int8':
      return new Int8Array(buf, 0, n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buf, 0, n);
    case 'int16':
      return new Int16Array(buf, 0, n);
    case 'int32':
      return new Int32Array(buf, 0, n);
    case 'uint32':
      return new Uint32Array(buf, 0, n);
    case 'int64':
      return new BigInt64Array(buf, 0, n);
    case 'uint64':
      return new BigUint64Array(buf, 0, n);
    default:
      throw bad(`dtype ${dtype} cannot be stored in .npy`);
  }
}

/** Serialises a tensor as .npy version 1.0 (header padded to a multiple of 64 bytes, as numpy does). */
export function writeNpy(t: Tensor): Uint8Array {
  const descr = DTYPE_TO_DESCR[t.dtype];
  if (!descr) throw new AudiogenError('UNSUPPORTED', `dtype ${t.dtype} cannot be stored in .npy`);
  const n = shapeSize(t.shape);
  const data = t.data as unknown as ArrayLike<unknown> & ArrayBufferView;
  if (data.length !== n) {
    throw new AudiogenError('INVALID_ARGUMENT', `tensor data has ${data.length} elements, shape needs ${n}`);
  }
  const shapeText = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += `${' '.repeat((64 - (total % 64)) % 64)}\n`;
  if (header.length > 0xffff) throw new AudiogenError('UNSUPPORTED', 'npy header too long');
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

// ------------------------------------------------------------------ npz (zip of .npy files)

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Reads an .npz archive (stored or deflated members) into named tensors. */
export function readNpz(bytes: Uint8Array): Record<string, Tensor> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw bad('not an .npz (zip) file: no end-of-central-directory record');
  const count = view.getUint16(eocd + 10, true);
  let p = view.getUint32(eocd + 16, true);
  const out: Record<string, Tensor> = {};
  for (let k = 0; k < count; k++) {
    if (p + 46 > bytes.length || view.getUint32(p, true) !== 0x02014b50)
      throw bad('corrupt .npz central directory');
    const method = view.getUint16(p + 10, true);
    const crc = view.getUint32(p + 16, true);
    const csize = view.getUint32(p + 20, true);
    const usize = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const local = view.getUint32(p + 42, true);
    if (csize === 0xffffffff || usize === 0xffffffff) throw bad('zip64 .npz members are not supported');
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    p += 46 + nameLen + extraLen + commentLen;
    if (local + 30 > bytes.length || view.getUint32(local, true) !== 0x04034b50)
      throw bad(`corrupt .npz member ${name}`);
    const dataStart = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (dataStart + csize > bytes.length) throw bad(`truncated .npz member ${name}`);
    const raw = bytes.subarray(dataStart, dataStart + csize);
    let data: Uint8Array;
    if (method === 0) data = raw;
    else if (method === 8) {
      try {
        data = new Uint8Array(inflateRawSync(raw));
      } catch (e) {
        throw bad(`cannot inflate .npz member ${name}`, { cause: String(e) });
      }
    } else throw bad(`unsupported zip compression method ${method} in .npz member ${name}`);
    if (data.length !== usize || crc32(data) !== crc)
      throw bad(`.npz member ${name} fails its size/CRC check`);
    out[name.replace(/\.npy$/, '')] = readNpy(data);
  }
  return out;
}

/** Writes named tensors as an uncompressed .npz archive (what numpy.savez writes). */
export function writeNpz(tensors: Readonly<Record<string, Tensor>>): Uint8Array {
  const files = Object.entries(tensors).map(([name, t]) => {
    const data = writeNpy(t);
    return { name: new TextEncoder().encode(`${name}.npy`), data, crc: crc32(data) };
  });
  const localSize = files.reduce((s, f) => s + 30 + f.name.length + f.data.length, 0);
  const centralSize = files.reduce((s, f) => s + 46 + f.name.length, 0);
  if (localSize + centralSize > 0xffffffff) throw new AudiogenError('UNSUPPORTED', '.npz larger than 4 GB');
  const out = new Uint8Array(localSize + centralSize + 22);
  const v = new DataView(out.buffer);
  let p = 0;
  const offsets: number[] = [];
  for (const f of files) {
    offsets.push(p);
    v.setUint32(p, 0x04034b50, true);
    v.setUint16(p + 4, 20, true);
    v.setUint32(p + 14, f.crc, true);
    v.setUint32(p + 18, f.data.length, true);
    v.setUint32(p + 22, f.data.length, true);
    v.setUint16(p + 26, f.name.length, true);
    out.set(f.name, p + 30);
    out.set(f.data, p + 30 + f.name.length);
    p += 30 + f.name.length + f.data.length;
  }
  const cdStart = p;
  files.forEach((f, i) => {
    v.setUint32(p, 0x02014b50, true);
    v.setUint16(p + 4, 20, true);
    v.setUint16(p + 6, 20, true);
    v.setUint32(p + 16, f.crc, true);
    v.setUint32(p + 20, f.data.length, true);
    v.setUint32(p + 24, f.data.length, true);
    v.setUint16(p + 28, f.name.length, true);
    v.setUint32(p + 42, offsets[i]!, true);
    out.set(f.name, p + 46);
    p += 46 + f.name.length;
  });
  v.setUint32(p, 0x06054b50, true);
  v.setUint16(p + 8, files.length, true);
  v.setUint16(p + 10, files.length, true);
  v.setUint32(p + 12, p - cdStart, true);
  v.setUint32(p + 16, cdStart, true);
  return out;
}
