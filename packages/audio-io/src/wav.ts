import { type AudioClip, AudiogenError, audioClip, readInputFile, writeFileAtomic } from '@audiogen/core';
import { assertFinite } from './util';

/**
 * Sample encodings this package reads. Writing supports the same set; the agreed everyday ones are
 * 'pcm16', 'pcm24' and 'f32'.
 */
export type WavSampleFormat = 'pcm8' | 'pcm16' | 'pcm24' | 'pcm32' | 'f32' | 'f64';

/** What the header of a WAV file says, after validation. */
export interface WavInfo {
  readonly sampleRate: number;
  readonly channels: number;
  /** Whole frames that are present in the data chunk (after truncation, if any). */
  readonly frames: number;
  readonly format: WavSampleFormat;
  /** Bits per sample of the container (8, 16, 24, 32, 64). */
  readonly containerBits: number;
  /** Bits that carry signal (WAVE_FORMAT_EXTENSIBLE wValidBitsPerSample; else = containerBits). */
  readonly validBits: number;
  /** 1 (PCM), 3 (IEEE float) or 0xFFFE (WAVE_FORMAT_EXTENSIBLE). */
  readonly formatTag: number;
  readonly extensible: boolean;
  /** dwChannelMask of WAVE_FORMAT_EXTENSIBLE (0 when absent). */
  readonly channelMask: number;
  /** 'RIFF' or 'RF64'. */
  readonly container: 'RIFF' | 'RF64';
  readonly dataOffset: number;
  readonly dataBytes: number;
  /** True when the data chunk declared more bytes than the file holds (or not a whole number of frames). */
  readonly truncated: boolean;
  /** Bytes the data chunk declared. */
  readonly declaredDataBytes: number;
  /** Text tags of a LIST/INFO chunk (e.g. { INAM: 'title', ICMT: 'comment' }); {} when absent. */
  readonly tags: Readonly<Record<string, string>>;
}

export interface DecodeWavOptions {
  /**
   * Accept a data chunk that declares more bytes than the file holds (an interrupted recording, or a
   * streaming writer that never patched the sizes), keeping the whole frames present. Default false:
   * such files throw INVALID_WAV.
   */
  allowTruncated?: boolean;
  /** Keep NaN/±Inf samples of float files instead of throwing NON_FINITE_AUDIO. Default false. */
  allowNonFinite?: boolean;
}

export interface EncodeWavOptions {
  /** Sample encoding. Default 'pcm16'. */
  format?: WavSampleFormat;
  /**
   * Write a WAVE_FORMAT_EXTENSIBLE header. 'auto' (default) uses it for more than 2 channels, as
   * Microsoft's WAVEFORMATEXTENSIBLE note asks; mono/stereo get the plain header every reader knows.
   */
  extensible?: boolean | 'auto';
  /** dwChannelMask for extensible headers; default: the usual speaker layout for 1–8 channels, else 0. */
  channelMask?: number;
  /**
   * Text tags written as a RIFF LIST/INFO chunk before the data, keyed by INFO id (four characters,
   * e.g. INAM title, ICMT comment, ISFT software, ICRD date, IKEY keywords) or by the friendly names
   * title, artist, comment, software, date, genre, copyright, keywords. UTF-8, at most 64 KiB each.
   */
  tags?: Readonly<Record<string, string>>;
  /**
   * PCM only: 'tpdf' adds triangular dither of ±1 LSB before rounding (error becomes signal-independent
   * noise at 1/4 LSB² instead of distortion); 'none' (default) rounds, so decode∘encode is exact.
   * The dither noise comes from a fixed-seed generator (ditherSeed, default 1): same input, same bytes.
   */
  dither?: 'none' | 'tpdf';
  ditherSeed?: number;
}

const TAG_NAMES: Record<string, string> = {
  title: 'INAM',
  artist: 'IART',
  comment: 'ICMT',
  software: 'ISFT',
  date: 'ICRD',
  genre: 'IGNR',
  copyright: 'ICOP',
  keywords: 'IKEY',
};

