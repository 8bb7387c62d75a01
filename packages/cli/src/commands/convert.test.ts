import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTflite } from '@audiogen/core/tflite';
import { afterAll, describe, expect, it } from 'vitest';
import { parseShapes, runConvert } from './convert';

const tmp = mkdtempSync(join(tmpdir(), 'audiogen-cli-convert-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const quiet = { stdout: () => {}, stderr: () => {} };

describe('audiogen convert', () => {
  it('writes a tiny random-weight folder and says it is noise', async () => {
    const err: string[] = [];
    const out = join(tmp, 'tiny');
    await runConvert(
      'stable-audio-open-small',
      { randomWeights: true, tiny: true, seed: '2', out },
      {
        stdout: () => {},
        stderr: (t) => err.push(t),
      },
    );
    for (const f of [
      'conditioners.tflite',
      'dit_model.tflite',
      'autoencoder_model.tflite',
      'autoencoder_encoder.tflite',
      'audiogen.json',
      'spiece.model',
    ]) {
      expect(existsSync(join(out, f))).toBe(true);
    }
    expect(err.join('\n')).toMatch(/noise, not music/);
  });

  it('--precisions auto writes the int8 DiT beside the float one; a bad preset fails before any work', async () => {
    const out = join(tmp, 'tiny-int8');
    const res = await runConvert(
      'stable-audio-open-small',
      { randomWeights: true, tiny: true, out, encoder: false, precisions: 'auto' },
      quiet,
    );
    const g = readTflite(new Uint8Array(readFileSync(join(out, 'dit_model.int8.tflite'))));
    expect(g.subgraphs[0]!.tensors.some((t) => t.type === 'INT8')).toBe(true);
    expect(res.files['dit_model.int8']!.ops).toBeGreaterThan(0);
    const bad = join(tmp, 'never');
    await expect(
      runConvert(
        'stable-audio-open-small',
        { randomWeights: true, tiny: true, out: bad, precisions: 'turbo' },
        quiet,
      ),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(existsSync(bad)).toBe(false);
  });

  it('--decoder-frames plans the decoder for a window (open frames); a bad value fails before any work', async () => {
    const out = join(tmp, 'tiny-window');
    await runConvert(
      'stable-audio-open-small',
      { randomWeights: true, tiny: true, out, encoder: false, decoderFrames: '20' },
      quiet,
    );
    const sg = readTflite(new Uint8Array(readFileSync(join(out, 'autoencoder_model.tflite')))).subgraphs[0]!;
    const input = sg.tensors[sg.inputs[0]!]!;
    expect([input.shape, input.shape_signature]).toEqual([
      [1, 8, 20],
      [1, 8, -1],
    ]);
    for (const decoderFrames of ['0', '33', '2.5', 'x']) {
      const bad = join(tmp, `never-${decoderFrames}`);
      await expect(
        runConvert(
          'stable-audio-open-small',
          { randomWeights: true, tiny: true, out: bad, decoderFrames },
          quiet,
        ),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(existsSync(bad)).toBe(false);
    }
  });

  it('converts an ONNX file with a fixed input shape', async () => {
    const src = join(
      dirname(fileURLToPath(import.meta.url)),
      '..',
      '..',
      '..',
      'convert',
      'fixtures',
      'onnx',
      'mlp.onnx',
    );
    const out = join(tmp, 'mlp.tflite');
    await runConvert(src, { out, shape: ['x=2x5x16'] }, quiet);
    const { readFileSync } = await import('node:fs');
    const g = readTflite(new Uint8Array(readFileSync(out)));
    expect(g.signatures[0]!.inputs.map((i) => i.name)).toEqual(['x']);
  });

  it('rejects bad arguments with typed errors', async () => {
    await expect(
      runConvert('stable-audio-open-small', { tiny: true, out: tmp }, quiet),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(runConvert('other-model', { randomWeights: true, out: tmp }, quiet)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(
      runConvert('stable-audio-open-small', { randomWeights: true, seed: '-3', out: tmp }, quiet),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(
      runConvert('stable-audio-open-small', { checkpoint: join(tmp, 'none.safetensors'), out: tmp }, quiet),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(() => parseShapes(['x=1x2', 'bad'])).toThrow(/expected name=DxDxD/);
    expect(parseShapes(['x=1x64x256'])).toEqual({ x: [1, 64, 256] });
  });
});
