import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTflite, writeTflite } from '@audiogen/core/tflite';
import { afterAll, describe, expect, it } from 'vitest';
import { quantizeModelFolder } from './model';
import { convModel, mlpModel } from './test-models';

const root = mkdtempSync(join(tmpdir(), 'audiogen-qfolder-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('quantizeModelFolder', () => {
  it('applies the per-component preset and copies the other files', async () => {
    const src = join(root, 'in');
    const out = join(root, 'out');
    mkdirSync(src);
    writeFileSync(join(src, 'dit_model.tflite'), writeTflite(mlpModel()));
    writeFileSync(join(src, 'autoencoder_model.tflite'), writeTflite(convModel()));
    writeFileSync(join(src, 'audiogen.json'), '{"family":"stable-audio-open-small"}');
    const reports = await quantizeModelFolder(src, out, 'balanced');
    expect(Object.keys(reports).sort()).toEqual(['autoencoder_model.tflite', 'dit_model.tflite']);
    const dit = readTflite(new Uint8Array(readFileSync(join(out, 'dit_model.tflite'))));
    expect(dit.subgraphs[0]!.tensors.find((t) => t.name === 'dense1/kernel')!.type).toBe('INT8');
    const dec = readTflite(new Uint8Array(readFileSync(join(out, 'autoencoder_model.tflite'))));
    expect(dec.subgraphs[0]!.tensors.find((t) => t.name === 'conv/kernel')!.type).toBe('FLOAT16');
    expect(readFileSync(join(out, 'audiogen.json'), 'utf8')).toContain('stable-audio');
    await expect(quantizeModelFolder(src, src)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(quantizeModelFolder(src, out, 'nope')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('bad input', () => {
  it('raises typed errors', async () => {
    const { quantizeModel, quantizeFile, loadRecipe } = await import('./model');
    expect(() => quantizeModel(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), [])).toThrow(
      expect.objectContaining({ code: 'INVALID_TFLITE' }),
    );
    await expect(
      quantizeFile(join(root, 'missing.tflite'), join(root, 'o.tflite'), 'float16'),
    ).rejects.toMatchObject({ code: 'MISSING_FILE' });
    await expect(loadRecipe(join(root, 'missing.json'))).rejects.toMatchObject({ code: 'INVALID_RECIPE' });
    // a constant whose byte length does not match its shape
    const g = mlpModel();
    const w = g.subgraphs[0]!.tensors.find((t) => t.name === 'dense1/kernel')!;
    w.data = w.data!.slice(0, 64);
    expect(() => quantizeModel(g, 'x' as unknown)).toThrow(
      expect.objectContaining({ code: 'INVALID_RECIPE' }),
    );
    const { namedRecipe } = await import('./recipes');
    expect(() => quantizeModel(g, namedRecipe('dynamic_wi8_afp32'))).toThrow(
      expect.objectContaining({ code: 'INVALID_MODEL' }),
    );
  });
});

describe('quantizeFolderVariants', () => {
  it('writes the preset’s precisions beside the float files and keeps what is up to date', async () => {
    const { quantizeFolderVariants } = await import('./model');
    const dir = join(root, 'variants');
    mkdirSync(dir);
    writeFileSync(join(dir, 'dit_model.tflite'), writeTflite(mlpModel()));
    writeFileSync(join(dir, 'autoencoder_model.tflite'), writeTflite(convModel()));
    const fast = await quantizeFolderVariants(dir, 'fast');
    expect(fast.map((r) => [r.out.slice(dir.length + 1), r.status])).toEqual([
      ['dit_model.int8.tflite', 'written'],
      ['autoencoder_model.int8.tflite', 'written'],
    ]);
    const dec = readTflite(new Uint8Array(readFileSync(join(dir, 'autoencoder_model.int8.tflite'))));
    expect(dec.subgraphs[0]!.tensors.find((t) => t.name === 'conv/kernel')!.type).toBe('INT8');
    // The float files are untouched.
    expect(
      readTflite(new Uint8Array(readFileSync(join(dir, 'dit_model.tflite')))).subgraphs[0]!.tensors.find(
        (t) => t.name === 'dense1/kernel',
      )!.type,
    ).toBe('FLOAT32');
    expect((await quantizeFolderVariants(dir, 'auto')).map((r) => r.status)).toEqual(['up-to-date']);
    expect((await quantizeFolderVariants(dir, 'auto', { force: true })).map((r) => r.status)).toEqual([
      'written',
    ]);
    // A DiT that is already int8 (Arm's export) is not quantized again.
    const arm = join(root, 'arm');
    mkdirSync(arm);
    writeFileSync(join(arm, 'dit_model.tflite'), readFileSync(join(dir, 'dit_model.int8.tflite')));
    expect((await quantizeFolderVariants(arm, 'fast')).map((r) => r.status)).toEqual([
      'source-not-float',
      'no-source',
    ]);
    await expect(quantizeFolderVariants(dir, 'nope')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(quantizeFolderVariants(join(root, 'none'), 'auto')).rejects.toMatchObject({
      code: 'MISSING_FILE',
    });
  });
});
