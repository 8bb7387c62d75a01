import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeRandomStableAudioCheckpoint } from './checkpoint-files';
import { convertStableAudioCheckpoint, writeRandomStableAudioFolder } from './folder';
import { readSafetensors } from './safetensors';

const tmp = mkdtempSync(join(tmpdir(), 'audiogen-ckpt-files-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('writeRandomStableAudioCheckpoint', () => {
  it('converts to the same models as the random folder of that seed (real key names; T5 decoder keys ignored)', async () => {
    const files = await writeRandomStableAudioCheckpoint(join(tmp, 'src'), { tiny: true, seed: 3 });
    const t5Keys = readSafetensors(join(files.t5Dir, 'model.safetensors'));
    expect(t5Keys.keys().some((k) => k.startsWith('decoder.'))).toBe(true);
    t5Keys.close();
    const r = await convertStableAudioCheckpoint({
      checkpoint: join(files.checkpointDir, 'model.safetensors'),
      config: join(files.checkpointDir, 'model_config.json'),
      t5: files.t5Dir,
      out: join(tmp, 'converted'),
      source: { hub: { repo: 'org/x', commit: 'c'.repeat(40) } },
    });
    await writeRandomStableAudioFolder({ out: join(tmp, 'random'), tiny: true, seed: 3 });
    for (const f of [
      'conditioners.tflite',
      'dit_model.tflite',
      'autoencoder_model.tflite',
      'autoencoder_encoder.tflite',
      'spiece.model',
    ]) {
      expect(readFileSync(join(r.dir, f)).equals(readFileSync(join(tmp, 'random', f))), f).toBe(true);
    }
    const manifest = JSON.parse(readFileSync(join(r.dir, 'audiogen.json'), 'utf8'));
    expect(manifest.source).toEqual({
      checkpoint: join(files.checkpointDir, 'model.safetensors'),
      hub: { repo: 'org/x', commit: 'c'.repeat(40) },
    });
  });
});
