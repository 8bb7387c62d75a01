import { randomBytes } from 'node:crypto';
import {
  existsSync,
  promises as fsp,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HubEvent } from './events';
import { type PullOptions, planPull, pullFiles } from './pull';
import { hubSettings } from './settings';
import { type FakeHub, startFakeHub } from './test';

const tmp = mkdtempSync(join(tmpdir(), 'audiogen-hub-'));
const weights = randomBytes(3 * 1024 * 1024 + 17);
const config = JSON.stringify({ hidden: 8, note: 'a small git file' });
let hub: FakeHub;
let n = 0;

beforeAll(async () => {
  hub = await startFakeHub({
    repos: [
      {
        id: 'org/open',
        files: { 'model.safetensors': weights, 'config.json': config, 'sub/dir/x.txt': 'x' },
        cardData: { license: 'apache-2.0' },
      },
      {
        id: 'org/gated',
        files: { 'model.safetensors': weights.subarray(0, 4096), 'model_config.json': '{}' },
        gated: 'manual',
        cardData: { license: 'other', license_name: 'example-community-licence' },
      },
    ],
    tokens: { hf_granted: ['org/gated'], hf_other: [] },
    renames: { 'old-name': 'org/open' },
  });
});
afterAll(async () => {
  await hub.close();
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  hub.requests.length = 0;
  for (const k of Object.keys(hub.behaviour)) delete hub.behaviour[k as keyof typeof hub.behaviour];
});

/** Pull options against the fake Hub with a fresh cache (or the given one); no env token. */
function opts(extra: Partial<PullOptions> & { cache?: string } = {}): PullOptions & { events: HubEvent[] } {
  const events: HubEvent[] = [];
  const { cache, ...rest } = extra;
  return {
    repo: 'org/open',
    files: ['model.safetensors', 'config.json'],
    endpoint: hub.url,
    cacheDir: cache ?? join(tmp, `cache-${n++}`),
    token: false,
    offline: false,
    retryDelayMs: 5,
    onEvent: (e) => events.push(e),
    events,
    ...rest,
  };
}

const storageGets = () => hub.requests.filter((r) => r.host === 'storage' && r.method === 'GET');

