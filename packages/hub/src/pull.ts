/**
 * Files of one repository at one revision into the shared cache. Metadata comes from the Hub's API
 * through @huggingface/hub (`modelInfo`: commit, licence, gating; `pathsInfo`: sizes and the LFS sha256 /
 * git blob id each file is verified against); bytes come through downloadBlob (ranged, resumable).
 */
import { type Dirent, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AudiogenError, isAudiogenError } from '@audiogen/core';
import { fileDownloadInfo, modelInfo, pathsInfo } from '@huggingface/hub';
import {
  blobPath,
  cachedCommit,
  cachedFile,
  checkRepoPath,
  checkRevision,
  linkSnapshot,
  type RepoCache,
  repoCache,
  snapshotDir,
  tagCacheDir,
  writeRef,
} from './cache';
import { checkDiskSpace, type Digest, downloadBlob, freeBytes } from './download';
import type { HubEventHandler, ResolvedRepo } from './events';
import { type HubRequestContext, hubFetch } from './http';
import { type HubSettings, type HubSettingsOptions, hubSettings } from './settings';

export interface PullOptions extends HubSettingsOptions {
  /** `org/name` of a model repository. */
  repo: string;
  /** Paths inside the repository (default: every file of the repository at that revision). */
  files?: string[];
  /** Branch, tag or commit. Default `main`. */
  revision?: string;
  signal?: AbortSignal;
  onEvent?: HubEventHandler;
  /** Underlying fetch (tests). */
  fetch?: typeof fetch;
  /** Time for response headers (default 30 s) and for a silent body before it is resumed (default 60 s). */
  timeoutMs?: number;
  stallTimeoutMs?: number;
  retries?: number;
  retryDelayMs?: number;
  /** Free bytes at a path (tests). */
  freeBytes?: (dir: string) => Promise<number>;
}

export interface PlannedFile {
  path: string;
  size: number;
  /** Cache blob name. */
  etag: string;
  digest: Digest;
  /** The snapshot path when the file is already cached. */
  cached?: string;
}

export interface PullPlan extends ResolvedRepo {
  /** Planned from the cache alone (HF_HUB_OFFLINE=1 or the Hub unreachable). */
  offline: boolean;
  files: PlannedFile[];
  /** Bytes still to fetch (partials already on disk count in full). */
  downloadBytes: number;
  settings: HubSettings;
}

export interface PullResult extends ResolvedRepo {
  /** `snapshots/<commit>`: the repository's files at that commit, as a folder. */
  dir: string;
  /** Repository path → local path (a symlink into blobs/). */
  files: Record<string, string>;
  downloadedBytes: number;
}

function tokenOpt(s: HubSettings): { accessToken?: string } {
  return s.token ? { accessToken: s.token } : {};
}

/** The licence a model card declares (`license_name` for `other`, else the SPDX id), or a `license:` tag. */
export function licenceOf(info: { cardData?: unknown; tags?: unknown }): string | undefined {
  const card = (info.cardData ?? {}) as { license?: unknown; license_name?: unknown };
  const lic = Array.isArray(card.license) ? card.license.join(', ') : card.license;
  if (typeof card.license_name === 'string' && (lic === 'other' || lic === undefined))
    return card.license_name;
  if (typeof lic === 'string' && lic) return lic;
  const tag = Array.isArray(info.tags)
    ? info.tags.find((t) => typeof t === 'string' && t.startsWith('license:'))
    : undefined;
  return typeof tag === 'string' ? tag.slice('license:'.length) : undefined;
}

