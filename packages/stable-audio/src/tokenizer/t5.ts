import { AudiogenError, readInputFile, type TokenizedText, type Tokenizer } from '@audiogen/core';
import { SentencePieceModel } from './sentencepiece';

const MAX_SPIECE_BYTES = 64 * 1024 * 1024;

export interface T5TokenizerOptions {
  /** Most ids a text keeps, EOS included (the reference model's max_length: 64). Default 128. */
  maxLength?: number;
  /**
   * Length of the padded id buffer when the model takes more positions than a text may fill (Arm's
   * conditioner graph: 128 for a max_length of 64). Default `maxLength`.
   */
  padTo?: number;
}

export const DEFAULT_T5_MAX_LENGTH = 128;

/**
 * T5's tokenizer: SentencePiece unigram ids, then EOS (id 1 for T5), then padding (id 0) up to
 * `padTo` (default `maxLength`). Texts that do not fit are cut to `maxLength - 1` ids plus EOS, and
 * `truncated` says so.
 */
export class T5Tokenizer implements Tokenizer {
  readonly maxLength: number;
  readonly padTo: number;
  readonly eosId: number;
  readonly padId: number;

  constructor(
    readonly model: SentencePieceModel,
    options: T5TokenizerOptions = {},
  ) {
    const maxLength = options.maxLength ?? DEFAULT_T5_MAX_LENGTH;
    if (!Number.isInteger(maxLength) || maxLength < 2 || maxLength > 65536) {
      throw new AudiogenError(
        'INVALID_ARGUMENT',
        `maxLength must be an integer in [2, 65536], got ${maxLength}`,
      );
    }
    this.maxLength = maxLength;
    const padTo = options.padTo ?? maxLength;
    if (!Number.isInteger(padTo) || padTo < maxLength || padTo > 65536) {
      throw new AudiogenError(
        'INVALID_ARGUMENT',
        `padTo must be an integer in [maxLength (${maxLength}), 65536], got ${padTo}`,
      );
    }
    this.padTo = padTo;
    const t = model.trainer;
    this.eosId = t.eosId >= 0 ? t.eosId : 1;
    this.padId = Math.max(t.padId, 0);
  }

  /** A SentencePiece model is under 1 MB (t5-base: 792 kB); a far larger file is not one. */
  static readonly MAX_FILE_BYTES = MAX_SPIECE_BYTES;

  static fromBytes(bytes: Uint8Array, options: T5TokenizerOptions = {}): T5Tokenizer {
    return new T5Tokenizer(SentencePieceModel.fromBytes(bytes), options);
  }

  static async fromFile(path: string, options: T5TokenizerOptions = {}): Promise<T5Tokenizer> {
    const bytes = await readInputFile(path, { what: 'SentencePiece model', maxBytes: MAX_SPIECE_BYTES });
    return T5Tokenizer.fromBytes(bytes, options);
  }

  /** A tokenizer sharing the vocabulary with a different length (padded to it unless `padTo` is given). */
  withMaxLength(maxLength: number, padTo?: number): T5Tokenizer {
    return new T5Tokenizer(this.model, { maxLength, ...(padTo !== undefined ? { padTo } : {}) });
  }

  /** SentencePiece ids without EOS or padding. */
  encodeIds(text: string): number[] {
    return this.model.encode(text);
  }

  encode(text: string): TokenizedText {
    const raw = this.model.encode(text);
    const ids = new Int32Array(this.padTo).fill(this.padId);
    const mask = new Int32Array(this.padTo);
    const truncated = raw.length + 1 > this.maxLength;
    const keep = truncated ? this.maxLength - 1 : raw.length;
    for (let i = 0; i < keep; i++) ids[i] = raw[i]!;
    ids[keep] = this.eosId;
    const length = keep + 1;
    mask.fill(1, 0, length);
    return { ids, mask, length, truncated };
  }
}
