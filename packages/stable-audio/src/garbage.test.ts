// Garbage in (issue 12 §4–5): callbacks that are not functions, a signal that is not an AbortSignal and
// init audio full of NaN are refused with typed errors before any work, not a TypeError or NaN audio.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { audioClip } from '@audiogen/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createStableAudioPipeline } from './pipeline';
import { prepareStableAudioRequest } from './request';
import { samplerApi } from './sampling';
import { fakeRuntime } from './test-fakes';

const dir = mkdtempSync(join(tmpdir(), 'audiogen-garbage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
for (const n of ['conditioners.tflite', 'dit_model.tflite', 'autoencoder_model.tflite'])
  writeFileSync(join(dir, n), 'fake');
copyFileSync(
  fileURLToPath(new URL('../../convert/assets/spiece.model', import.meta.url)),
  join(dir, 'spiece.model'),
);
writeFileSync(
  join(dir, 'audiogen.json'),
  JSON.stringify({ family: 'stable-audio-open-small', config: { sampleRate: 16 } }),
);

describe('garbage in', () => {
  it('a signal that is not an AbortSignal, callbacks that are not functions: INVALID_ARGUMENT naming them', async () => {
    const rt = fakeRuntime();
    await expect(
      createStableAudioPipeline({ models: dir, runtime: rt, onProgress: 'yes' as never }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'onProgress must be a function, got string yes',
    });
    const p = await createStableAudioPipeline({ models: dir, runtime: rt });
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ signal: 'stop' }, /^signal must be an AbortSignal, got string stop/],
      [{ signal: { aborted: false } }, /^signal must be an AbortSignal, got an object/],
      [{ signal: null }, /^signal must be an AbortSignal, got null/],
      [{ onProgress: 5 }, /^onProgress must be a function, got number 5/],
      [{ onClip: {} }, /^onClip must be a function, got an object/],
    ];
    for (const [o, message] of bad) {
      await expect(p.generate({ prompt: 'rain', seconds: 1, ...o } as never)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(message),
      });
    }
    expect(rt.models.find((m) => m.label === 'dit')!.runs).toBe(0); // refused before any work
    const ok = await p.generate({
      prompt: 'rain',
      seconds: 1,
      signal: new AbortController().signal,
      onProgress: () => {},
    });
    expect(ok.clips.length).toBe(1);
    p.dispose();
  });

  it('init audio holding NaN or Inf is refused (it used to come back as NaN audio)', () => {
    const limits = {
      sampleRate: 44100,
      decoderFrames: 1024,
      maxSeconds: 1024 / 44100,
      steps: 8,
      sampler: 'pingpong',
      cfgScale: 1,
      encoderChannels: 2,
      dir: 'x',
    };
    const nan = audioClip(44100, [new Float32Array(64).fill(Number.NaN), new Float32Array(64)]);
    const inf = audioClip(44100, [new Float32Array(64), new Float32Array(64).fill(Number.POSITIVE_INFINITY)]);
    for (const [clip, count] of [
      [nan, 64],
      [inf, 64],
    ] as const) {
      expect(() =>
        prepareStableAudioRequest({ prompt: 'x', initAudio: clip }, limits, { api: samplerApi() }),
      ).toThrow(
        expect.objectContaining({
          code: 'INVALID_ARGUMENT',
          message: `initAudio has ${count} samples that are NaN or infinite`,
        }),
      );
    }
  });
});
