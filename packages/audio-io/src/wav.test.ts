import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AudioClip, AudiogenError, isAudiogenError } from '@audiogen/core';
import { afterAll, describe, expect, it } from 'vitest';
import { WaveFile } from 'wavefile';
import { noise } from './test/signals';
import { decodeWav, encodeWav, inspectWav, readWav, type WavSampleFormat, writeWav } from './wav';

const FORMATS: WavSampleFormat[] = ['pcm8', 'pcm16', 'pcm24', 'pcm32', 'f32', 'f64'];
const SCALE: Record<string, number> = { pcm8: 128, pcm16: 32768, pcm24: 8388608, pcm32: 2147483648 };

function clipOf(channels: number, frames: number, sampleRate = 44100, seed = 1, amp = 0.9): AudioClip {
  return {
    sampleRate,
    channels: Array.from({ length: channels }, (_, c) => noise(frames, seed * 131 + c, amp)),
  };
}

/** What a PCM sample of value x reads back as: round(x·2^(b−1)) clamped, divided by 2^(b−1). */
function quantized(x: number, scale: number): number {
  return Math.min(scale - 1, Math.max(-scale, Math.round(x * scale))) / scale;
}

function expectCode(fn: () => unknown, code: string): AudiogenError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AudiogenError);
    expect((e as AudiogenError).code).toBe(code);
    return e as AudiogenError;
  }
  throw new Error(`expected AudiogenError ${code}, nothing was thrown`);
}

const tmp = mkdtempSync(join(tmpdir(), 'audio-io-wav-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('WAV round trips', () => {
  for (const format of FORMATS) {
    for (const channels of [1, 2, 3, 6]) {
      it(`${format}, ${channels} channel(s), odd frame count`, () => {
        const clip = clipOf(channels, 1001, 48000, channels);
        // Exercise the clamp: full-scale and over-range samples.
        clip.channels[0]![0] = 1;
        clip.channels[0]![1] = -1;
        clip.channels[0]![2] = 1.5;
        const bytes = encodeWav(clip, { format });
        expect(bytes.length % 2).toBe(0);
        const info = inspectWav(bytes);
        expect(info).toMatchObject({ sampleRate: 48000, channels, frames: 1001, format, truncated: false });
        expect(info.extensible).toBe(channels > 2);
        const back = decodeWav(bytes);
        expect(back.sampleRate).toBe(48000);
        expect(back.channels.length).toBe(channels);
        for (let c = 0; c < channels; c++) {
          const a = clip.channels[c]!;
          const b = back.channels[c]!;
          expect(b.length).toBe(1001);
          for (let i = 0; i < a.length; i++) {
            const want = format.startsWith('pcm') ? Math.fround(quantized(a[i]!, SCALE[format]!)) : a[i]!;
            if (b[i] !== want) throw new Error(`${format} ch${c}[${i}]: ${b[i]} !== ${want}`);
          }
        }
        // Re-encoding what we decoded is bit-exact.
        expect(Buffer.from(encodeWav(back, { format })).equals(Buffer.from(bytes))).toBe(true);
      });
    }
  }

  it('decodes views at odd byte offsets inside larger buffers (e.g. pooled Buffers)', () => {
    const clip = clipOf(2, 333, 44100, 8);
    for (const format of ['pcm16', 'pcm24', 'f32', 'f64'] as const) {
      const bytes = encodeWav(clip, { format });
      const big = new Uint8Array(bytes.length + 20);
      big.set(bytes, 7);
      const view = big.subarray(7, 7 + bytes.length);
      const a = decodeWav(view);
      const b = decodeWav(bytes);
      expect(Array.from(a.channels[1]!)).toEqual(Array.from(b.channels[1]!));
    }
  });

  it('writes the canonical 44-byte header for PCM16 stereo, byte for byte', () => {
    const bytes = encodeWav({
      sampleRate: 44100,
      channels: [new Float32Array([0.5]), new Float32Array([-0.5])],
    });
    const hex = Buffer.from(bytes).toString('hex');
    expect(hex).toBe(
      '52494646' +
        '28000000' +
        '57415645' + // RIFF, 40, WAVE
        '666d7420' +
        '10000000' +
        '0100' +
        '0200' +
        '44ac0000' +
        '10b10200' +
        '0400' +
        '1000' + // fmt
        '64617461' +
        '04000000' +
        '0040' +
        '00c0', // data: 16384, −16384
    );
  });

  it('writes a fact chunk for float and a proper extensible header', () => {
    const f = inspectWav(encodeWav(clipOf(2, 10), { format: 'f32' }));
    expect(f.formatTag).toBe(3);
    const x = inspectWav(encodeWav(clipOf(6, 10), { format: 'pcm24' }));
    expect(x).toMatchObject({ formatTag: 0xfffe, channelMask: 0x3f, validBits: 24, containerBits: 24 });
    const y = inspectWav(encodeWav(clipOf(2, 10), { format: 'f32', extensible: true, channelMask: 0x3 }));
    expect(y).toMatchObject({ formatTag: 0xfffe, format: 'f32', channelMask: 3 });
  });

  it('refuses NaN/Inf and bad options with typed errors', () => {
    const clip = clipOf(2, 100);
    clip.channels[1]![42] = Number.POSITIVE_INFINITY;
    const e = expectCode(() => encodeWav(clip), 'NON_FINITE_AUDIO');
    expect(e.details).toMatchObject({ channel: 1, frame: 42 });
    expectCode(() => encodeWav(clipOf(1, 10), { format: 'mp3' as WavSampleFormat }), 'INVALID_ARGUMENT');
    expectCode(() => encodeWav({ sampleRate: 0, channels: [new Float32Array(1)] }), 'INVALID_ARGUMENT');
    expectCode(() => encodeWav({ sampleRate: 44100, channels: [] }), 'INVALID_ARGUMENT');
    expectCode(
      () => encodeWav({ sampleRate: 44100, channels: [new Float32Array(2), new Float32Array(3)] }),
      'INVALID_ARGUMENT',
    );
  });
});

