// `audiogen pull` against a local fake Hub serving a random-weight checkpoint of the real key names (tiny
// config), gated like the real repository: the licence shown first, a ready folder, the next command printed.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRandomStableAudioCheckpoint, writeRandomStableAudioFolder } from '@audiogen/convert';
import { type FakeHub, startFakeHub } from '@audiogen/hub/test';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../index';
import { type PullCliOptions, runPullCommand } from './pull';

const SAO = 'stabilityai/stable-audio-open-small';
const T5 = 'google-t5/t5-base';
const tmp = mkdtempSync(join(tmpdir(), 'audiogen-cli-pull-'));
let hub: FakeHub;
const saved = { ...process.env };

beforeAll(async () => {
  const src = await writeRandomStableAudioCheckpoint(join(tmp, 'src'), { tiny: true, seed: 5 });
  hub = await startFakeHub({
    repos: [
      {
        id: SAO,
        gated: 'manual',
        cardData: { license: 'other', license_name: 'stabilityai-ai-community', license_link: 'LICENSE.md' },
        files: {
          'model.safetensors': { path: join(src.checkpointDir, 'model.safetensors') },
          'model_config.json': { path: join(src.checkpointDir, 'model_config.json') },
          'LICENSE.md': 'licence text',
        },
      },
      {
        id: T5,
        cardData: { license: 'apache-2.0' },
        files: {
          'model.safetensors': { path: join(src.t5Dir, 'model.safetensors') },
          'config.json': { path: join(src.t5Dir, 'config.json') },
          'spiece.model': { path: join(src.t5Dir, 'spiece.model') },
        },
      },
    ],
    tokens: { hf_accepted: [SAO], hf_not_accepted: [] },
  });
});
afterAll(async () => {
  await hub.close();
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  process.env.HF_ENDPOINT = hub.url;
  process.env.HF_HOME = join(tmp, 'hf-home');
  delete process.env.HF_HUB_CACHE;
  delete process.env.HF_HUB_OFFLINE;
  delete process.env.HF_TOKEN;
  process.env.HF_TOKEN_PATH = join(tmp, 'no-token-file');
  process.env.npm_command = ''; // not run through npx
  hub.requests.length = 0;
});
afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});

async function pull(model: string, files: string[], o: Partial<PullCliOptions> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const r = await runPullCommand(
    model,
    files,
    { progress: false, ...o },
    {
      stdout: (t) => out.push(t),
      stderr: (t) => err.push(t),
    },
  );
  return { r, out, err };
}

const fetched = () => hub.requests.filter((q) => q.host === 'storage' || q.url.includes('/resolve/'));

