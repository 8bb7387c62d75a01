// Model folders as a careless or hostile user hands them over (issue 12 §3): every manifest value is
// bounded, and every file is a regular file, before any model is loaded.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadModelFolder } from './folder';

const spiece = fileURLToPath(new URL('../../convert/assets/spiece.model', import.meta.url));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'audiogen-folder-'));
  for (const n of ['conditioners.tflite', 'dit_model.tflite', 'autoencoder_model.tflite'])
    writeFileSync(join(dir, n), 'fake');
  copyFileSync(spiece, join(dir, 'spiece.model'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const manifest = (config: Record<string, unknown>) =>
  writeFileSync(join(dir, 'audiogen.json'), JSON.stringify({ family: 'stable-audio-open-small', config }));

describe('model folder manifest bounds', () => {
  it('every number is bounded: a typed error naming the key, before any model loads', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ sampleSize: 1e12 }, /config.sampleSize must be an integer in \[1, 8388608\]/],
      [{ sampleRate: 0 }, /config.sampleRate/],
      [{ sampleRate: 44100.5 }, /config.sampleRate must be an integer/],
      [{ steps: 1e9 }, /config.steps/],
      [{ tokenLength: 1e9 }, /config.tokenLength/],
      [{ channels: 1e6 }, /config.channels/],
      [{ secondsMax: 1e300 }, /config.secondsMax/],
      [{ cfgScale: -1e9 }, /config.cfgScale/],
      [{ maxSeconds: 1e9 }, /config.maxSeconds/],
      [{ maxSeconds: 80_000, sampleRate: 384_000 }, /maxSeconds × sampleRate/],
      [{ latentShape: [1, 64, 1e9] }, /latentShape must be at most 8 positive integers/],
      [{ latentShape: Array(20).fill(1) }, /latentShape/],
    ];
    for (const [config, message] of cases) {
      manifest(config);
      await expect(loadModelFolder(dir), JSON.stringify(config)).rejects.toMatchObject({
        code: 'INVALID_MODEL',
        message: expect.stringMatching(message),
      });
    }
    manifest({ sampleRate: 22050, steps: 4, latentShape: [1, 64, 256] });
    expect((await loadModelFolder(dir)).config.steps).toBe(4);
  });

  it('a FIFO (or any non-regular file) in the folder is refused at once, not waited on', async () => {
    rmSync(join(dir, 'spiece.model'));
    try {
      execFileSync('mkfifo', [join(dir, 'spiece.model')]);
    } catch {
      return; // no mkfifo on this platform
    }
    await expect(loadModelFolder(dir)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/spiece.model is a FIFO/),
    });
  });
});

describe('a folder swap that was killed half-way', () => {
  it('the old folder set aside by a killed convert/quantize is put back when the folder is loaded', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'audiogen-swap-'));
    try {
      const target = join(parent, 'sao');
      // The output layer's name for an old folder set aside by process 999999 (long gone) mid-swap.
      renameSync(dir, join(parent, '.sao.999999-0123456789ab.agold'));
      dir = mkdtempSync(join(tmpdir(), 'audiogen-folder-')); // for afterEach
      const folder = await loadModelFolder(target);
      expect(existsSync(join(target, 'dit_model.tflite'))).toBe(true);
      expect(folder.files.dit).toBe(join(target, 'dit_model.tflite'));
      await expect(loadModelFolder(join(parent, 'nothing'))).rejects.toMatchObject({ code: 'MISSING_FILE' });
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