// ---- independent tools -------------------------------------------------------------------------

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const python = join(repoRoot, '.venv', 'bin', 'python');
const hasPython = existsSync(python);

function py(code: string, ...args: string[]): string {
  return execFileSync(python, ['-c', code, ...args], { encoding: 'utf8' });
}

describe.skipIf(!hasPython)("Python's wave module and numpy (independent reader/writer)", () => {
  it('reads PCM 8/16/24/32-bit files written by Python wave, 1–3 channels, bit-exact', () => {
    // Python writes known integer samples; we decode and compare with numpy's own view of the bytes.
    const script = `
import sys, wave, json
import numpy as np
out = sys.argv[1]
rng = np.random.default_rng(7)
meta = []
for width in (1, 2, 3, 4):
    for ch in (1, 2, 3):
        n = 777
        bits = 8 * width
        if width == 1:
            ints = rng.integers(0, 256, size=(n, ch), dtype=np.int64)
        else:
            ints = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=(n, ch), dtype=np.int64)
        ints[0, 0] = (255 if width == 1 else (1 << (bits - 1)) - 1)
        ints[1, 0] = (0 if width == 1 else -(1 << (bits - 1)))
        raw = b''.join(int(v).to_bytes(width, 'little', signed=(width > 1)) for v in ints.reshape(-1))
        path = f"{out}/py_{width}_{ch}.wav"
        with wave.open(path, 'wb') as w:
            w.setnchannels(ch); w.setsampwidth(width); w.setframerate(22050 + width); w.writeframes(raw)
        np.save(f"{out}/py_{width}_{ch}.npy", ints)
        meta.append([path, width, ch])
print(json.dumps(meta))
`;
    const meta = JSON.parse(py(script, tmp)) as [string, number, number][];
    expect(meta.length).toBe(12);
    for (const [path, width, ch] of meta) {
      const clip = decodeWav(readFileSync(path));
      expect(clip.sampleRate).toBe(22050 + width);
      expect(clip.channels.length).toBe(ch);
      // numpy .npy (int64, C order) read by hand: header then little-endian int64.
      const npy = readFileSync(path.replace('.wav', '.npy'));
      const hlen = npy.readUInt16LE(8);
      const ints = new BigInt64Array(
        npy.buffer.slice(npy.byteOffset + 10 + hlen, npy.byteOffset + npy.length),
      );
      const scale = 2 ** (8 * width - 1);
      for (let i = 0; i < 777; i++) {
        for (let c = 0; c < ch; c++) {
          const v = Number(ints[i * ch + c]!);
          const want = width === 1 ? (v - 128) / 128 : v / scale;
          if (clip.channels[c]![i] !== Math.fround(want)) {
            throw new Error(`${path} ch${c}[${i}]: ${clip.channels[c]![i]} !== ${want}`);
          }
        }
      }
    }
  });

  it('Python wave reads our PCM 16/24 files (header fields and every sample)', () => {
    for (const format of ['pcm16', 'pcm24', 'pcm8'] as const) {
      const clip = clipOf(2, 4999, 44100, 9);
      const path = join(tmp, `ours_${format}.wav`);
      writeFileSync(path, encodeWav(clip, { format }));
      const script = `
import sys, wave, json
import numpy as np
with wave.open(sys.argv[1], 'rb') as w:
    p = w.getparams()
    raw = w.readframes(p.nframes)
width = p.sampwidth
b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, width).astype(np.int64)
v = sum(b[:, k] << (8 * k) for k in range(width))
if width > 1:
    v = np.where(v >= (1 << (8 * width - 1)), v - (1 << (8 * width)), v)
    x = v / float(1 << (8 * width - 1))
else:
    x = (v - 128) / 128.0
x = x.reshape(-1, p.nchannels)
print(json.dumps({"ch": p.nchannels, "width": width, "rate": p.framerate, "n": p.nframes,
                  "x": x.tolist()}))
`;
      const r = JSON.parse(py(script, path));
      expect(r).toMatchObject({
        ch: 2,
        width: { pcm8: 1, pcm16: 2, pcm24: 3 }[format],
        rate: 44100,
        n: 4999,
      });
      const scale = SCALE[format]!;
      for (let c = 0; c < 2; c++) {
        for (let i = 0; i < 4999; i++) {
          if (r.x[i][c] !== quantized(clip.channels[c]![i]!, scale))
            throw new Error(`${format} ch${c}[${i}]`);
        }
      }
    }
  });
});

