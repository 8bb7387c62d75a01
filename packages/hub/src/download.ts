/**
 * One blob from the Hub into the cache: appended to `blobs/<etag>.incomplete` (resumed with a range
 * request after a cut connection, a stall, Ctrl-C or a kill), hashed on the way, and renamed to
 * `blobs/<etag>` only when the digest the Hub published matches. Nothing unverified ever has a final name.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, existsSync, promises as fs } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { AudiogenError, isAudiogenError, writeAllAt } from '@audiogen/core';
import { blobPath, lockBlob, type RepoCache } from './cache';
import type { HubEvent } from './events';
import { networkError } from './http';

export interface Digest {
  /** `sha256` for LFS files (the Hub's LFS oid); `git-sha1` (git blob id) for small files kept in git. */
  algorithm: 'sha256' | 'git-sha1';
  hex: string;
}

export interface BlobRequest {
  rc: RepoCache;
  /** The file's path in the repository (for messages and events). */
  file: string;
  url: string;
  size: number;
  /** The blob's cache name (LFS sha256 or git blob id, as huggingface_hub names it). */
  etag: string;
  digest: Digest;
}

export interface TransferOptions {
  /** The typed, retrying fetch (see hubFetch). */
  fetch: typeof fetch;
  endpoint: string;
  token?: string;
  signal?: AbortSignal;
  /** A body that sends nothing for this long is cut and resumed. Default 60 s. */
  stallTimeoutMs?: number;
  /** Resumes after failures mid-body without progress in between. Default 6. */
  retries?: number;
  retryDelayMs?: number;
  onEvent?: (e: HubEvent) => void;
  /** Free bytes at a path (tests replace it; default fs.statfs). */
  freeBytes?: (dir: string) => Promise<number>;
}

/** Room kept free beyond the download itself. */
const DISK_MARGIN = 64 * 1024 * 1024;

export async function freeBytes(dir: string): Promise<number> {
  const s = await fs.statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
}