/** Every file under a snapshot folder, as repository paths. */
function snapshotFiles(dir: string, prefix = ''): string[] {
  let names: Dirent[];
  try {
    names = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return names.flatMap((d) =>
    d.isDirectory() ? snapshotFiles(join(dir, d.name), `${prefix}${d.name}/`) : [`${prefix}${d.name}`],
  );
}

function planFromCache(
  rc: RepoCache,
  opts: PullOptions,
  settings: HubSettings,
  revision: string,
  why: string,
): PullPlan {
  const commit = cachedCommit(rc, revision);
  const wanted = opts.files ?? (commit ? snapshotFiles(snapshotDir(rc, commit)) : []);
  const missing = commit
    ? wanted.filter((f) => !cachedFile(rc, commit, f))
    : wanted.length
      ? wanted
      : ['(all files)'];
  if (!commit || missing.length) {
    throw new AudiogenError(
      'NOT_CACHED',
      `${why}, and ${rc.repo} at ${revision} is not fully in the cache ${settings.cacheDir}: missing ${missing.join(', ')}. ` +
        'Run once with network access (without HF_HUB_OFFLINE=1), or point HF_HUB_CACHE/HF_HOME at a cache that has them',
      { details: { repo: rc.repo, revision, missing, cacheDir: settings.cacheDir } },
    );
  }
  return {
    repo: rc.repo,
    revision,
    commit,
    gated: false,
    offline: true,
    downloadBytes: 0,
    settings,
    files: wanted.map((f) => {
      const cached = cachedFile(rc, commit, f)!;
      return {
        path: f,
        size: statSync(cached).size,
        etag: '',
        digest: { algorithm: 'sha256', hex: '' },
        cached,
      };
    }),
  };
}

/** Resolves what a pull would do (commit, licence, sizes, what is cached) without downloading. */
export async function planPull(opts: PullOptions): Promise<PullPlan> {
  const settings = hubSettings(opts);
  const revision = opts.revision ?? 'main';
  checkRevision(revision);
  if (opts.files && !opts.files.length) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `an empty file list for ${opts.repo} (leave it out to fetch every file)`,
    );
  }
  for (const f of opts.files ?? []) checkRepoPath(f);
  const rc = repoCache(settings.cacheDir, opts.repo);
  if (settings.offline) return planFromCache(rc, opts, settings, revision, 'HF_HUB_OFFLINE is set');
  const ctx: HubRequestContext = {
    endpoint: settings.endpoint,
    repo: opts.repo,
    revision,
    ...(settings.tokenSource ? { tokenSource: settings.tokenSource } : {}),
  };
  const f = hubFetch(() => ctx, {
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
    ...(opts.retryDelayMs !== undefined ? { retryDelayMs: opts.retryDelayMs } : {}),
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    onRetry: (reason, attempt, delayMs) => opts.onEvent?.({ type: 'retry', reason, attempt, delayMs }),
  });
  let info: {
    sha?: string;
    gated: false | 'auto' | 'manual';
    private: boolean;
    cardData?: unknown;
    tags?: unknown;
    filePaths?: string[];
  };
  try {
    info = await modelInfo({
      name: opts.repo,
      revision,
      hubUrl: settings.endpoint,
      fetch: f,
      additionalFields: ['sha', 'cardData', 'tags', 'filePaths'],
      ...tokenOpt(settings),
    });
  } catch (e) {
    if (isAudiogenError(e, 'NETWORK_ERROR')) {
      // As huggingface_hub does: no Hub, but everything asked for is cached → use the cache.
      const commit = cachedCommit(rc, revision);
      if (commit && opts.files?.every((file) => cachedFile(rc, commit, file))) {
        opts.onEvent?.({ type: 'offline-fallback', reason: e.message });
        return planFromCache(rc, opts, settings, revision, 'the Hub cannot be reached');
      }
    }
    throw e;
  }
  const commit = info.sha;
  if (!commit || !/^[0-9a-f]{40}$/.test(commit)) {
    throw new AudiogenError(
      'NETWORK_ERROR',
      `${settings.endpoint} did not report the commit of ${opts.repo}@${revision}`,
    );
  }
  const wanted = opts.files ?? info.filePaths ?? [];
  for (const p of wanted) checkRepoPath(p);
  if (!wanted.length) throw new AudiogenError('MISSING_FILE', `${opts.repo} at ${revision} has no files`);
  const infos = await pathsInfo({
    repo: { type: 'model', name: opts.repo },
    paths: wanted,
    revision: commit,
    hubUrl: settings.endpoint,
    fetch: f,
    ...tokenOpt(settings),
  });
  const byPath = new Map(infos.map((i) => [i.path, i]));
  const missing = wanted.filter((p) => byPath.get(p)?.type !== 'file');
  if (missing.length) {
    throw new AudiogenError(
      'MISSING_FILE',
      `${opts.repo} at ${revision} has no file ${missing.join(', ')} (see ${settings.endpoint}/${opts.repo}/tree/${revision})`,
      { details: { repo: opts.repo, revision, missing } },
    );
  }
  let downloadBytes = 0;
  const files = wanted.map((p): PlannedFile => {
    const i = byPath.get(p)!;
    const digest: Digest = i.lfs
      ? { algorithm: 'sha256', hex: i.lfs.oid }
      : { algorithm: 'git-sha1', hex: i.oid ?? '' };
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(digest.hex)) {
      throw new AudiogenError(
        'NETWORK_ERROR',
        `${settings.endpoint} sent no usable checksum for ${opts.repo}/${p}`,
      );
    }
    const size = i.lfs?.size ?? i.size;
    const cached = cachedFile(rc, commit, p);
    const blobThere = (() => {
      try {
        return statSync(blobPath(rc, digest.hex)).size === size;
      } catch {
        return false;
      }
    })();
    if (!cached && !blobThere) downloadBytes += size;
    return { path: p, size, etag: digest.hex, digest, ...(cached ? { cached } : {}) };
  });
  // A gated or private repository: ask for one missing file's download info now (a one-byte request), so
  // a licence not yet accepted fails here, before gigabytes of other files are fetched.
  const firstMissing = files.find((x) => !x.cached);
  if ((info.gated || info.private) && firstMissing) {
    ctx.file = firstMissing.path;
    try {
      await fileDownloadInfo({
        repo: { type: 'model', name: opts.repo },
        path: firstMissing.path,
        revision: commit,
        hubUrl: settings.endpoint,
        fetch: f,
        ...tokenOpt(settings),
      });
    } catch (e) {
      if (isAudiogenError(e) && e.code !== 'NETWORK_ERROR') throw e;
      // Anything else (an odd storage answer) is left for the download itself to report.
    } finally {
      delete ctx.file;
    }
  }
  const licence = licenceOf(info);
  return {
    repo: opts.repo,
    revision,
    commit,
    ...(licence ? { licence } : {}),
    gated: !!info.gated,
    offline: false,
    files,
    downloadBytes,
    settings,
  };
}