describe('pullFiles', () => {
  it('short writes (a nearly full disk) still land every byte of a download', async () => {
    // The partial file's handle accepts at most 1000 bytes per write(2), as a nearly full disk does without
    // an error: the old loop ignored the count, so the file missed bytes the in-memory hash had seen.
    const realOpen = fsp.open;
    const spy = vi.spyOn(fsp, 'open').mockImplementation(async (...args: Parameters<typeof fsp.open>) => {
      const h = await realOpen(...args);
      if (String(args[0]).endsWith('.incomplete')) {
        const w = h.write.bind(h) as (b: Uint8Array, o: number, l: number, p: number) => Promise<unknown>;
        (h as unknown as { write: typeof w }).write = (b, o, l, p) => w(b, o, Math.min(l, 1000), p);
      }
      return h;
    });
    try {
      const r = await pullFiles(opts());
      expect(Buffer.from(readFileSync(r.files['model.safetensors']!)).equals(weights)).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });

  it('fetches into the huggingface_hub cache layout, verified, with the token kept off the storage host', async () => {
    const o = opts({ token: 'hf_other' });
    const r = await pullFiles(o);
    const commit = hub.head('org/open');
    expect(r.commit).toBe(commit);
    expect(r.licence).toBe('apache-2.0');
    const repoDir = join(o.cacheDir!, 'models--org--open');
    expect(readFileSync(join(repoDir, 'refs', 'main'), 'utf8')).toBe(commit);
    const snap = join(repoDir, 'snapshots', commit);
    expect(r.dir).toBe(snap);
    const st = hub.file('org/open', 'model.safetensors');
    expect(lstatSync(join(snap, 'model.safetensors')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(snap, 'model.safetensors'))).toBe(`../../blobs/${st.sha256}`);
    expect(readlinkSync(join(snap, 'config.json'))).toBe(
      `../../blobs/${hub.file('org/open', 'config.json').oid}`,
    );
    expect(Buffer.from(readFileSync(r.files['model.safetensors']!)).equals(weights)).toBe(true);
    expect(readFileSync(r.files['config.json']!, 'utf8')).toBe(config);
    expect(readdirSync(join(repoDir, 'blobs')).some((f) => f.endsWith('.incomplete'))).toBe(false);
    // The LFS bytes came from storage with no Authorization (storage answers 400 to one); the Hub got the token.
    expect(storageGets().every((q) => !q.authorization && q.status === 200)).toBe(true);
    expect(hub.requests.filter((q) => q.host === 'hub').every((q) => q.authorization)).toBe(true);
    const done = o.events.filter((e) => e.type === 'file-done');
    expect(done.map((e) => e.type === 'file-done' && e.verified)).toEqual(['sha256', 'git-sha1']);
    // A second pull finds everything cached: metadata only, no file bytes.
    hub.requests.length = 0;
    const again = await pullFiles({ ...o, events: [] } as PullOptions);
    expect(again.downloadedBytes).toBe(0);
    expect(hub.requests.filter((q) => q.url.includes('/resolve/') || q.host === 'storage')).toEqual([]);
  });

  it('files in subfolders and a renamed repository (relative redirect)', async () => {
    const r = await pullFiles(opts({ repo: 'old-name', files: ['sub/dir/x.txt'] }));
    expect(readFileSync(r.files['sub/dir/x.txt']!, 'utf8')).toBe('x');
    expect(hub.requests.some((q) => q.url.startsWith('/api/models/old-name/'))).toBe(true);
  });

  it('every file of the repository when no files are named (online, then offline)', async () => {
    const cache = join(tmp, 'all');
    const r = await pullFiles(opts({ cache, files: undefined }));
    expect(Object.keys(r.files).sort()).toEqual(['config.json', 'model.safetensors', 'sub/dir/x.txt']);
    const off = await pullFiles(opts({ cache, files: undefined, offline: true }));
    expect(Object.keys(off.files).sort()).toEqual(['config.json', 'model.safetensors', 'sub/dir/x.txt']);
  });

  it('pins a revision: an older commit stays reachable after main moves', async () => {
    const cache = join(tmp, 'pin');
    const old = hub.head('org/open');
    const newer = await hub.commit('org/open', { 'config.json': '{"hidden":16}' }, 'v2');
    try {
      const a = await pullFiles(opts({ cache, files: ['config.json'], revision: old }));
      expect(a.commit).toBe(old);
      expect(readFileSync(a.files['config.json']!, 'utf8')).toBe(config);
      expect(existsSync(join(cache, 'models--org--open', 'refs', 'main'))).toBe(false);
      const b = await pullFiles(opts({ cache, files: ['config.json'], revision: 'v2' }));
      expect(b.commit).toBe(newer);
      expect(readFileSync(b.files['config.json']!, 'utf8')).toBe('{"hidden":16}');
      expect(readFileSync(join(cache, 'models--org--open', 'refs', 'v2'), 'utf8')).toBe(newer);
    } finally {
      await hub.commit('org/open', { 'config.json': config });
    }
  });

  it('gated repository: typed errors that say what to do', async () => {
    const base = { repo: 'org/gated', files: ['model.safetensors'] };
    const anon = pullFiles(opts(base));
    await expect(anon).rejects.toMatchObject({ code: 'GATED_REPO' });
    await expect(anon).rejects.toThrow(new RegExp(`accept the licence at ${hub.url}/org/gated.*HF_TOKEN`));
    // Found out while planning (a one-byte probe), before any file is fetched.
    await expect(planPull(opts(base))).rejects.toMatchObject({ code: 'GATED_REPO' });
    expect(storageGets()).toEqual([]);
    const other = pullFiles(opts({ ...base, token: 'hf_other' }));
    await expect(other).rejects.toMatchObject({ code: 'GATED_REPO' });
    await expect(other).rejects.toThrow(/has not been granted access/);
    await expect(pullFiles(opts({ ...base, token: 'hf_wrong' }))).rejects.toMatchObject({
      code: 'INVALID_TOKEN',
    });
    const ok = await pullFiles(opts({ ...base, token: 'hf_granted' }));
    expect(ok.licence).toBe('example-community-licence');
    expect(ok.gated).toBe(true);
    expect(readFileSync(ok.files['model.safetensors']!).length).toBe(4096);
  });

  it('missing file, repository and revision are typed errors naming what is missing', async () => {
    const e1 = pullFiles(opts({ files: ['config.json', 'nope.bin'] }));
    await expect(e1).rejects.toMatchObject({ code: 'MISSING_FILE', details: { missing: ['nope.bin'] } });
    await expect(pullFiles(opts({ repo: 'org/none' }))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(pullFiles(opts({ revision: 'no-such-branch' }))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(pullFiles(opts({ files: ['../etc/passwd'] }))).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(pullFiles(opts({ repo: 'a/b/c' }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('offline: cached files without a request; a missing one is NOT_CACHED naming it', async () => {
    const cache = join(tmp, 'offline');
    await pullFiles(opts({ cache, files: ['config.json'] }));
    hub.requests.length = 0;
    const r = await pullFiles(opts({ cache, files: ['config.json'], offline: true }));
    expect(readFileSync(r.files['config.json']!, 'utf8')).toBe(config);
    expect(hub.requests).toEqual([]);
    await expect(pullFiles(opts({ cache, offline: true }))).rejects.toMatchObject({
      code: 'NOT_CACHED',
      details: { missing: ['model.safetensors'] },
    });
  });

  it('no network: NETWORK_ERROR, or the cache when it has everything', async () => {
    const cache = join(tmp, 'nonet');
    await pullFiles(opts({ cache, files: ['config.json'] }));
    const dead = 'http://127.0.0.1:9'; // discard port: connection refused
    await expect(pullFiles(opts({ endpoint: dead, retries: 1 }))).rejects.toMatchObject({
      code: 'NETWORK_ERROR',
    });
    const o = opts({ cache, endpoint: dead, files: ['config.json'], retries: 1 });
    const r = await pullFiles(o);
    expect(readFileSync(r.files['config.json']!, 'utf8')).toBe(config);
    expect(o.events.some((e) => e.type === 'offline-fallback')).toBe(true);
  });

  it('resumes cut connections with range requests and ends verified', async () => {
    hub.behaviour.cutAfterBytes = 700_000;
    const o = opts({ files: ['model.safetensors'] });
    const r = await pullFiles(o);
    expect(Buffer.from(readFileSync(r.files['model.safetensors']!)).equals(weights)).toBe(true);
    // Each reconnect asks for the bytes after those that arrived (a cut loses what was in flight).
    const gets = storageGets();
    expect(gets.length).toBeGreaterThanOrEqual(Math.ceil(weights.length / 700_000));
    expect(gets[0]!.range).toBeUndefined();
    const starts = gets.slice(1).map((q) => Number(/^bytes=(\d+)-$/.exec(q.range ?? '')?.[1]));
    for (let i = 0; i < starts.length; i++) {
      expect(starts[i]).toBeGreaterThan(i === 0 ? 0 : starts[i - 1]!);
      expect(starts[i]! - (i === 0 ? 0 : starts[i - 1]!)).toBeLessThanOrEqual(700_000);
    }
    expect(o.events.filter((e) => e.type === 'retry').length).toBe(gets.length - 1);
  });

  it('a stalled body is cut and resumed; a server ignoring the range restarts from 0', async () => {
    hub.behaviour.stallAfterBytes = 1_000_000;
    const o = opts({ files: ['model.safetensors'], stallTimeoutMs: 300 });
    const p = pullFiles(o);
    await new Promise((r) => setTimeout(r, 500));
    delete hub.behaviour.stallAfterBytes;
    hub.behaviour.ignoreRange = true;
    const r = await p;
    expect(Buffer.from(readFileSync(r.files['model.safetensors']!)).equals(weights)).toBe(true);
    expect(o.events.some((e) => e.type === 'retry' && /no data for 0.3 s/.test(e.reason))).toBe(true);
    expect(o.events.some((e) => e.type === 'restart' && /ignored the range/.test(e.reason))).toBe(true);
  });

  it('corrupt bytes from the server: CHECKSUM_MISMATCH, nothing kept under any name', async () => {
    hub.behaviour.corrupt = true;
    const o = opts({ files: ['model.safetensors'] });
    await expect(pullFiles(o)).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
    const blobs = join(o.cacheDir!, 'models--org--open', 'blobs');
    expect(readdirSync(blobs)).toEqual([]);
    expect(existsSync(join(o.cacheDir!, 'models--org--open', 'snapshots'))).toBe(false);
  });

  it('a damaged partial file from an earlier run is detected and downloaded again', async () => {
    const o = opts({ files: ['model.safetensors'] });
    const blobs = join(o.cacheDir!, 'models--org--open', 'blobs');
    mkdirSync(blobs, { recursive: true });
    const bad = Buffer.from(weights.subarray(0, 1_500_000));
    bad[1234]! ^= 1;
    writeFileSync(join(blobs, `${hub.file('org/open', 'model.safetensors').sha256}.incomplete`), bad);
    const r = await pullFiles(o);
    expect(Buffer.from(readFileSync(r.files['model.safetensors']!)).equals(weights)).toBe(true);
    expect(storageGets()[0]!.range).toBe('bytes=1500000-');
    expect(o.events.some((e) => e.type === 'restart' && /did not verify/.test(e.reason))).toBe(true);
  });

  it('checks free disk space before fetching anything', async () => {
    const o = opts({ freeBytes: async () => 1_000_000 });
    await expect(pullFiles(o)).rejects.toMatchObject({ code: 'DISK_FULL' });
    expect(hub.requests.filter((q) => q.url.includes('/resolve/') || q.host === 'storage')).toEqual([]);
  });

  it('retries 503 answers', async () => {
    hub.behaviour.failNext = 2;
    const r = await pullFiles(opts({ files: ['config.json'] }));
    expect(readFileSync(r.files['config.json']!, 'utf8')).toBe(config);
    expect(hub.requests.filter((q) => q.status === 503).length).toBe(2);
  });

  it('refuses to download a blob another live process holds the lock of', async () => {
    const o = opts({ files: ['model.safetensors'] });
    const locks = join(o.cacheDir!, '.locks', 'models--org--open');
    mkdirSync(locks, { recursive: true });
    const { hostname } = await import('node:os');
    writeFileSync(
      join(locks, `${hub.file('org/open', 'model.safetensors').sha256}.audiogen.lock`),
      `${process.ppid}@${hostname()}`,
    );
    await expect(pullFiles(o)).rejects.toMatchObject({ code: 'BUSY' });
    // A lock whose process is gone is taken over.
    writeFileSync(
      join(locks, `${hub.file('org/open', 'model.safetensors').sha256}.audiogen.lock`),
      `999999999@${hostname()}`,
    );
    await expect(pullFiles({ ...o, events: [] } as PullOptions)).resolves.toBeDefined();
  });
});

describe('hubSettings', () => {
  it('reads the environment as huggingface_hub does', () => {
    const home = join(tmp, 'hfhome');
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'token'), 'hf_fromfile\n');
    const s = hubSettings({}, { HF_HOME: home, HF_ENDPOINT: 'http://127.0.0.1:1/', HF_HUB_OFFLINE: '1' });
    expect(s).toMatchObject({
      endpoint: 'http://127.0.0.1:1',
      cacheDir: join(home, 'hub'),
      token: 'hf_fromfile',
      tokenSource: join(home, 'token'),
      offline: true,
    });
    expect(hubSettings({}, { HF_HOME: home, HF_HUB_CACHE: '/x/y', HF_TOKEN: 'hf_env' })).toMatchObject({
      cacheDir: '/x/y',
      token: 'hf_env',
      tokenSource: 'HF_TOKEN',
      offline: false,
      endpoint: 'https://huggingface.co',
    });
    expect(() => hubSettings({}, { HF_TOKEN: 'not a token' })).toThrow(
      expect.objectContaining({ code: 'INVALID_TOKEN' }),
    );
    expect(() => hubSettings({}, { HF_ENDPOINT: 'ftp://x' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