function encodeTags(tags: Readonly<Record<string, string>> | undefined): Uint8Array | undefined {
  if (tags === undefined) return undefined;
  if (tags === null || typeof tags !== 'object') {
    throw new AudiogenError('INVALID_ARGUMENT', 'WAV tags must be an object of strings');
  }
  const parts: Uint8Array[] = [];
  for (const [key, value] of Object.entries(tags)) {
    const id = TAG_NAMES[key] ?? key;
    if (!/^[A-Z0-9]{4}$/.test(id)) {
      throw new AudiogenError(
        'INVALID_ARGUMENT',
        `WAV tag ${JSON.stringify(key)} is neither a four-character INFO id nor one of ${Object.keys(TAG_NAMES).join(', ')}`,
      );
    }
    if (typeof value !== 'string')
      throw new AudiogenError('INVALID_ARGUMENT', `WAV tag ${key} must be a string`);
    const text = new TextEncoder().encode(value.replaceAll('\0', ''));
    if (text.length > 65536) throw new AudiogenError('INVALID_ARGUMENT', `WAV tag ${key} is over 64 KiB`);
    const size = text.length + 1; // NUL-terminated
    const chunk = new Uint8Array(8 + size + (size % 2));
    for (let i = 0; i < 4; i++) chunk[i] = id.charCodeAt(i);
    new DataView(chunk.buffer).setUint32(4, size, true);
    chunk.set(text, 8);
    parts.push(chunk);
  }
  if (parts.length === 0) return undefined;
  const bodyLen = 4 + parts.reduce((a, p) => a + p.length, 0);
  const list = new Uint8Array(8 + bodyLen);
  list.set([0x4c, 0x49, 0x53, 0x54], 0); // LIST
  new DataView(list.buffer).setUint32(4, bodyLen, true);
  list.set([0x49, 0x4e, 0x46, 0x4f], 8); // INFO
  let off = 12;
  for (const p of parts) {
    list.set(p, off);
    off += p.length;
  }
  return list;
}

/** Reads the sub-chunks of a LIST/INFO body, within bounds; malformed entries end the list quietly. */
function parseInfo(
  bytes: Uint8Array,
  dv: DataView,
  start: number,
  end: number,
  into: Record<string, string>,
) {
  let off = start;
  const dec = new TextDecoder('utf-8', { fatal: false });
  while (off + 8 <= end) {
    const id = fourcc(bytes, off);
    const size = dv.getUint32(off + 4, true);
    if (!/^[\x20-\x7e]{4}$/.test(id) || off + 8 + size > end) break;
    let text = bytes.subarray(off + 8, off + 8 + size);
    const nul = text.indexOf(0);
    if (nul >= 0) text = text.subarray(0, nul);
    if (!(id in into)) into[id] = dec.decode(text);
    off += 8 + size + (size % 2);
  }
}