describe('audiogen pull', () => {
  it('a gated model without an accepted licence: GATED_REPO saying where to accept it, nothing fetched', async () => {
    await expect(pull('stable-audio-open-small', [], { out: join(tmp, 'no') })).rejects.toMatchObject({
      code: 'GATED_REPO',
      message: expect.stringContaining(`${hub.url}/${SAO}`),
    });
    process.env.HF_TOKEN = 'hf_not_accepted';
    await expect(pull('stable-audio-open-small', [], { out: join(tmp, 'no') })).rejects.toMatchObject({
      code: 'GATED_REPO',
      message: expect.stringMatching(/not been granted access/),
    });
    process.env.HF_TOKEN = 'hf_revoked';
    await expect(pull('stable-audio-open-small', [], { out: join(tmp, 'no') })).rejects.toMatchObject({
      code: 'INVALID_TOKEN',
    });
    expect(hub.requests.filter((q) => q.host === 'storage')).toEqual([]);
    expect(existsSync(join(tmp, 'no'))).toBe(false);
  });

  it('downloads, converts and quantizes into a ready folder recording repo, commit and licence', async () => {
    process.env.HF_TOKEN = 'hf_accepted';
    const out = join(tmp, 'sao');
    const { r, out: stdout, err } = await pull('stable-audio-open-small', [], { out });
    // Licence before download, and the next command.
    expect(err[0]).toMatch(
      new RegExp(
        `^${SAO} @ main \\(${hub.head(SAO).slice(0, 12)}\\) · licence: stabilityai-ai-community \\(gated\\)`,
      ),
    );
    expect(err[1]).toMatch(/^google-t5\/t5-base @ main .* licence: apache-2.0/);
    expect(stdout).toEqual([
      `ready: ${out}`,
      `next:  audiogen generate "warm ambient pads with soft piano" --models ${out}`,
    ]);
    const manifest = JSON.parse(readFileSync(join(out, 'audiogen.json'), 'utf8'));
    expect(manifest.source.hub).toEqual({
      endpoint: hub.url,
      repo: SAO,
      revision: 'main',
      commit: hub.head(SAO),
      licence: 'stabilityai-ai-community',
      files: ['model.safetensors', 'model_config.json'],
    });
    expect(manifest.source.t5).toMatchObject({ repo: T5, commit: hub.head(T5), licence: 'apache-2.0' });
    expect(r.repos.map((x) => x.downloadedBytes > 0)).toEqual([true, true]);
    // The models are the converter's output for these weights (the same seed's random folder).
    const ref = join(tmp, 'ref');
    await writeRandomStableAudioFolder({ out: ref, tiny: true, seed: 5 });
    for (const f of ['conditioners.tflite', 'dit_model.tflite', 'autoencoder_model.tflite', 'spiece.model']) {
      expect(readFileSync(join(out, f)).equals(readFileSync(join(ref, f))), f).toBe(true);
    }
    expect(existsSync(join(out, 'dit_model.int8.tflite'))).toBe(true);
    // Files sit in the shared cache under HF_HOME.
    expect(
      existsSync(join(tmp, 'hf-home', 'hub', 'models--stabilityai--stable-audio-open-small', 'refs', 'main')),
    ).toBe(true);

    // The printed command works on the folder.
    const gen: string[] = [];
    const wav = join(tmp, 'pulled.wav');
    const code = await main(
      [
        'node',
        'audiogen',
        'generate',
        'rain',
        '--models',
        out,
        '--seconds',
        '0.01',
        '--steps',
        '2',
        '--out',
        wav,
        '--json',
      ],
      { stdout: (l) => gen.push(l), stderr: () => {} },
    );
    expect(code, gen.join('\n')).toBe(0);
    expect(existsSync(wav)).toBe(true);

    // --precision fast on the same folder adds the int8 decoder without rebuilding the rest.
    const ditBefore = statSync(join(out, 'dit_model.tflite')).mtimeMs;
    await pull('stable-audio-open-small', [], { out, precision: 'fast' });
    expect(existsSync(join(out, 'autoencoder_model.int8.tflite'))).toBe(true);
    expect(statSync(join(out, 'dit_model.tflite')).mtimeMs).toBe(ditBefore);

    // Again: up to date, nothing fetched or rebuilt.
    hub.requests.length = 0;
    const again = await pull('stable-audio-open-small', [], { out });
    expect(again.r.upToDate).toBe(true);
    expect(fetched()).toEqual([]);

    // Offline into a new folder: built from the cache with no request at all.
    hub.requests.length = 0;
    process.env.HF_HUB_OFFLINE = '1';
    const off = await pull('stable-audio-open-small', [], {
      out: join(tmp, 'sao-offline'),
      precision: 'fp32',
    });
    expect(hub.requests).toEqual([]);
    expect(off.err[0]).toMatch(/licence: unknown offline/);
    expect(
      readFileSync(join(tmp, 'sao-offline', 'dit_model.tflite')).equals(
        readFileSync(join(out, 'dit_model.tflite')),
      ),
    ).toBe(true);
    expect(existsSync(join(tmp, 'sao-offline', 'dit_model.int8.tflite'))).toBe(false);
  });

  it('offline with nothing cached: NOT_CACHED naming the files', async () => {
    process.env.HF_HOME = join(tmp, 'empty-home');
    await expect(
      pull('stable-audio-open-small', [], { out: join(tmp, 'x'), offline: true }),
    ).rejects.toMatchObject({
      code: 'NOT_CACHED',
      message: expect.stringContaining('model.safetensors, model_config.json'),
    });
  });

  it('any repository: org/name [files…] into the cache, paths printed; bad input is INVALID_ARGUMENT', async () => {
    const { out } = await pull(T5, ['config.json', 'spiece.model']);
    expect(out[0]).toMatch(/models--google-t5--t5-base\/snapshots\/[0-9a-f]{40}$/);
    expect(out.slice(1)).toEqual(['  config.json', '  spiece.model']);
    await expect(pull('no-such-model', [])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(pull(T5, [], { out: 'x' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(pull('stable-audio-open-small', [], { precision: 'int3' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(pull(T5, ['nope.bin'])).rejects.toMatchObject({ code: 'MISSING_FILE' });
  });

  it('through main(): --json error line', async () => {
    process.env.HF_HOME = join(tmp, 'fresh-home'); // (a cached gated model needs no token)
    const lines: string[] = [];
    const code = await main(
      ['node', 'audiogen', 'pull', 'stable-audio-open-small', '--json', '--out', join(tmp, 'j')],
      {
        stdout: (l) => lines.push(l),
      },
    );
    expect(code).toBe(1);
    expect(JSON.parse(lines[0]!).error.code).toBe('GATED_REPO');
    // A repository pull parsed by commander (no option defaults that only fit known models).
    expect(await main(['node', 'audiogen', 'pull', T5, 'config.json', '--quiet'])).toBe(0);
    expect(existsSync(join(tmp, 'fresh-home', 'hub', 'models--google-t5--t5-base', 'refs', 'main'))).toBe(
      true,
    );
  });
});