const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

/** Fetches what the plan says is missing, verifies it, and links it into snapshots/<commit>/. */
export async function runPull(
  plan: PullPlan,
  opts: Omit<PullOptions, 'repo' | 'files'> = {},
): Promise<PullResult> {
  const { settings } = plan;
  const rc = repoCache(settings.cacheDir, plan.repo);
  const resolved: ResolvedRepo = {
    repo: plan.repo,
    revision: plan.revision,
    commit: plan.commit,
    ...(plan.licence ? { licence: plan.licence } : {}),
    gated: plan.gated,
  };
  opts.onEvent?.({ type: 'repo', offline: plan.offline, ...resolved });
  const result: PullResult = {
    ...resolved,
    dir: snapshotDir(rc, plan.commit),
    files: {},
    downloadedBytes: 0,
  };
  if (plan.offline) {
    for (const f of plan.files) {
      opts.onEvent?.({ type: 'cached', file: f.path, size: f.size });
      result.files[f.path] = f.cached!;
    }
    return result;
  }
  await tagCacheDir(settings.cacheDir);
  // The whole remaining download must fit before the first byte is fetched.
  await checkDiskSpace(
    settings.cacheDir,
    plan.downloadBytes,
    `${plan.repo} (${plan.files.length} files)`,
    opts.freeBytes ?? freeBytes,
  );
  let current: string | undefined;
  const ctx = (): HubRequestContext => ({
    endpoint: settings.endpoint,
    repo: plan.repo,
    revision: plan.revision,
    ...(current ? { file: current } : {}),
    ...(settings.tokenSource ? { tokenSource: settings.tokenSource } : {}),
  });
  const f = hubFetch(ctx, {
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
    ...(opts.retryDelayMs !== undefined ? { retryDelayMs: opts.retryDelayMs } : {}),
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    onRetry: (reason, attempt, delayMs) =>
      opts.onEvent?.({ type: 'retry', ...(current ? { file: current } : {}), reason, attempt, delayMs }),
  });
  for (const file of plan.files) {
    current = file.path;
    if (file.cached) {
      opts.onEvent?.({ type: 'cached', file: file.path, size: file.size });
      result.files[file.path] = file.cached;
      continue;
    }
    const blob = blobPath(rc, file.etag);
    let have = false;
    try {
      have = statSync(blob).size === file.size;
    } catch {
      // not cached
    }
    if (have) opts.onEvent?.({ type: 'cached', file: file.path, size: file.size });
    else {
      await downloadBlob(
        {
          rc,
          file: file.path,
          url: `${settings.endpoint}/${plan.repo}/resolve/${plan.commit}/${encodePath(file.path)}`,
          size: file.size,
          etag: file.etag,
          digest: file.digest,
        },
        {
          fetch: f,
          endpoint: settings.endpoint,
          ...(settings.token ? { token: settings.token } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
          ...(opts.stallTimeoutMs !== undefined ? { stallTimeoutMs: opts.stallTimeoutMs } : {}),
          ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
          ...(opts.retryDelayMs !== undefined ? { retryDelayMs: opts.retryDelayMs } : {}),
          ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
          ...(opts.freeBytes ? { freeBytes: opts.freeBytes } : {}),
        },
      );
      result.downloadedBytes += file.size;
    }
    result.files[file.path] = await linkSnapshot(rc, plan.commit, file.path, file.etag);
  }
  await writeRef(rc, plan.revision, plan.commit);
  return result;
}

/** planPull + runPull: the files of `repo` at `revision` in the shared cache, verified. */
export async function pullFiles(opts: PullOptions): Promise<PullResult> {
  return runPull(await planPull(opts), opts);
}