describe('wavefile (independent JS implementation)', () => {
  it('reads files wavefile writes: float 32/64, PCM 8–32, and WAVE_FORMAT_EXTENSIBLE multichannel', () => {
    for (const [bitDepth, ch] of [
      ['32f', 2],
      ['64', 1],
      ['8', 2],
      ['16', 4],
      ['24', 3],
      ['32', 8],
    ] as const) {
      const n = 513;
      const clip = clipOf(ch, n, 32000, ch);
      const isFloat = bitDepth === '32f' || bitDepth === '64';
      const bits = isFloat ? 0 : Number(bitDepth);
      const samples = clip.channels.map((x) =>
        isFloat
          ? Float64Array.from(x)
          : Float64Array.from(x, (v) =>
              bits === 8 ? quantized(v, 128) * 128 + 128 : quantized(v, 2 ** (bits - 1)) * 2 ** (bits - 1),
            ),
      );
      const wf = new WaveFile();
      wf.fromScratch(
        ch,
        32000,
        bitDepth,
        samples.map((s) => Array.from(s)),
      );
      const bytes = wf.toBuffer();
      // wavefile 11 writes a 40-byte extensible-style fmt for > 2 channels but keeps format tag 1.
      const info = inspectWav(bytes);
      expect(info.formatTag).toBe(isFloat ? 3 : 1);
      const back = decodeWav(bytes);
      for (let c = 0; c < ch; c++) {
        for (let i = 0; i < n; i++) {
          const want = isFloat
            ? clip.channels[c]![i]!
            : Math.fround(quantized(clip.channels[c]![i]!, 2 ** (bits - 1)));
          if (back.channels[c]![i] !== want) throw new Error(`${bitDepth}/${ch} ch${c}[${i}]`);
        }
      }
    }
  });

  it('wavefile reads our files (PCM 16/24 and float 32, mono to 6-channel WAVE_FORMAT_EXTENSIBLE)', () => {
    for (const [format, ch] of [
      ['pcm16', 2],
      ['pcm24', 1],
      ['f32', 2],
      ['pcm24', 6],
      ['pcm16', 3],
    ] as const) {
      const clip = clipOf(ch, 300, 44100, 3);
      const wf = new WaveFile(encodeWav(clip, { format }));
      expect(Number((wf.fmt as { sampleRate: number }).sampleRate)).toBe(44100);
      const got = wf.getSamples(false, Float64Array) as unknown as Float64Array[] | Float64Array;
      const chans = ch === 1 ? [got as Float64Array] : (got as Float64Array[]);
      for (let c = 0; c < ch; c++) {
        for (let i = 0; i < 300; i++) {
          const x = clip.channels[c]![i]!;
          const want = format === 'f32' ? x : quantized(x, SCALE[format]!) * SCALE[format]!;
          expect(chans[c]![i]).toBe(want);
        }
      }
    }
  });
});

