/** Test helpers: a minimal .npy reader/writer and a LiteRT runner through the repo's Python venv. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export interface Npy {
  dtype: '<f4' | '<i8' | '<f8' | '<i4';
  shape: number[];
  data: Float32Array | BigInt64Array | Float64Array | Int32Array;
}

export function readNpy(path: string): Npy {
  const b = readFileSync(path);
  if (b.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${path} is not .npy`);
  const major = b[6]!;
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const off = major === 1 ? 10 : 12;
  const header = b.toString('latin1', off, off + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)![1] as Npy['dtype'];
  if (/'fortran_order':\s*True/.test(header)) throw new Error('fortran order not supported');
  const shape = /'shape':\s*\(([^)]*)\)/
    .exec(header)![1]!
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const raw = b.subarray(off + hlen);
  const copy = new Uint8Array(raw.byteLength);
  copy.set(raw);
  const C = { '<f4': Float32Array, '<i8': BigInt64Array, '<f8': Float64Array, '<i4': Int32Array }[descr];
  if (!C) throw new Error(`dtype ${descr} not supported`);
  return { dtype: descr, shape, data: new C(copy.buffer) };
}

export function writeNpy(path: string, data: Float32Array | BigInt64Array, shape: number[]): void {
  const descr = data instanceof Float32Array ? '<f4' : '<i8';
  let h = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  while ((10 + h.length + 1) % 64 !== 0) h += ' ';
  h += '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(h.length, 8);
  writeFileSync(
    path,
    Buffer.concat([
      head,
      Buffer.from(h, 'latin1'),
      Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    ]),
  );
}

/** The repo's Python with ai-edge-litert (.venv from scripts/setup-dev.sh), if present. */
export function litertPython(): string | undefined {
  const root = resolve(here, '..', '..', '..');
  const p = join(root, '.venv', 'bin', 'python');
  return existsSync(p) ? p : undefined;
}

/** Runs a .tflite file's serving_default signature with LiteRT; returns its outputs by name. */
export function runLitert(
  python: string,
  model: string,
  inputs: Record<string, string>,
): Record<string, Npy> {
  const out = mkdtempSync(join(tmpdir(), 'audiogen-convert-run-'));
  const script = resolve(here, '..', 'scripts', 'run_tflite.py');
  const args = [script, model, out, ...Object.entries(inputs).map(([k, v]) => `${k}=${v}`)];
  const r = spawnSync(python, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`LiteRT run failed: ${r.stderr}`);
  const names = readdirSync(out);
  return Object.fromEntries(names.map((n) => [n.replace(/\.npy$/, ''), readNpy(join(out, n))]));
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