const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB`;

export async function checkDiskSpace(
  dir: string,
  need: number,
  what: string,
  free: (dir: string) => Promise<number> = freeBytes,
): Promise<void> {
  if (need <= 0) return;
  // The folder may not exist yet: ask about the nearest one that does (the same filesystem, usually).
  let at = resolve(dir);
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  let have: number;
  try {
    have = await free(at);
  } catch {
    return; // statfs unsupported here: the write itself will report ENOSPC
  }
  if (have < need + DISK_MARGIN) {
    throw new AudiogenError(
      'DISK_FULL',
      `not enough disk space for ${what}: ${gb(need)} needed in ${dir}, ${gb(have)} free. ` +
        'Free some space, or set HF_HUB_CACHE (or HF_HOME) to a disk with room',
      { details: { dir, need, free: have } },
    );
  }
}

function newHash(d: Digest, size: number): Hash {
  if (d.algorithm === 'sha256') return createHash('sha256');
  const h = createHash('sha1');
  h.update(`blob ${size}\0`);
  return h;
}

async function hashExisting(path: string, h: Hash, bytes: number): Promise<void> {
  if (bytes === 0) return;
  await new Promise<void>((resolve, reject) => {
    const s = createReadStream(path, { start: 0, end: bytes - 1 });
    s.on('data', (c) => h.update(c));
    s.on('end', resolve);
    s.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ioError(path: string, e: unknown): AudiogenError {
  if ((e as NodeJS.ErrnoException).code === 'ENOSPC') {
    return new AudiogenError(
      'DISK_FULL',
      `the disk holding ${dirname(path)} is full: free some space and run again (the download resumes where it stopped)`,
      { cause: e, details: { path } },
    );
  }
  return new AudiogenError('IO_ERROR', `cannot write ${path}: ${(e as Error).message}`, { cause: e });
}

/** Errors that another attempt cannot fix. */
const FINAL = new Set([
  'GATED_REPO',
  'INVALID_TOKEN',
  'NOT_FOUND',
  'MISSING_FILE',
  'DISK_FULL',
  'ABORTED',
  'IO_ERROR',
  'CHECKSUM_MISMATCH',
  'BUSY',
]);

/**
 * Downloads (or finishes downloading) one blob; returns its cache path. Safe to kill at any point:
 * the next call resumes from the bytes already in `.incomplete`, re-hashing them first.
 */
export async function downloadBlob(req: BlobRequest, opts: TransferOptions): Promise<string> {
  const final = blobPath(req.rc, req.etag);
  const partial = `${final}.incomplete`;
  await fs.mkdir(dirname(final), { recursive: true }).catch((e) => {
    throw ioError(final, e);
  });
  const lock = await lockBlob(req.rc, req.etag);
  try {
    // Another process may have finished it while we waited.
    const done = await fs.stat(final).catch(() => undefined);
    if (done?.isFile() && done.size === req.size) return final;
    let start = (await fs.stat(partial).catch(() => undefined))?.size ?? 0;
    if (start > req.size) {
      opts.onEvent?.({
        type: 'restart',
        file: req.file,
        reason: `partial file is larger than the file (${start} > ${req.size})`,
      });
      start = 0;
    }
    await checkDiskSpace(dirname(final), req.size - start, `${req.rc.repo}/${req.file}`, opts.freeBytes);
    const resumedFrom = start;
    const handle = await fs.open(partial, start > 0 ? 'r+' : 'w').catch((e) => {
      throw ioError(partial, e);
    });
    try {
      const st: TransferState = {
        offset: start,
        hash: newHash(req.digest, req.size),
        t0: Date.now(),
        resumedFrom,
        restart: async (reason: string) => {
          opts.onEvent?.({ type: 'restart', file: req.file, reason });
          await handle.truncate(0);
          st.offset = 0;
          st.hash = newHash(req.digest, req.size);
        },
      };
      if (start > 0) await hashExisting(partial, st.hash, start);
      else await handle.truncate(0);
      opts.onEvent?.({ type: 'file-start', file: req.file, size: req.size, resumeFrom: start });
      let failures = 0;
      let verifiedRestart = false;
      for (;;) {
        while (st.offset < req.size) {
          const before = st.offset;
          try {
            await transferOnce(req, opts, handle, st);
          } catch (e) {
            if (isAudiogenError(e) && FINAL.has(e.code)) throw e;
            if (st.offset > before) failures = 0;
            if (++failures > (opts.retries ?? 6)) {
              const err = isAudiogenError(e, 'NETWORK_ERROR')
                ? e
                : networkError({ endpoint: opts.endpoint, repo: req.rc.repo, file: req.file }, e, req.file);
              err.message += ` (${st.offset} of ${req.size} bytes are kept: run again to resume)`;
              throw err;
            }
            const wait = (opts.retryDelayMs ?? 500) * 2 ** Math.min(failures - 1, 5);
            opts.onEvent?.({
              type: 'retry',
              file: req.file,
              reason: (e as Error).message,
              attempt: failures,
              delayMs: wait,
            });
            await sleep(wait);
          }
        }
        await handle.sync();
        const got = st.hash.digest('hex');
        if (got === req.digest.hex) break;
        // A partial left by an earlier run may have been damaged on disk: start over once from zero.
        if (resumedFrom > 0 && !verifiedRestart) {
          verifiedRestart = true;
          await st.restart(
            `the partial download from an earlier run did not verify (${req.digest.algorithm} ${got.slice(0, 12)}…); downloading it again from the start`,
          );
          continue;
        }
        await handle.close().catch(() => {});
        await fs.rm(partial, { force: true });
        throw new AudiogenError(
          'CHECKSUM_MISMATCH',
          `${req.rc.repo}/${req.file}: the downloaded bytes hash to ${req.digest.algorithm} ${got}, but the Hub published ${req.digest.hex}; ` +
            'the file was discarded. Run again; if it repeats, a proxy or mirror (HF_ENDPOINT) is altering the file',
          { details: { file: req.file, expected: req.digest.hex, got, algorithm: req.digest.algorithm } },
        );
      }
      await handle.close();
      await fs.rename(partial, final).catch((e) => {
        throw ioError(final, e);
      });
      opts.onEvent?.({
        type: 'file-done',
        file: req.file,
        size: req.size,
        ms: Date.now() - st.t0,
        verified: req.digest.algorithm,
      });
      return final;
    } finally {
      await handle.close().catch(() => {});
    }
  } finally {
    await lock.release();
  }
}

interface TransferState {
  /** Bytes in the partial file, all of them hashed. */
  offset: number;
  hash: Hash;
  t0: number;
  resumedFrom: number;
  /** Truncates the partial file and resets offset and hash. */
  restart: (reason: string) => Promise<void>;
}

/** One ranged GET appended to the partial file; advances st.offset as bytes land (also when it throws). */
async function transferOnce(
  req: BlobRequest,
  opts: TransferOptions,
  handle: fs.FileHandle,
  st: TransferState,
): Promise<void> {
  const offset = st.offset;
  const ctl = new AbortController();
  const headers: Record<string, string> = { 'Accept-Encoding': 'identity' };
  if (offset > 0) headers.Range = `bytes=${offset}-`;
  // The token goes to the Hub only; fetch drops it on the redirect to the storage host.
  if (opts.token && new URL(req.url).origin === new URL(opts.endpoint).origin) {
    headers.Authorization = `Bearer ${opts.token}`;
  }
  const res = await opts.fetch(req.url, { headers, signal: ctl.signal });
  if (offset > 0 && res.status === 200) {
    await st.restart('the server ignored the range request');
  } else if (offset > 0 && res.status !== 206) {
    await res.body?.cancel().catch(() => {});
    await st.restart(`unexpected answer ${res.status} to a range request`);
    return;
  } else if (res.status === 206) {
    const m = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
    if (!m || Number(m[1]) !== offset) {
      await res.body?.cancel().catch(() => {});
      throw new Error(
        `the server answered the range request from byte ${offset} with "${res.headers.get('content-range')}"`,
      );
    }
  }
  if (!res.body) throw new Error('empty response body');
  const reader = res.body.getReader();
  const stallMs = opts.stallTimeoutMs ?? 60_000;
  let lastEmit = 0;
  const first = st.offset;
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`no data for ${stallMs / 1000} s`));
          ctl.abort();
        }, stallMs);
      });
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await Promise.race([reader.read(), stalled]);
      } finally {
        clearTimeout(timer);
      }
      if (opts.signal?.aborted)
        throw new AudiogenError('ABORTED', 'download was aborted', { cause: opts.signal.reason });
      if (chunk.done) break;
      const b = chunk.value;
      if (st.offset + b.length > req.size) {
        throw new AudiogenError(
          'CHECKSUM_MISMATCH',
          `${req.rc.repo}/${req.file}: the server sent more than the ${req.size} bytes the Hub published`,
          { details: { file: req.file } },
        );
      }
      try {
        // All of it: a short write (nearly full disk) would leave a hole the hash, computed from memory, misses.
        await writeAllAt(handle, b, st.offset);
      } catch (e) {
        throw ioError(`${blobPath(req.rc, req.etag)}.incomplete`, e);
      }
      st.hash.update(b);
      st.offset += b.length;
      const now = Date.now();
      if (now - lastEmit >= 100 || st.offset === req.size) {
        lastEmit = now;
        const secs = Math.max((now - st.t0) / 1000, 1e-3);
        const rate = Math.max(st.offset - st.resumedFrom, 0) / secs;
        opts.onEvent?.({
          type: 'progress',
          file: req.file,
          bytes: st.offset,
          total: req.size,
          rate,
          etaSeconds: rate > 0 ? (req.size - st.offset) / rate : undefined,
        });
      }
    }
  } catch (e) {
    ctl.abort();
    if (isAudiogenError(e)) throw e;
    throw Object.assign(new Error(`connection lost at byte ${st.offset}: ${(e as Error).message}`), {
      cause: e,
    });
  } finally {
    try {
      reader.releaseLock();
    } catch {
      // a read was still pending on an aborted body
    }
  }
  if (st.offset < req.size && st.offset === first) throw new Error('the connection closed before any data');
}