const MAX_CHANNELS = 1024;
const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;
/** Bytes 4..15 of KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT (the base GUID 0000xxxx-0000-0010-8000-00aa00389b71). */
const SUBFORMAT_TAIL = [0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

const KNOWN_TAGS: Record<number, string> = {
  2: 'Microsoft ADPCM',
  6: 'A-law',
  7: 'µ-law',
  17: 'IMA ADPCM',
  49: 'GSM 6.10',
  80: 'MPEG',
  85: 'MPEG layer 3',
  353: 'WMA',
  8192: 'AC-3',
  61868: 'FLAC',
};

const FORMAT_PROPS: Record<WavSampleFormat, { bytes: number; float: boolean }> = {
  pcm8: { bytes: 1, float: false },
  pcm16: { bytes: 2, float: false },
  pcm24: { bytes: 3, float: false },
  pcm32: { bytes: 4, float: false },
  f32: { bytes: 4, float: true },
  f64: { bytes: 8, float: true },
};

/** Default dwChannelMask for 1–8 channels (mono FC, stereo, 3.0, quad, 5.0, 5.1, 6.1, 7.1). */
const DEFAULT_MASKS = [0, 0x4, 0x3, 0x7, 0x33, 0x37, 0x3f, 0x13f, 0x63f];

function bad(message: string, details?: Record<string, unknown>): AudiogenError {
  return new AudiogenError('INVALID_WAV', message, details ? { details } : {});
}

function fourcc(b: Uint8Array, off: number): string {
  return String.fromCharCode(b[off]!, b[off + 1]!, b[off + 2]!, b[off + 3]!);
}

/**
 * Reads and validates the header of a WAV file without decoding samples. Never allocates in
 * proportion to sizes declared in the file; all offsets are checked against the real length.
 */
export function inspectWav(bytes: Uint8Array): WavInfo {
  if (!(bytes instanceof Uint8Array)) {
    throw new AudiogenError('INVALID_ARGUMENT', 'inspectWav/decodeWav expect a Uint8Array');
  }
  const len = bytes.length;
  if (len < 12) throw bad(`not a WAV file: ${len} bytes is shorter than a RIFF header (12 bytes)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const riff = fourcc(bytes, 0);
  if (riff === 'RIFX' || riff === 'FFIR') {
    throw new AudiogenError('UNSUPPORTED', 'big-endian RIFX WAV files are not supported');
  }
  if (riff !== 'RIFF' && riff !== 'RF64' && riff !== 'BW64') {
    throw bad(`not a WAV file: starts with ${JSON.stringify(riff)}, expected "RIFF"`);
  }
  if (fourcc(bytes, 8) !== 'WAVE') {
    throw bad(`not a WAV file: RIFF form type is ${JSON.stringify(fourcc(bytes, 8))}, expected "WAVE"`);
  }
  const is64 = riff !== 'RIFF';

  let fmt:
    | Omit<WavInfo, 'frames' | 'dataOffset' | 'dataBytes' | 'truncated' | 'declaredDataBytes' | 'tags'>
    | undefined;
  let ds64DataSize: number | undefined;
  let data: { offset: number; declared: number; available: number } | undefined;
  const tags: Record<string, string> = {};

  let off = 12;
  while (off + 8 <= len) {
    const id = fourcc(bytes, off);
    const size = dv.getUint32(off + 4, true);
    const body = off + 8;
    if (id === 'fmt ' && fmt === undefined) {
      if (size < 16) throw bad(`fmt chunk is ${size} bytes, at least 16 are required`);
      if (body + size > len)
        throw bad(`fmt chunk is truncated (declares ${size} bytes, ${len - body} present)`);
      fmt = parseFmt(bytes, dv, body, size, is64 ? 'RF64' : 'RIFF');
    } else if (id === 'ds64' && is64 && ds64DataSize === undefined) {
      if (size < 24 || body + 24 > len) throw bad('RF64 ds64 chunk is truncated');
      const lo = dv.getUint32(body + 8, true);
      const hi = dv.getUint32(body + 12, true);
      ds64DataSize = hi * 2 ** 32 + lo;
    } else if (id === 'LIST' && size >= 4 && body + size <= len && fourcc(bytes, body) === 'INFO') {
      parseInfo(bytes, dv, body + 4, body + size, tags);
    } else if (id === 'data' && data === undefined) {
      let declared = size;
      if (is64 && size === 0xffffffff) {
        if (ds64DataSize === undefined) throw bad('RF64 data chunk needs a ds64 chunk before it');
        declared = ds64DataSize;
      }
      data = { offset: body, declared, available: Math.max(0, len - body) };
      if (declared > data.available) break; // truncated: nothing meaningful follows
    }
    // Chunks are padded to an even size. Sizes come from the file: guard with real arithmetic.
    const declaredSize = id === 'data' && data !== undefined && data.offset === body ? data.declared : size;
    const next = body + declaredSize + (declaredSize % 2);
    if (next <= off) break;
    off = next;
  }
  if (fmt === undefined) throw bad('WAV file has no fmt chunk (or it comes after a truncated data chunk)');
  if (data === undefined) throw bad('WAV file has no data chunk');

  const blockAlign = fmt.channels * (fmt.containerBits / 8);
  const present = Math.min(data.declared, data.available);
  const frames = Math.floor(present / blockAlign);
  const truncated = data.declared > data.available || data.declared % blockAlign !== 0;
  return {
    ...fmt,
    frames,
    dataOffset: data.offset,
    dataBytes: frames * blockAlign,
    truncated,
    declaredDataBytes: data.declared,
    tags,
  };
}

function parseFmt(
  bytes: Uint8Array,
  dv: DataView,
  body: number,
  size: number,
  container: 'RIFF' | 'RF64',
): Omit<WavInfo, 'frames' | 'dataOffset' | 'dataBytes' | 'truncated' | 'declaredDataBytes' | 'tags'> {
  const tag = dv.getUint16(body, true);
  const channels = dv.getUint16(body + 2, true);
  const sampleRate = dv.getUint32(body + 4, true);
  const blockAlign = dv.getUint16(body + 12, true);
  const bits = dv.getUint16(body + 14, true);
  let sub = tag;
  let validBits = bits;
  let channelMask = 0;
  if (tag === FORMAT_EXTENSIBLE) {
    if (size < 40) throw bad(`WAVE_FORMAT_EXTENSIBLE fmt chunk is ${size} bytes, 40 are required`);
    const cbSize = dv.getUint16(body + 16, true);
    if (cbSize < 22) throw bad(`WAVE_FORMAT_EXTENSIBLE cbSize is ${cbSize}, 22 is required`);
    validBits = dv.getUint16(body + 18, true);
    channelMask = dv.getUint32(body + 20, true);
    sub = dv.getUint32(body + 24, true);
    for (let i = 0; i < 12; i++) {
      if (bytes[body + 28 + i] !== SUBFORMAT_TAIL[i]) {
        throw new AudiogenError('UNSUPPORTED', 'WAVE_FORMAT_EXTENSIBLE with a non-standard SubFormat GUID');
      }
    }
    if (validBits === 0) validBits = bits;
    if (validBits > bits) throw bad(`valid bits (${validBits}) exceed the container size (${bits})`);
  }
  if (sub !== FORMAT_PCM && sub !== FORMAT_FLOAT) {
    const name = KNOWN_TAGS[sub];
    throw new AudiogenError(
      'UNSUPPORTED',
      `WAV sample format ${name ?? `0x${sub.toString(16)}`} is not supported (only PCM and IEEE float)`,
      { details: { formatTag: sub } },
    );
  }
  if (channels === 0) throw bad('WAV header declares 0 channels');
  if (channels > MAX_CHANNELS) {
    throw new AudiogenError(
      'UNSUPPORTED',
      `WAV file has ${channels} channels, at most ${MAX_CHANNELS} are supported`,
    );
  }
  if (sampleRate === 0) throw bad('WAV header declares a sample rate of 0');
  let format: WavSampleFormat;
  let containerBits: number;
  if (sub === FORMAT_FLOAT) {
    if (bits !== 32 && bits !== 64) {
      throw new AudiogenError('UNSUPPORTED', `IEEE float WAV with ${bits} bits per sample is not supported`);
    }
    format = bits === 32 ? 'f32' : 'f64';
    containerBits = bits;
  } else {
    if (bits === 0 || bits > 32) {
      throw new AudiogenError('UNSUPPORTED', `PCM WAV with ${bits} bits per sample is not supported`);
    }
    // Plain PCM may state e.g. 12 or 20 bits; samples then sit left-justified in whole bytes.
    containerBits = Math.ceil(bits / 8) * 8;
    if (tag !== FORMAT_EXTENSIBLE) validBits = bits;
    format = (['pcm8', 'pcm16', 'pcm24', 'pcm32'] as const)[containerBits / 8 - 1]!;
  }
  const expectedAlign = channels * (containerBits / 8);
  if (blockAlign !== expectedAlign) {
    throw bad(
      `WAV block align is ${blockAlign}, but ${channels} channel(s) of ${containerBits}-bit samples need ${expectedAlign}`,
    );
  }
  return {
    sampleRate,
    channels,
    format,
    containerBits,
    validBits,
    formatTag: tag,
    extensible: tag === FORMAT_EXTENSIBLE,
    channelMask,
    container,
  };
}

/**
 * Decodes a WAV file (RIFF or RF64; PCM 8/16/24/32-bit, IEEE float 32/64-bit; any channel count up to
 * 1024; plain or WAVE_FORMAT_EXTENSIBLE) into planar float32 channels. PCM maps to [-1, 1) by dividing
 * by 2^(bits-1) (8-bit is unsigned, offset 128).
 */
export function decodeWav(bytes: Uint8Array, options: DecodeWavOptions = {}): AudioClip {
  const info = inspectWav(bytes);
  if (info.truncated && !options.allowTruncated) {
    throw bad(
      `WAV data chunk declares ${info.declaredDataBytes} bytes but ${info.declaredDataBytes > bytes.length - info.dataOffset ? `only ${bytes.length - info.dataOffset} are present` : 'that is not a whole number of frames'} (pass allowTruncated to keep the ${info.frames} whole frames)`,
      { declared: info.declaredDataBytes, frames: info.frames },
    );
  }
  const { channels: nch, frames } = info;
  const out: Float32Array[] = [];
  for (let c = 0; c < nch; c++) out.push(new Float32Array(frames));
  const dv = new DataView(bytes.buffer, bytes.byteOffset + info.dataOffset, info.dataBytes);
  const step = info.containerBits / 8;
  const stride = nch * step;
  for (let c = 0; c < nch; c++) {
    const ch = out[c]!;
    let p = c * step;
    switch (info.format) {
      case 'pcm8':
        for (let i = 0; i < frames; i++, p += stride) ch[i] = (dv.getUint8(p) - 128) / 128;
        break;
      case 'pcm16':
        for (let i = 0; i < frames; i++, p += stride) ch[i] = dv.getInt16(p, true) / 32768;
        break;
      case 'pcm24':
        for (let i = 0; i < frames; i++, p += stride) {
          const v = dv.getUint8(p) | (dv.getUint8(p + 1) << 8) | (dv.getInt8(p + 2) << 16);
          ch[i] = v / 8388608;
        }
        break;
      case 'pcm32':
        for (let i = 0; i < frames; i++, p += stride) ch[i] = dv.getInt32(p, true) / 2147483648;
        break;
      case 'f32':
        for (let i = 0; i < frames; i++, p += stride) ch[i] = dv.getFloat32(p, true);
        break;
      case 'f64':
        for (let i = 0; i < frames; i++, p += stride) ch[i] = dv.getFloat64(p, true);
        break;
    }
  }
  const clip = audioClip(info.sampleRate, out);
  if (!options.allowNonFinite && (info.format === 'f32' || info.format === 'f64'))
    assertFinite(clip, 'WAV data');
  return clip;
}

/**
 * Encodes a clip as a little-endian RIFF WAV file. PCM formats round to nearest after clamping to
 * [-1, 1 - 2^-(bits-1)] (no dither); float formats store the values as they are. NaN/±Inf samples throw
 * NON_FINITE_AUDIO. Data over 4 GiB (the RIFF limit) throws UNSUPPORTED.
 */
export function encodeWav(clip: AudioClip, options: EncodeWavOptions = {}): Uint8Array {
  const format = options.format ?? 'pcm16';
  const props = FORMAT_PROPS[format];
  if (props === undefined) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `unknown WAV format ${JSON.stringify(format)}; use one of ${Object.keys(FORMAT_PROPS).join(', ')}`,
    );
  }
  const checked = audioClip(clip?.sampleRate, clip?.channels ?? []);
  if (checked.sampleRate > 0xffffffff)
    throw new AudiogenError('UNSUPPORTED', 'sample rate does not fit a WAV header');
  assertFinite(checked, 'audio to encode');
  const nch = checked.channels.length;
  if (nch > 0xffff) throw new AudiogenError('UNSUPPORTED', `${nch} channels do not fit a WAV header`);
  const frames = checked.channels[0]!.length;
  const extensible =
    options.extensible === 'auto' || options.extensible === undefined ? nch > 2 : options.extensible;
  const bytesPer = props.bytes;
  const blockAlign = nch * bytesPer;
  if (blockAlign > 0xffff) throw new AudiogenError('UNSUPPORTED', 'block align does not fit a WAV header');
  if (checked.sampleRate * blockAlign > 0xffffffff) {
    throw new AudiogenError('UNSUPPORTED', 'byte rate (sample rate × block align) does not fit a WAV header');
  }
  const dataBytes = frames * blockAlign;
  const fmtSize = extensible ? 40 : props.float ? 18 : 16;
  const hasFact = props.float;
  const list = encodeTags(options.tags);
  const headerBytes = 12 + 8 + fmtSize + (hasFact ? 12 : 0) + (list?.length ?? 0) + 8;
  const pad = dataBytes % 2;
  const total = headerBytes + dataBytes + pad;
  if (total - 8 > 0xffffffff) {
    throw new AudiogenError(
      'UNSUPPORTED',
      `audio is too long for a RIFF WAV file (${dataBytes} data bytes > 4 GiB)`,
    );
  }
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  const ascii = (off: number, s: string) => {
    for (let i = 0; i < 4; i++) out[off + i] = s.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  dv.setUint32(4, total - 8, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  dv.setUint32(16, fmtSize, true);
  const tag = props.float ? FORMAT_FLOAT : FORMAT_PCM;
  dv.setUint16(20, extensible ? FORMAT_EXTENSIBLE : tag, true);
  dv.setUint16(22, nch, true);
  dv.setUint32(24, checked.sampleRate, true);
  dv.setUint32(28, checked.sampleRate * blockAlign, true);
  dv.setUint16(32, blockAlign, true);
  dv.setUint16(34, bytesPer * 8, true);
  let off = 36;
  if (fmtSize >= 18) {
    dv.setUint16(36, extensible ? 22 : 0, true);
    off = 38;
  }
  if (extensible) {
    dv.setUint16(38, bytesPer * 8, true);
    dv.setUint32(40, options.channelMask ?? DEFAULT_MASKS[nch] ?? 0, true);
    dv.setUint32(44, tag, true);
    out.set(SUBFORMAT_TAIL, 48);
    off = 60;
  }
  if (hasFact) {
    ascii(off, 'fact');
    dv.setUint32(off + 4, 4, true);
    dv.setUint32(off + 8, frames, true);
    off += 12;
  }
  if (list) {
    out.set(list, off);
    off += list.length;
  }
  ascii(off, 'data');
  dv.setUint32(off + 4, dataBytes, true);
  off += 8;
  const dither = options.dither ?? 'none';
  if (dither !== 'none' && dither !== 'tpdf') {
    throw new AudiogenError('INVALID_ARGUMENT', `dither must be 'none' or 'tpdf', got ${String(dither)}`);
  }
  let rng = (options.ditherSeed ?? 1) >>> 0 || 1;
  const uniform = (): number => {
    // xorshift32: a fixed, documented generator so dithered output is reproducible.
    rng ^= rng << 13;
    rng >>>= 0;
    rng ^= rng >>> 17;
    rng ^= rng << 5;
    rng >>>= 0;
    return rng / 4294967296;
  };
  const q =
    dither === 'tpdf' && !props.float
      ? (x: number, scale: number) => quantize(x + (uniform() - uniform()) / scale, scale)
      : quantize;
  for (let c = 0; c < nch; c++) {
    const ch = checked.channels[c]!;
    let p = off + c * bytesPer;
    switch (format) {
      case 'pcm8':
        for (let i = 0; i < frames; i++, p += blockAlign) out[p] = q(ch[i]!, 128) + 128;
        break;
      case 'pcm16':
        for (let i = 0; i < frames; i++, p += blockAlign) dv.setInt16(p, q(ch[i]!, 32768), true);
        break;
      case 'pcm24':
        for (let i = 0; i < frames; i++, p += blockAlign) {
          const v = q(ch[i]!, 8388608);
          out[p] = v & 0xff;
          out[p + 1] = (v >> 8) & 0xff;
          out[p + 2] = (v >> 16) & 0xff;
        }
        break;
      case 'pcm32':
        for (let i = 0; i < frames; i++, p += blockAlign) dv.setInt32(p, q(ch[i]!, 2147483648), true);
        break;
      case 'f32':
        for (let i = 0; i < frames; i++, p += blockAlign) dv.setFloat32(p, ch[i]!, true);
        break;
      case 'f64':
        for (let i = 0; i < frames; i++, p += blockAlign) dv.setFloat64(p, ch[i]!, true);
        break;
    }
  }
  return out;
}

function quantize(x: number, scale: number): number {
  const v = Math.round(x * scale);
  return Math.min(scale - 1, Math.max(v, -scale));
}

/** Encodes and writes a WAV file atomically (temp file + fsync + rename; never a partial file). */
export async function writeWav(path: string, clip: AudioClip, options: EncodeWavOptions = {}): Promise<void> {
  if (typeof path !== 'string' || path.length === 0) {
    throw new AudiogenError('INVALID_ARGUMENT', 'writeWav needs a file path');
  }
  await writeFileAtomic(path, encodeWav(clip, options));
}

/** Reads and decodes a WAV file. Missing file → MISSING_FILE; other I/O failures → IO_ERROR. */
export async function readWav(path: string, options: DecodeWavOptions = {}): Promise<AudioClip> {
  if (typeof path !== 'string' || path.length === 0) {
    throw new AudiogenError('INVALID_ARGUMENT', 'readWav needs a file path');
  }
  // Regular files only (a FIFO or /dev/zero is refused), size known before reading.
  const bytes = await readInputFile(path, { what: 'WAV file' });
  try {
    return decodeWav(bytes, options);
  } catch (e) {
    if (e instanceof AudiogenError) {
      throw new AudiogenError(e.code, `${path}: ${e.message}`, { cause: e, details: { ...e.details, path } });
    }
    throw e;
  }
}
