import { describe, expect, it } from 'vitest';
import { isAudiogenError } from './errors';
import { readNpy, readNpz, writeNpy, writeNpz } from './npy';
import { tensor } from './tensor';

const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
// np.save(np.array([[1.5,-2],[0.25,3]], '<f4')) — bytes produced by numpy 2.3
const NUMPY_F4 =
  'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAMA/AAAAwAAAgD4AAEBA';
// np.savez_compressed(ids=np.array([1, 2**40, -3], '<i8'), m=np.array([True, False]))
const NUMPY_NPZ =
  'UEsDBC0AAAAIAAAAIQD0a7dA//////////8HABQAaWRzLm5weQEAEACYAAAAAAAAAE0AAAAAAAAAm+wX6hsQychQxlCtnpJanFykbqWgbpNpoa6joJ6WX1RSlJgXn1+UkgoSd0vMKU4FihdnJBakAvkaxjqaOgq1ChQALkYGJADk/P0PAQBQSwMELQAAAAgAAAAhAO4Zu13//////////wUAFABtLm5weQEAEACCAAAAAAAAAEYAAAAAAAAAm+wX6hsQychQxlCtnpJanFykbqWgXpNkqK6joJ6WX1RSlJgXn1+UkgoSd0vMKU4FihdnJBakAvkaRjqaOgq1ChQALkYGAFBLAQItAy0AAAAIAAAAIQD0a7dATQAAAJgAAAAHAAAAAAAAAAAAAACAAQAAAABpZHMubnB5UEsBAi0DLQAAAAgAAAAhAO4Zu11GAAAAggAAAAUAAAAAAAAAAAAAAIABhgAAAG0ubnB5UEsFBgAAAAACAAIAaAAAAAMBAAAAAA==';

function expectNpyError(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    expect(isAudiogenError(e, 'INVALID_NPY')).toBe(true);
    return;
  }
  throw new Error('expected INVALID_NPY');
}

describe('npy', () => {
  it('reads numpy-written .npy', () => {
    const t = readNpy(b64(NUMPY_F4));
    expect(t.dtype).toBe('float32');
    expect(t.shape).toEqual([2, 2]);
    expect(Array.from(t.data as Float32Array)).toEqual([1.5, -2, 0.25, 3]);
  });

  it('writes byte-identical .npy to numpy', () => {
    const t = tensor('float32', [2, 2], new Float32Array([1.5, -2, 0.25, 3]));
    expect(Buffer.from(writeNpy(t)).toString('base64')).toBe(NUMPY_F4);
  });

  it('round-trips int64, 1-d and scalar shapes', () => {
    const a = tensor('int64', [3], new BigInt64Array([1n, -(2n ** 60n), 7n]));
    const r = readNpy(writeNpy(a));
    expect(r.shape).toEqual([3]);
    expect(Array.from(r.data as BigInt64Array)).toEqual([1n, -(2n ** 60n), 7n]);
    const s = readNpy(writeNpy(tensor('float64', [], new Float64Array([Math.PI]))));
    expect(s.shape).toEqual([]);
    expect((s.data as Float64Array)[0]).toBe(Math.PI);
    // header of every written file ends at a multiple of 64 bytes, as numpy requires for v1.0
    const bytes = writeNpy(tensor('uint8', [5, 1]));
    const hl = bytes[8]! | (bytes[9]! << 8);
    expect((10 + hl) % 64).toBe(0);
    expect(bytes[10 + hl - 1]).toBe(0x0a);
  });

  it('reads numpy savez_compressed (deflate, zip64 local headers)', () => {
    const z = readNpz(b64(NUMPY_NPZ));
    expect(Object.keys(z).sort()).toEqual(['ids', 'm']);
    expect(Array.from(z.ids!.data as BigInt64Array)).toEqual([1n, 2n ** 40n, -3n]);
    expect(z.m!.dtype).toBe('bool');
    expect(Array.from(z.m!.data as Uint8Array)).toEqual([1, 0]);
  });

  it('round-trips npz', () => {
    const z = readNpz(
      writeNpz({
        a: tensor('int32', [2], new Int32Array([4, -5])),
        b: tensor('float16', [1], new Uint16Array([0x3c00])),
      }),
    );
    expect(Array.from(z.a!.data as Int32Array)).toEqual([4, -5]);
    expect(z.b!.dtype).toBe('float16');
  });

  it('rejects malformed files with INVALID_NPY', () => {
    const good = b64(NUMPY_F4);
    expectNpyError(() => readNpy(new Uint8Array([1, 2, 3])));
    expectNpyError(() => readNpy(good.subarray(0, 40))); // truncated header
    expectNpyError(() => readNpy(good.subarray(0, good.length - 1))); // truncated data
    const bigEndian = good.slice();
    bigEndian[good.indexOf(0x3c)] = 0x3e; // '<f4' -> '>f4'
    expectNpyError(() => readNpy(bigEndian));
    const v9 = good.slice();
    v9[6] = 9;
    expectNpyError(() => readNpy(v9));
    expectNpyError(() => readNpz(good));
    const z = b64(NUMPY_NPZ);
    const corrupt = z.slice();
    corrupt[60] = (corrupt[60]! ^ 0xff) & 0xff; // inside the deflated payload
    expectNpyError(() => readNpz(corrupt));
  });
});