describe('TPDF dither', () => {
  it('linearises sub-LSB signals and gives 1/4 LSB² error, reproducibly', () => {
    const n = 200_000;
    const level = 0.3 / 32768; // 0.3 LSB of PCM16: plain rounding turns it into silence
    const clip = { sampleRate: 48000, channels: [new Float32Array(n).fill(level)] };
    const plain = decodeWav(encodeWav(clip)).channels[0]!;
    expect(plain.every((v) => v === 0)).toBe(true);
    const bytes = encodeWav(clip, { dither: 'tpdf' });
    const d = decodeWav(bytes).channels[0]!;
    let mean = 0;
    let err2 = 0;
    for (const v of d) {
      mean += v * 32768;
      err2 += (v * 32768 - 0.3) ** 2;
    }
    mean /= n;
    err2 /= n;
    expect(mean).toBeCloseTo(0.3, 2); // unbiased: the average keeps the sub-LSB level
    // Total error (dither + rounding) has variance 1/6 + 1/12 = 1/4 LSB², whatever the signal level.
    expect(err2).toBeGreaterThan(0.23);
    expect(err2).toBeLessThan(0.27);
    expect(Buffer.from(encodeWav(clip, { dither: 'tpdf' })).equals(Buffer.from(bytes))).toBe(true);
    expect(Buffer.from(encodeWav(clip, { dither: 'tpdf', ditherSeed: 2 })).equals(Buffer.from(bytes))).toBe(
      false,
    );
    // Float formats ignore dither.
    expect(
      Buffer.from(encodeWav(clip, { format: 'f32', dither: 'tpdf' })).equals(
        Buffer.from(encodeWav(clip, { format: 'f32' })),
      ),
    ).toBe(true);
    expectCode(() => encodeWav(clip, { dither: 'rpdf' as 'tpdf' }), 'INVALID_ARGUMENT');
  });
});

describe('LIST/INFO text tags', () => {
  it('round-trip (UTF-8, friendly names and INFO ids) and are read by wavefile', () => {
    const clip = clipOf(2, 101, 44100, 4);
    const bytes = encodeWav(clip, {
      format: 'pcm16',
      tags: { title: 'rain on a tin roof', comment: 'seed=1234 steps=8 prompt="café ☂"', ISFT: 'audiogen' },
    });
    const info = inspectWav(bytes);
    expect(info.tags).toEqual({
      INAM: 'rain on a tin roof',
      ICMT: 'seed=1234 steps=8 prompt="café ☂"',
      ISFT: 'audiogen',
    });
    // The audio is unaffected by the extra chunk.
    expect(Array.from(decodeWav(bytes).channels[1]!)).toEqual(
      Array.from(decodeWav(encodeWav(clip)).channels[1]!),
    );
    const wf = new WaveFile(bytes);
    expect(wf.getTag('ISFT')).toBe('audiogen');
    expect(wf.getTag('INAM')).toBe('rain on a tin roof');
    // Tags written by wavefile are read back by us.
    const other = new WaveFile();
    other.fromScratch(1, 8000, '16', [0, 1, 2, 3]);
    other.setTag('ICMT', 'written by wavefile');
    expect(inspectWav(other.toBuffer()).tags.ICMT).toBe('written by wavefile');
  });

  it('reject bad tag names/values; malformed INFO lists are ignored, not fatal', () => {
    expectCode(() => encodeWav(clipOf(1, 4), { tags: { mood: 'x' } }), 'INVALID_ARGUMENT');
    expectCode(() => encodeWav(clipOf(1, 4), { tags: { ICMT: 5 as unknown as string } }), 'INVALID_ARGUMENT');
    const bytes = encodeWav(clipOf(1, 4), { tags: { comment: 'hello' } });
    // The INFO sub-chunk size (LIST at 36: 'LIST' size 'INFO' then 'ICMT' size) now lies: 1000 bytes.
    new DataView(bytes.buffer).setUint32(36 + 16, 1000, true);
    const info = inspectWav(bytes);
    expect(info.tags).toEqual({});
    expect(info.frames).toBe(4);
  });
});

