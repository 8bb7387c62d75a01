// Conformance with Hugging Face's Python client (huggingface_hub, dev-time only): with HF_ENDPOINT at the
// same local fake Hub, Python finds our downloads in its cache offline and we find Python's; both name
// blobs, snapshots and refs identically. Python's own error classes also check the fake Hub's answers.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullFiles } from './pull';
import { type FakeHub, startFakeHub } from './test';

const here = fileURLToPath(new URL('.', import.meta.url));
const python = resolve(here, '..', '..', '..', '.venv', 'bin', 'python');
const script = resolve(here, '..', 'scripts', 'hf_python.py');
const hasHfHub =
  existsSync(python) &&
  spawnSync(python, ['-c', 'import huggingface_hub'], { encoding: 'utf8' }).status === 0;
if (process.env.CI && !hasHfHub) throw new Error('CI needs huggingface_hub in .venv (scripts/setup-dev.sh)');

const tmp = mkdtempSync(join(tmpdir(), 'audiogen-hub-py-'));
const weights = randomBytes(2 * 1024 * 1024 + 5);
const files = ['model.safetensors', 'config.json', 'sub/notes.txt'];
let hub: FakeHub;

interface PyResult {
  version: string;
  files: Record<string, { path: string; sha256: string } | null>;
  error: string | null;
  message?: string;
}

/** Runs the Python helper (asynchronously: the fake Hub it talks to lives in this process). */
async function py(
  mode: 'lookup' | 'download',
  cache: string,
  repo: string,
  revision: string,
  fs: string[],
  env: Record<string, string> = {},
): Promise<PyResult> {
  const child = spawn(python, [script, mode, cache, repo, revision, ...fs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: tmp,
      HF_ENDPOINT: hub.url,
      HF_HUB_DISABLE_TELEMETRY: '1',
      ...(mode === 'lookup' ? { HF_HUB_OFFLINE: '1' } : {}),
      ...env,
    },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  child.stderr.on('data', (c) => {
    err += c;
  });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`python failed: ${err}`);
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const blobNames = (cache: string, repo: string) =>
  readdirSync(join(cache, `models--${repo.replace('/', '--')}`, 'blobs')).sort();

beforeAll(async () => {
  if (!hasHfHub) return;
  hub = await startFakeHub({
    repos: [
      {
        id: 'org/model',
        files: { 'model.safetensors': weights, 'config.json': '{"a":1}', 'sub/notes.txt': 'notes' },
      },
      { id: 'org/gated', files: { 'model.safetensors': weights.subarray(0, 1000) }, gated: 'auto' },
    ],
    tokens: { hf_granted: ['org/gated'] },
  });
});
afterAll(async () => {
  await hub?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!hasHfHub)('huggingface_hub (Python) shares the cache', () => {
  it('Python finds our downloads offline, by branch and by commit', async () => {
    const cache = join(tmp, 'ours');
    const r = await pullFiles({
      repo: 'org/model',
      files,
      endpoint: hub.url,
      cacheDir: cache,
      token: false,
      offline: false,
    });
    for (const rev of ['main', r.commit]) {
      const out = await py('lookup', cache, 'org/model', rev, files);
      expect(out.error, out.message).toBeNull();
      for (const f of files) {
        expect(out.files[f], `${f}@${rev}`).not.toBeNull();
        expect(out.files[f]!.path).toBe(r.files[f]);
        expect(out.files[f]!.sha256).toBe(sha(r.files[f]!));
      }
    }
  });

  it('we find Python downloads (offline, and online without fetching again); both name blobs alike', async () => {
    const cache = join(tmp, 'theirs');
    const out = await py('download', cache, 'org/model', 'main', files);
    expect(out.error, out.message).toBeNull();
    const offline = await pullFiles({
      repo: 'org/model',
      files,
      cacheDir: cache,
      token: false,
      offline: true,
      endpoint: hub.url,
    });
    for (const f of files) expect(offline.files[f]).toBe(out.files[f]!.path);
    hub.requests.length = 0;
    const online = await pullFiles({
      repo: 'org/model',
      files,
      cacheDir: cache,
      token: false,
      offline: false,
      endpoint: hub.url,
    });
    expect(online.downloadedBytes).toBe(0);
    expect(hub.requests.filter((q) => q.url.includes('/resolve/') || q.host === 'storage')).toEqual([]);
    // Our own fresh download names every blob (LFS sha256, git blob id) as Python did.
    const ours = join(tmp, 'ours');
    expect(blobNames(ours, 'org/model')).toEqual(blobNames(cache, 'org/model'));
    expect(readFileSync(join(ours, 'models--org--model', 'refs', 'main'), 'utf8')).toBe(
      readFileSync(join(cache, 'models--org--model', 'refs', 'main'), 'utf8'),
    );
  });

  it("the fake Hub's gating reads as GatedRepoError to Python, and a granted token downloads", async () => {
    const cache = join(tmp, 'gated');
    expect((await py('download', cache, 'org/gated', 'main', ['model.safetensors'])).error).toBe(
      'GatedRepoError',
    );
    const ok = await py('download', cache, 'org/gated', 'main', ['model.safetensors'], {
      HF_TOKEN: 'hf_granted',
    });
    expect(ok.error, ok.message).toBeNull();
    expect((await py('download', cache, 'org/model', 'main', ['nope.bin'])).error).toBe(
      'RemoteEntryNotFoundError',
    );
    expect((await py('download', cache, 'org/none', 'main', ['x'])).error).toBe('RepositoryNotFoundError');
  });
});
