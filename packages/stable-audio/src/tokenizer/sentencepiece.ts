import { AudiogenError } from '@audiogen/core';
import { ProtoReader } from './protobuf';

/** SentencePiece piece types (sentencepiece_model.proto). */
export const PieceType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

export interface SentencePieceEntry {
  piece: string;
  score: number;
  type: number;
}

export interface TrainerSpecInfo {
  modelType: number;
  vocabSize: number;
  treatWhitespaceAsSuffix: boolean;
  byteFallback: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
}

export interface NormalizerSpecInfo {
  name: string;
  precompiledCharsmap: Uint8Array;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
}

export interface SentencePieceModelProto {
  pieces: SentencePieceEntry[];
  trainer: TrainerSpecInfo;
  normalizer: NormalizerSpecInfo;
}

const MODEL_TYPE_UNIGRAM = 1;

function parsePiece(r: ProtoReader): SentencePieceEntry {
  const e: SentencePieceEntry = { piece: '', score: 0, type: PieceType.NORMAL };
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === 2) e.piece = r.string();
    else if (f === 2 && w === 5) e.score = r.float();
    else if (f === 3 && w === 0) e.type = r.int32();
    else r.skip(w);
  }
  return e;
}

function parseTrainer(r: ProtoReader | undefined): TrainerSpecInfo {
  const t: TrainerSpecInfo = {
    modelType: MODEL_TYPE_UNIGRAM,
    vocabSize: 8000,
    treatWhitespaceAsSuffix: false,
    byteFallback: false,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
  };
  if (!r) return t;
  while (!r.done) {
    const [f, w] = r.tag();
    if (w !== 0) {
      r.skip(w);
      continue;
    }
    const v = r.int32();
    if (f === 3) t.modelType = v;
    else if (f === 4) t.vocabSize = v;
    else if (f === 24) t.treatWhitespaceAsSuffix = v !== 0;
    else if (f === 35) t.byteFallback = v !== 0;
    else if (f === 40) t.unkId = v;
    else if (f === 41) t.bosId = v;
    else if (f === 42) t.eosId = v;
    else if (f === 43) t.padId = v;
  }
  return t;
}

function parseNormalizer(r: ProtoReader | undefined): NormalizerSpecInfo {
  const n: NormalizerSpecInfo = {
    name: '',
    precompiledCharsmap: new Uint8Array(0),
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
    escapeWhitespaces: true,
  };
  if (!r) return n;
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === 2) n.name = r.string();
    else if (f === 2 && w === 2) n.precompiledCharsmap = r.bytesField();
    else if (f === 3 && w === 0) n.addDummyPrefix = r.varint() !== 0;
    else if (f === 4 && w === 0) n.removeExtraWhitespaces = r.varint() !== 0;
    else if (f === 5 && w === 0) n.escapeWhitespaces = r.varint() !== 0;
    else r.skip(w);
  }
  return n;
}

/** Parses a serialized SentencePiece ModelProto (the `spiece.model` file). */
export function parseModelProto(bytes: Uint8Array): SentencePieceModelProto {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
    throw new AudiogenError('INVALID_TOKENIZER', 'the SentencePiece model is empty');
  }
  const r = new ProtoReader(bytes);
  const pieces: SentencePieceEntry[] = [];
  let trainer: ProtoReader | undefined;
  let normalizer: ProtoReader | undefined;
  while (!r.done) {
    const [f, w] = r.tag();
    if (w === 2 && (f === 1 || f === 2 || f === 3)) {
      const sub = r.sub(r.lengthDelimited());
      if (f === 1) pieces.push(parsePiece(sub));
      else if (f === 2) trainer = sub;
      else normalizer = sub;
    } else r.skip(w);
  }
  if (pieces.length === 0) {
    throw new AudiogenError(
      'INVALID_TOKENIZER',
      'the SentencePiece model has no pieces (is this a spiece.model file?)',
    );
  }
  return { pieces, trainer: parseTrainer(trainer), normalizer: parseNormalizer(normalizer) };
}

// ---------------------------------------------------------------- normalizer

const SPACE_SYMBOL = new Uint8Array([0xe2, 0x96, 0x81]); // U+2581 ▁
const REPLACEMENT = new Uint8Array([0xef, 0xbf, 0xbd]);

/** Byte trie used for user-defined symbols and for the vocabulary. */
interface TrieNode {
  next: Map<number, TrieNode>;
  value: number;
}

function newNode(): TrieNode {
  return { next: new Map(), value: -1 };
}