// ---- bad input ---------------------------------------------------------------------------------

function setU32(b: Uint8Array, off: number, v: number) {
  new DataView(b.buffer, b.byteOffset).setUint32(off, v, true);
}
function setU16(b: Uint8Array, off: number, v: number) {
  new DataView(b.buffer, b.byteOffset).setUint16(off, v, true);
}

describe('bad and unusual WAV input', () => {
  const good = () => encodeWav(clipOf(2, 1000, 44100, 5), { format: 'pcm16' }); // data at 44, 4000 bytes

  it('rejects non-WAV and too-short input', () => {
    expectCode(() => decodeWav(new Uint8Array(0)), 'INVALID_WAV');
    expectCode(() => decodeWav(new Uint8Array(11)), 'INVALID_WAV');
    expectCode(() => decodeWav(new TextEncoder().encode('ID3\u0004 this is an mp3 honestly')), 'INVALID_WAV');
    const b = good();
    b.set(new TextEncoder().encode('AVI '), 8);
    expectCode(() => decodeWav(b), 'INVALID_WAV');
    const x = good();
    x.set(new TextEncoder().encode('RIFX'), 0);
    expectCode(() => decodeWav(x), 'UNSUPPORTED');
    expectCode(() => decodeWav('RIFF' as unknown as Uint8Array), 'INVALID_ARGUMENT');
  });

  it('truncated data: INVALID_WAV by default, whole frames with allowTruncated', () => {
    const b = good().subarray(0, 44 + 1001); // 250 whole frames + 1 byte
    const e = expectCode(() => decodeWav(b), 'INVALID_WAV');
    expect(e.message).toMatch(/declares 4000 bytes but only 1001/);
    const clip = decodeWav(b, { allowTruncated: true });
    expect(clip.channels[0]!.length).toBe(250);
    expect(Array.from(clip.channels[1]!)).toEqual(
      Array.from(decodeWav(good()).channels[1]!.subarray(0, 250)),
    );
  });

  it('huge declared sizes never allocate by the declaration', () => {
    const b = good();
    setU32(b, 40, 0xfffffff0); // data size
    setU32(b, 4, 0xffffffff); // RIFF size
    expectCode(() => decodeWav(b), 'INVALID_WAV');
    expect(decodeWav(b, { allowTruncated: true }).channels[0]!.length).toBe(1000);
    // A chunk before data declaring 4 GiB: walking stops at the end; no data chunk found.
    const c = good();
    c.set(new TextEncoder().encode('JUNK'), 12);
    setU32(c, 16, 0xfffffff0);
    expectCode(() => decodeWav(c), 'INVALID_WAV');
    // 65535 channels of 32-bit float declared: refused before anything is allocated.
    const d = good();
    setU16(d, 22, 65535);
    expectCode(() => decodeWav(d), 'UNSUPPORTED');
  });

  it('streaming writers that never patched sizes (0 / 0xFFFFFFFF) are readable with allowTruncated', () => {
    const b = good();
    setU32(b, 40, 0xffffffff);
    expect(decodeWav(b, { allowTruncated: true }).channels[0]!.length).toBe(1000);
    const z = good();
    setU32(z, 40, 0);
    expect(decodeWav(z).channels[0]!.length).toBe(0);
  });

  it('lying fmt fields are typed errors', () => {
    const cases: [string, (b: Uint8Array) => void, string][] = [
      ['0 channels', (b) => setU16(b, 22, 0), 'INVALID_WAV'],
      ['0 Hz', (b) => setU32(b, 24, 0), 'INVALID_WAV'],
      ['block align', (b) => setU16(b, 32, 3), 'INVALID_WAV'],
      ['24-bit vs 16-bit align', (b) => setU16(b, 34, 24), 'INVALID_WAV'],
      ['48-bit PCM', (b) => setU16(b, 34, 48), 'UNSUPPORTED'],
      ['µ-law', (b) => setU16(b, 20, 7), 'UNSUPPORTED'],
      ['ADPCM', (b) => setU16(b, 20, 2), 'UNSUPPORTED'],
      ['float 16-bit', (b) => setU16(b, 20, 3), 'UNSUPPORTED'],
      ['fmt too small', (b) => setU32(b, 16, 8), 'INVALID_WAV'],
      ['no fmt', (b) => b.set(new TextEncoder().encode('xxxx'), 12), 'INVALID_WAV'],
      ['no data', (b) => b.set(new TextEncoder().encode('dat4'), 36), 'INVALID_WAV'],
    ];
    for (const [name, mutate, code] of cases) {
      const b = good();
      mutate(b);
      const e = expectCode(() => decodeWav(b), code);
      expect(e.message.length, name).toBeGreaterThan(10);
    }
  });

  it('12-bit PCM in 16-bit containers is read as left-justified samples', () => {
    const b = good();
    setU16(b, 34, 12); // bits 12, align 4 for stereo 16-bit container: consistent
    setU16(b, 32, 4);
    const info = inspectWav(b);
    expect(info).toMatchObject({ format: 'pcm16', validBits: 12, containerBits: 16 });
  });

  it('extensible: unknown SubFormat GUID is UNSUPPORTED; float subformat is read', () => {
    const b = encodeWav(clipOf(3, 10), { format: 'f32' });
    expect(inspectWav(b).format).toBe('f32');
    b[50] = b[50]! ^ 0xff; // corrupt the GUID tail (fmt body at 20, GUID at +24, its fixed tail from +28)
    expectCode(() => decodeWav(b), 'UNSUPPORTED');
  });

  it('NaN in a float file is NON_FINITE_AUDIO unless allowNonFinite', () => {
    const b = encodeWav(clipOf(1, 10), { format: 'f32' });
    const info = inspectWav(b);
    new DataView(b.buffer).setFloat32(info.dataOffset + 8, Number.NaN, true);
    expectCode(() => decodeWav(b), 'NON_FINITE_AUDIO');
    expect(Number.isNaN(decodeWav(b, { allowNonFinite: true }).channels[0]![2])).toBe(true);
  });

  it('skips unknown chunks (LIST, odd-sized with pad byte) before and after data; fmt after data', () => {
    const base = good();
    const fmt = base.subarray(12, 36);
    const data = base.subarray(36);
    const list = new Uint8Array([...new TextEncoder().encode('LIST'), 3, 0, 0, 0, 1, 2, 3, 0]);
    const body = new Uint8Array([...list, ...data, ...fmt]);
    const file = new Uint8Array([
      ...new TextEncoder().encode('RIFF'),
      0,
      0,
      0,
      0,
      ...new TextEncoder().encode('WAVE'),
      ...body,
    ]);
    setU32(file, 4, file.length - 8);
    const clip = decodeWav(file);
    expect(Array.from(clip.channels[0]!)).toEqual(Array.from(decodeWav(base).channels[0]!));
  });

  it('reads RF64 (ds64 sizes)', () => {
    const base = good();
    const ds64 = new Uint8Array(36);
    ds64.set(new TextEncoder().encode('ds64'), 0);
    setU32(ds64, 4, 28);
    setU32(ds64, 8 + 8, 4000); // data size low
    const file = new Uint8Array([...base.subarray(0, 12), ...ds64, ...base.subarray(12)]);
    file.set(new TextEncoder().encode('RF64'), 0);
    setU32(file, 4, 0xffffffff);
    setU32(file, 36 + 40, 0xffffffff);
    const info = inspectWav(file);
    expect(info).toMatchObject({ container: 'RF64', frames: 1000 });
    expect(Array.from(decodeWav(file).channels[1]!)).toEqual(Array.from(decodeWav(base).channels[1]!));
  });
});

describe('readWav / writeWav', () => {
  it('round-trips through a file and maps errors', async () => {
    const path = join(tmp, 'rt.wav');
    const clip = clipOf(2, 2000, 44100, 11);
    await writeWav(path, clip, { format: 'f32' });
    const back = await readWav(path);
    expect(Array.from(back.channels[1]!)).toEqual(Array.from(clip.channels[1]!));
    await expect(readWav(join(tmp, 'nope.wav'))).rejects.toMatchObject({ code: 'MISSING_FILE' });
    await expect(readWav(tmp)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' }); // a directory
    writeFileSync(join(tmp, 'bad.wav'), 'not a wav');
    await expect(readWav(join(tmp, 'bad.wav'))).rejects.toSatisfy(
      (e: unknown) => isAudiogenError(e, 'INVALID_WAV') && (e as Error).message.includes('bad.wav'),
    );
    await expect(writeWav(join(tmp, 'no-such-dir', 'x.wav'), clip)).rejects.toMatchObject({
      code: 'IO_ERROR',
    });
  });
});
