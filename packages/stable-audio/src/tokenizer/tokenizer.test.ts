import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAudiogenError } from '@audiogen/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SentencePieceModel } from './sentencepiece';
import { T5Tokenizer } from './t5';
import { varietyStrings } from './test-strings';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const python = join(root, '.venv/bin/python');
const scripts = join(root, 'packages/stable-audio/scripts');
const assetModel = join(root, 'packages/convert/assets/spiece.model');

/** Python sentencepiece's ids for the texts (one child process per call). */
function pythonIds(model: string, texts: string[]): number[][] {
  const out = execFileSync(python, [join(scripts, 'spm_encode.py')], {
    input: JSON.stringify({ model, texts }),
    maxBuffer: 256 * 1024 * 1024,
  });
  return JSON.parse(out.toString('utf8')).ids;
}

function firstMismatch(model: SentencePieceModel, texts: string[], expected: number[][]) {
  for (let i = 0; i < texts.length; i++) {
    const got = model.encode(texts[i]!);
    const want = expected[i]!;
    if (got.length !== want.length || got.some((v, k) => v !== want[k])) {
      return { index: i, text: JSON.stringify(texts[i]), got, want, normalized: model.normalize(texts[i]!) };
    }
  }
  return undefined;
}

describe('SentencePiece conformance with Python sentencepiece', () => {
  let tmp: string;
  let bfModel: string;
  beforeAll(() => {
    if (!existsSync(python)) throw new Error(`${python} is missing: run scripts/setup-dev.sh`);
    tmp = mkdtempSync(join(tmpdir(), 'audiogen-spm-'));
    bfModel = join(tmp, 'bf.model');
    execFileSync(python, [join(scripts, 'train_spiece.py'), '--out', bfModel, '--byte-fallback']);
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('matches id for id on 10,000 varied strings (T5-style nmt_nfkc model, the committed asset)', () => {
    const texts = varietyStrings(10_000, 42);
    const expected = pythonIds(assetModel, texts);
    const model = SentencePieceModel.fromBytes(readFileSync(assetModel));
    expect(model.normalizerSpec.name).toBe('nmt_nfkc');
    expect(model.normalizerSpec.precompiledCharsmap.length).toBeGreaterThan(1000);
    expect(firstMismatch(model, texts, expected)).toBeUndefined();
    // The set really exercises unknowns and multi-piece segmentations.
    const flat = expected.flat();
    expect(flat.filter((id) => id === model.unkId).length).toBeGreaterThan(1000);
    expect(new Set(flat).size).toBeGreaterThan(250);
  });

  it('matches on a byte-fallback model with a user-defined symbol', () => {
    const texts = varietyStrings(3_000, 7);
    const expected = pythonIds(bfModel, texts);
    const model = SentencePieceModel.fromBytes(readFileSync(bfModel));
    expect(model.trainer.byteFallback).toBe(true);
    expect(firstMismatch(model, texts, expected)).toBeUndefined();
  });
});

describe('T5Tokenizer', () => {
  const bytes = readFileSync(assetModel);

  it('appends EOS 1, pads with 0 and builds the mask', () => {
    const tok = T5Tokenizer.fromBytes(bytes, { maxLength: 16 });
    const raw = tok.encodeIds('birds singing in the morning');
    expect(raw.length).toBeGreaterThan(0);
    const t = tok.encode('birds singing in the morning');
    expect(t.length).toBe(raw.length + 1);
    expect([...t.ids.slice(0, raw.length)]).toEqual(raw);
    expect(t.ids[raw.length]).toBe(1);
    expect([...t.ids.slice(raw.length + 1)].every((v) => v === 0)).toBe(true);
    expect([...t.mask]).toEqual([...t.ids].map((_, i) => (i <= raw.length ? 1 : 0)));
    expect(t.truncated).toBe(false);
  });

  it('with padTo: at most maxLength ids (EOS included), padded further — the reference max_length 64 in 128 positions', () => {
    const tok = T5Tokenizer.fromBytes(bytes, { maxLength: 64, padTo: 128 });
    const long = 'warm ambient techno track with piano and drums '.repeat(10);
    const raw = tok.encodeIds(long);
    expect(raw.length).toBeGreaterThan(64);
    const t = tok.encode(long);
    expect(t.ids.length).toBe(128);
    expect(t.mask.length).toBe(128);
    expect(t.truncated).toBe(true);
    expect(t.length).toBe(64);
    expect([...t.ids.slice(0, 63)]).toEqual(raw.slice(0, 63));
    expect(t.ids[63]).toBe(1);
    expect([...t.ids.slice(64)].every((v) => v === 0)).toBe(true);
    expect([...t.mask]).toEqual([...t.ids].map((_, i) => (i < 64 ? 1 : 0)));
    const short = tok.encode('birds singing in the morning');
    expect(short.truncated).toBe(false);
    expect(short.ids.length).toBe(128);
    expect(() => T5Tokenizer.fromBytes(bytes, { maxLength: 64, padTo: 32 })).toThrow(/padTo must be/);
  });

  it('an empty prompt is just EOS', () => {
    const t = T5Tokenizer.fromBytes(bytes, { maxLength: 8 }).encode('   ');
    expect([...t.ids]).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(t.length).toBe(1);
  });

  it('truncates long prompts to maxLength-1 ids plus EOS and says so', () => {
    const tok = T5Tokenizer.fromBytes(bytes, { maxLength: 128 });
    const long = 'warm ambient techno track with piano and drums '.repeat(40);
    const raw = tok.encodeIds(long);
    expect(raw.length).toBeGreaterThan(128);
    const t = tok.encode(long);
    expect(t.truncated).toBe(true);
    expect(t.length).toBe(128);
    expect([...t.ids.slice(0, 127)]).toEqual(raw.slice(0, 127));
    expect(t.ids[127]).toBe(1);
    // Exactly full (127 ids + EOS) is not truncated.
    const tok2 = tok.withMaxLength(raw.length + 1);
    expect(tok2.encode(long).truncated).toBe(false);
    expect(tok.withMaxLength(raw.length).encode(long).truncated).toBe(true);
  });

  it('rejects bad model bytes and bad options with typed errors', () => {
    const bad = [new Uint8Array(0), new Uint8Array([0xff, 0xff, 0xff]), new Uint8Array([0x0a, 0x50, 1, 2])];
    for (const b of bad) {
      try {
        T5Tokenizer.fromBytes(b);
        expect.unreachable();
      } catch (e) {
        expect(isAudiogenError(e, 'INVALID_TOKENIZER')).toBe(true);
      }
    }
    // Truncated copies of the real model never crash: they load or throw INVALID_TOKENIZER.
    for (const n of [1, 10, 100, 1000, 5000, 100_000]) {
      try {
        T5Tokenizer.fromBytes(bytes.subarray(0, n)).encode('hello');
      } catch (e) {
        expect(isAudiogenError(e)).toBe(true);
      }
    }
    expect(() => T5Tokenizer.fromBytes(bytes, { maxLength: 1 })).toThrow(/maxLength/);
  });

  it('fromFile names the missing file', async () => {
    await expect(T5Tokenizer.fromFile('/nonexistent/spiece.model')).rejects.toMatchObject({
      code: 'MISSING_FILE',
    });
  });
});