function trieInsert(root: TrieNode, key: Uint8Array, value: number): void {
  let n = root;
  for (const b of key) {
    let c = n.next.get(b);
    if (!c) {
      c = newNode();
      n.next.set(b, c);
    }
    n = c;
  }
  n.value = value;
}

/** Length of a valid UTF-8 character at `pos`, or 0 when the bytes there are malformed. */
function validUtf8Len(s: Uint8Array, pos: number, end: number): number {
  const b0 = s[pos]!;
  if (b0 < 0x80) return 1;
  let len: number;
  let min: number;
  if ((b0 & 0xe0) === 0xc0) {
    len = 2;
    min = 0x80;
  } else if ((b0 & 0xf0) === 0xe0) {
    len = 3;
    min = 0x800;
  } else if ((b0 & 0xf8) === 0xf0) {
    len = 4;
    min = 0x10000;
  } else return 0;
  if (pos + len > end) return 0;
  let cp = b0 & (0xff >> (len + 1));
  for (let i = 1; i < len; i++) {
    const b = s[pos + i]!;
    if ((b & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

/** SentencePiece's OneCharLen: length from the lead byte only. */
function oneCharLen(b: number): number {
  const hi = b >> 4;
  if (hi < 12) return 1;
  if (hi < 14) return 2;
  if (hi === 14) return 3;
  return 4;
}

/**
 * The precompiled character map: a Darts double-array trie over UTF-8 byte keys whose values
 * are offsets into a blob of NUL-terminated replacement strings.
 */
class CharsMap {
  private readonly units: Uint32Array;
  private readonly normalized: Uint8Array;

  constructor(blob: Uint8Array) {
    if (blob.length < 4) throw new AudiogenError('INVALID_TOKENIZER', 'precompiled charsmap is too short');
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    const trieSize = view.getUint32(0, true);
    if (trieSize % 4 !== 0 || 4 + trieSize >= blob.length) {
      throw new AudiogenError('INVALID_TOKENIZER', 'precompiled charsmap has an invalid trie size');
    }
    this.units = new Uint32Array(trieSize / 4);
    for (let i = 0; i < this.units.length; i++) this.units[i] = view.getUint32(4 + i * 4, true);
    this.normalized = blob.subarray(4 + trieSize);
  }

  /** Longest match starting at pos: [matchLength, replacement] or undefined. */
  longestPrefix(s: Uint8Array, pos: number, end: number): [number, Uint8Array] | undefined {
    const units = this.units;
    const offset = (u: number) => (u >>> 10) << ((u & (1 << 9)) >>> 6);
    let nodePos = 0;
    let unit = units[0];
    if (unit === undefined) return undefined;
    nodePos ^= offset(unit);
    let bestLen = 0;
    let bestValue = 0;
    for (let i = pos; i < end; i++) {
      const c = s[i]!;
      nodePos ^= c;
      unit = units[nodePos];
      if (unit === undefined) break;
      // label(): unit & ((1 << 31) | 0xff)
      if ((unit & 0x800000ff) >>> 0 !== c) break;
      nodePos ^= offset(unit);
      if ((unit >>> 8) & 1) {
        const leaf = units[nodePos];
        if (leaf === undefined) break;
        bestLen = i - pos + 1;
        bestValue = leaf & 0x7fffffff;
      }
    }
    if (bestLen === 0) return undefined;
    let e = bestValue;
    while (e < this.normalized.length && this.normalized[e] !== 0) e++;
    return [bestLen, this.normalized.subarray(bestValue, e)];
  }
}

export class SentencePieceNormalizer {
  private readonly charsMap: CharsMap | undefined;
  private readonly userDefined: TrieNode | undefined;

  constructor(
    private readonly spec: NormalizerSpecInfo,
    private readonly treatWhitespaceAsSuffix: boolean,
    userDefinedSymbols: readonly string[] = [],
  ) {
    this.charsMap = spec.precompiledCharsmap.length > 0 ? new CharsMap(spec.precompiledCharsmap) : undefined;
    if (userDefinedSymbols.length > 0) {
      this.userDefined = newNode();
      for (const s of userDefinedSymbols) trieInsert(this.userDefined, encoder.encode(s), 1);
    }
  }

  /** One normalisation step at pos: [replacement bytes, consumed byte count]. */
  private normalizePrefix(s: Uint8Array, pos: number, end: number): [Uint8Array, number] {
    if (this.userDefined) {
      let n: TrieNode | undefined = this.userDefined;
      let best = 0;
      for (let i = pos; i < end && n; i++) {
        n = n.next.get(s[i]!);
        if (n && n.value >= 0) best = i - pos + 1;
      }
      if (best > 0) return [s.subarray(pos, pos + best), best];
    }
    const m = this.charsMap?.longestPrefix(s, pos, end);
    if (m) return [m[1], m[0]];
    const len = validUtf8Len(s, pos, end);
    if (len === 0) return [REPLACEMENT, 1];
    return [s.subarray(pos, pos + len), len];
  }

  /** Normalises UTF-8 bytes as SentencePiece's Normalizer::Normalize does. */
  normalize(input: Uint8Array): Uint8Array {
    const spec = this.spec;
    const end = input.length;
    let pos = 0;
    if (spec.removeExtraWhitespaces) {
      while (pos < end) {
        const [sp, n] = this.normalizePrefix(input, pos, end);
        if (!(sp.length === 1 && sp[0] === 0x20)) break;
        pos += n;
      }
    }
    if (pos >= end) return new Uint8Array(0);
    const out: number[] = [];
    const addWs = () => {
      if (spec.escapeWhitespaces) out.push(...SPACE_SYMBOL);
      else out.push(0x20);
    };
    if (!this.treatWhitespaceAsSuffix && spec.addDummyPrefix) addWs();
    let isPrevSpace = spec.removeExtraWhitespaces;
    while (pos < end) {
      const [sp, n] = this.normalizePrefix(input, pos, end);
      let i = 0;
      if (isPrevSpace && spec.removeExtraWhitespaces) {
        while (i < sp.length && sp[i] === 0x20) i++;
      }
      if (i < sp.length) {
        for (let k = i; k < sp.length; k++) {
          const b = sp[k]!;
          if (spec.escapeWhitespaces && b === 0x20) out.push(...SPACE_SYMBOL);
          else out.push(b);
        }
        isPrevSpace = sp[sp.length - 1] === 0x20;
      }
      pos += n;
      if (!spec.removeExtraWhitespaces) isPrevSpace = false;
    }
    if (spec.removeExtraWhitespaces) {
      const space = spec.escapeWhitespaces ? SPACE_SYMBOL : [0x20];
      const endsWithSpace = () => {
        if (out.length < space.length) return false;
        for (let k = 0; k < space.length; k++)
          if (out[out.length - space.length + k] !== space[k]) return false;
        return true;
      };
      while (endsWithSpace()) out.length -= space.length;
    }
    if (this.treatWhitespaceAsSuffix && spec.addDummyPrefix) addWs();
    return Uint8Array.from(out);
  }
}

// ---------------------------------------------------------------- unigram model

const UNK_PENALTY = 10;
const encoder = new TextEncoder();

export interface EncodedPiece {
  id: number;
  /** Byte range in the normalised string. */
  start: number;
  end: number;
}

/**
 * A SentencePiece unigram model: normalisation, Viterbi segmentation (float32 scores, ties broken as
 * SentencePiece's optimised encoder does), unknown merging and byte fallback.
 */
export class SentencePieceModel {
  readonly pieces: readonly SentencePieceEntry[];
  readonly trainer: TrainerSpecInfo;
  readonly normalizerSpec: NormalizerSpecInfo;
  readonly unkId: number;
  private readonly normalizer: SentencePieceNormalizer;
  private readonly trie: TrieNode = newNode();
  private readonly reserved = new Map<string, number>();
  private readonly pieceIds = new Map<string, number>();
  private readonly minScore: number;
  private readonly maxScore: number;

  constructor(proto: SentencePieceModelProto) {
    this.pieces = proto.pieces;
    this.trainer = proto.trainer;
    this.normalizerSpec = proto.normalizer;
    if (proto.trainer.modelType !== MODEL_TYPE_UNIGRAM) {
      throw new AudiogenError(
        'UNSUPPORTED',
        `only unigram SentencePiece models are supported (T5 uses one); this model has type ${proto.trainer.modelType}`,
      );
    }
    let unk = -1;
    const userDefined: string[] = [];
    let minScore = 3.4028234663852886e38;
    let maxScore = 1.1754943508222875e-38;
    proto.pieces.forEach((p, i) => {
      const isNormal =
        p.type === PieceType.NORMAL || p.type === PieceType.USER_DEFINED || p.type === PieceType.UNUSED;
      const map = isNormal ? this.pieceIds : this.reserved;
      if (map.has(p.piece)) {
        throw new AudiogenError(
          'INVALID_TOKENIZER',
          `the SentencePiece model has a duplicate piece "${p.piece}"`,
        );
      }
      map.set(p.piece, i);
      if (p.type === PieceType.UNKNOWN) unk = i;
      if (p.type === PieceType.USER_DEFINED) userDefined.push(p.piece);
      if (p.type === PieceType.NORMAL) {
        minScore = Math.min(minScore, p.score);
        maxScore = Math.max(maxScore, p.score);
      }
      if (isNormal && p.piece.length > 0) trieInsert(this.trie, encoder.encode(p.piece), i);
    });
    if (unk < 0) throw new AudiogenError('INVALID_TOKENIZER', 'the SentencePiece model has no <unk> piece');
    this.unkId = unk;
    this.minScore = Math.fround(minScore);
    this.maxScore = Math.fround(maxScore);
    this.normalizer = new SentencePieceNormalizer(
      proto.normalizer,
      proto.trainer.treatWhitespaceAsSuffix,
      userDefined,
    );
  }

  static fromBytes(bytes: Uint8Array): SentencePieceModel {
    return new SentencePieceModel(parseModelProto(bytes));
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  pieceToId(piece: string): number {
    return this.reserved.get(piece) ?? this.pieceIds.get(piece) ?? this.unkId;
  }

  idToPiece(id: number): string | undefined {
    return this.pieces[id]?.piece;
  }

  normalize(text: string): string {
    return new TextDecoder().decode(this.normalizer.normalize(encoder.encode(text)));
  }

  /** Viterbi segmentation of an already normalised byte string. */
  private viterbi(s: Uint8Array): EncodedPiece[] {
    const size = s.length;
    const bestScore = new Float32Array(size + 1);
    const startsAt = new Int32Array(size + 1).fill(-1);
    const ids = new Int32Array(size + 1).fill(-1);
    const unkScore = Math.fround(this.minScore - UNK_PENALTY);
    const pieces = this.pieces;
    let start = 0;
    while (start < size) {
      const till = bestScore[start]!;
      let hasSingle = false;
      const mblen = Math.min(oneCharLen(s[start]!), size - start);
      let node: TrieNode | undefined = this.trie;
      for (let k = start; k < size; k++) {
        node = node.next.get(s[k]!);
        if (!node) break;
        const id = node.value;
        if (id < 0) continue;
        const type = pieces[id]!.type;
        if (type === PieceType.UNUSED) continue;
        const end = k + 1;
        const length = end - start;
        let cand: number;
        if (type === PieceType.USER_DEFINED) {
          // (length * max_score_ - 0.1) is a double in SentencePiece; the sum is compared in double.
          cand = length * this.maxScore - 0.1 + till;
        } else {
          cand = Math.fround(pieces[id]!.score + till);
        }
        if (startsAt[end] === -1 || cand > bestScore[end]!) {
          bestScore[end] = cand;
          startsAt[end] = start;
          ids[end] = id;
        }
        if (!hasSingle && length === mblen) hasSingle = true;
      }
      if (!hasSingle) {
        const end = start + mblen;
        const cand = Math.fround(unkScore + till);
        if (startsAt[end] === -1 || cand > bestScore[end]!) {
          bestScore[end] = cand;
          startsAt[end] = start;
          ids[end] = this.unkId;
        }
      }
      start += mblen;
    }
    const out: EncodedPiece[] = [];
    let end = size;
    while (end > 0) {
      const st = startsAt[end]!;
      out.push({ id: ids[end]!, start: st, end });
      end = st;
    }
    return out.reverse();
  }

  /** Text → ids, as SentencePieceProcessor::EncodeAsIds (no BOS/EOS). */
  encode(text: string): number[] {
    if (typeof text !== 'string')
      throw new AudiogenError('INVALID_ARGUMENT', 'text to tokenize must be a string');
    const normalized = this.normalizer.normalize(encoder.encode(text));
    const result = this.viterbi(normalized);
    const ids: number[] = [];
    let prevUnk = false;
    for (const p of result) {
      const isUnk = p.id === this.unkId;
      if (isUnk && this.trainer.byteFallback) {
        for (let i = p.start; i < p.end; i++) {
          const hex = normalized[i]!.toString(16).toUpperCase().padStart(2, '0');
          ids.push(this.pieceToId(`<0x${hex}>`));
        }
      } else if (!(isUnk && prevUnk)) {
        ids.push(p.id);
      }
      prevUnk = isUnk;
    }
    return ids;
  }
}
