import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Tensor, tensor, toFloat32 } from '@audiogen/core';
import { toolAvailable } from '@audiogen/core/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStableAudioPipeline } from './pipeline';
import { FAKE_DIMS, fakeRuntime } from './test-fakes';

// Arm's app loop (fill_random_norm_dist, fill_sigmas, sampler_ping_pong, as in kleidiai-examples/audiogen),
// written out in the sampler package's C++ reference around the fake DiT v = 0.5f*x - t.
const ARMREF = fileURLToPath(new URL('../../sampler/test/armref.cpp', import.meta.url));
const spiece = fileURLToPath(new URL('../../convert/assets/spiece.model', import.meta.url));

function gxx(): string | undefined {
  for (const cxx of [process.env.CXX, 'g++'].filter(Boolean) as string[]) {
    const r = spawnSync(cxx, ['--version'], { encoding: 'utf8' });
    if (r.status === 0 && /g\+\+|GCC|Free Software/.test(r.stdout)) return cxx;
  }
  return undefined;
}
const found = gxx();
const cxx = toolAvailable(!!found, 'g++ (the Arm-loop parity test)') ? found : undefined;

describe.skipIf(!cxx || process.arch !== 'x64')(
  "the pipeline reproduces Arm's app loop bit for bit (x86-64 g++ build)",
  () => {
    let dir = '';
    let bin = '';
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'audiogen-armloop-'));
      bin = join(dir, 'armref');
      execFileSync(cxx!, ['-O2', '-std=c++17', '-ffp-contract=off', '-o', bin, ARMREF]);
      const models = join(dir, 'models');
      execFileSync('mkdir', [models]);
      for (const n of ['conditioners_float32.tflite', 'dit_model.tflite', 'autoencoder_model.tflite'])
        writeFileSync(join(models, n), 'fake');
      copyFileSync(spiece, join(models, 'spiece.model'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("--noise arm-mt19937 --schedule arm-f32 gives Arm's latents; the default schedule differs", async () => {
      // SAO-small's latent [1,64,256]; the DiT is Arm's reference fake, in float32 as the C++ computes it.
      const dims = { ...FAKE_DIMS, latentC: 64, latentT: 256 };
      const rt = fakeRuntime(dims);
      const load = rt.load.bind(rt);
      rt.load = async (src, o) => {
        const m = await load(src, o);
        if (o?.label === 'dit') {
          const fr = Math.fround;
          m.run = async (inp: Readonly<Record<string, Tensor>>) => {
            const x = toFloat32(inp.x!);
            const t = toFloat32(inp.t!)[0]!;
            return {
              v: tensor(
                'float32',
                [1, 64, 256],
                x.map((v) => fr(fr(0.5 * v) - t)),
              ),
            };
          };
        }
        return m;
      };
      const p = await createStableAudioPipeline({ models: join(dir, 'models'), runtime: rt });
      const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
      for (const seed of [99, 4294967000]) {
        const out = execFileSync(bin, ['pingpong', String(seed), '8', String(64 * 256)], {
          maxBuffer: 1 << 24,
        });
        const ref = new Uint32Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
        const arm = await p.generate({ prompt: 'rain', seed, noise: 'arm-mt19937', schedule: 'arm-f32' });
        expect(arm.schedule).toBe('arm-f32');
        expect(bits(arm.clips[0]!.latents)).toEqual(ref);
        const rf = await p.generate({ prompt: 'rain', seed, noise: 'arm-mt19937' });
        expect(bits(rf.clips[0]!.latents)).not.toEqual(ref);
      }
      p.dispose();
    });
  },
);
