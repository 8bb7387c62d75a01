import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAudiogenError } from '@audiogen/core';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeSafetensors, readSafetensors, writeSafetensors } from './safetensors';

const tmp = mkdtempSync(join(tmpdir(), 'audiogen-st-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Builds a file by hand: u64 header length, JSON, data. */
function handMade(header: unknown, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isAudiogenError(e) ? e.code : 'other';
  }
  return undefined;
}

describe('safetensors', () => {
  it('reads a hand-made file with F32, F16 and BF16 tensors', () => {
    const data = new Uint8Array(16);
    const dv = new DataView(data.buffer);
    dv.setFloat32(0, 1.5, true);
    dv.setFloat32(4, -2, true);
    dv.setUint16(8, 0x3c00, true); // fp16 1.0
    dv.setUint16(10, 0xc100, true); // fp16 -2.5
    dv.setUint16(12, 0x3fc0, true); // bf16 1.5
    dv.setUint16(14, 0x4040, true); // bf16 3.0
    const bytes = handMade(
      {
        __metadata__: { format: 'pt' },
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        h: { dtype: 'F16', shape: [1, 2], data_offsets: [8, 12] },
        b: { dtype: 'BF16', shape: [2], data_offsets: [12, 16] },
      },
      data,
    );
    const f = readSafetensors(bytes);
    expect(f.keys().sort()).toEqual(['a', 'b', 'h']);
    expect(f.metadata).toEqual({ format: 'pt' });
    expect(f.shape('h')).toEqual([1, 2]);
    expect([...f.get('a')]).toEqual([1.5, -2]);
    expect([...f.get('h')]).toEqual([1, -2.5]);
    expect([...f.get('b')]).toEqual([1.5, 3]);
  });

  it('round-trips through writeSafetensors and reads lazily from the file', async () => {
    const path = join(tmp, 'rt.safetensors');
    const big = Float32Array.from({ length: 1000 }, (_, i) => i / 7);
    await writeSafetensors(
      path,
      {
        big: { shape: [10, 100], data: big },
        half: { dtype: 'F16', shape: [3], data: () => new Float32Array([0.5, 2, -4]) },
      },
      { note: 'x' },
    );
    const bytes = readFileSync(path);
    // Header length is a multiple of 8 (data aligned), as the reference writer does.
    expect(Number(bytes.readBigUInt64LE(0)) % 8).toBe(0);
    const f = readSafetensors(path);
    expect([...f.get('half')]).toEqual([0.5, 2, -4]);
    expect(f.get('big')).toEqual(big);
    f.close();
    expect(code(() => f.get('big'))).toBe('DISPOSED');
    // Same bytes as the in-memory encoder.
    expect(
      Buffer.from(
        encodeSafetensors(
          {
            big: { shape: [10, 100], data: big },
            half: { dtype: 'F16', shape: [3], data: new Float32Array([0.5, 2, -4]) },
          },
          { note: 'x' },
        ),
      ).equals(bytes),
    ).toBe(true);
  });

  it('rejects corrupt headers with INVALID_CHECKPOINT', () => {
    const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
    expect(code(() => readSafetensors(handMade(ok, new Uint8Array(8))))).toBeUndefined();
    // truncated data
    expect(code(() => readSafetensors(handMade(ok, new Uint8Array(4))))).toBe('INVALID_CHECKPOINT');
    // size does not match shape
    expect(
      code(() =>
        readSafetensors(
          handMade({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)),
        ),
      ),
    ).toBe('INVALID_CHECKPOINT');
    // overlapping tensors
    const ov = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
    };
    expect(code(() => readSafetensors(handMade(ov, new Uint8Array(8))))).toBe('INVALID_CHECKPOINT');
    // unknown dtype
    expect(
      code(() =>
        readSafetensors(
          handMade({ a: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
        ),
      ),
    ).toBe('INVALID_CHECKPOINT');
    // header length beyond the file, non-JSON header, tiny file
    const bad = handMade(ok, new Uint8Array(8));
    new DataView(bad.buffer).setBigUint64(0, 1n << 40n, true);
    expect(code(() => readSafetensors(bad))).toBe('INVALID_CHECKPOINT');
    const notJson = handMade(ok, new Uint8Array(8));
    notJson[8] = 0x7b + 1;
    expect(code(() => readSafetensors(notJson))).toBe('INVALID_CHECKPOINT');
    expect(code(() => readSafetensors(new Uint8Array(3)))).toBe('INVALID_CHECKPOINT');
    const p = join(tmp, 'bad.safetensors');
    writeFileSync(p, bad);
    expect(code(() => readSafetensors(p))).toBe('INVALID_CHECKPOINT');
    expect(code(() => readSafetensors(join(tmp, 'missing.safetensors')))).toBe('MISSING_FILE');
  });

  it('lists all header problems in one error', () => {
    const h = {
      a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] },
      b: { dtype: 'X', shape: [1], data_offsets: [8, 9] },
    };
    let msg = '';
    try {
      readSafetensors(handMade(h, new Uint8Array(9)));
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/a: 8 bytes but shape \[3\]/);
    expect(msg).toMatch(/b: unsupported dtype X/);
  });
});
