/**
 * The Hugging Face cache layout, shared with Python's huggingface_hub:
 *   <cache>/models--org--name/blobs/<etag>                      file contents (etag: LFS sha256 or git blob id)
 *   <cache>/models--org--name/snapshots/<commit>/<path>         relative symlink → ../../blobs/<etag>
 *   <cache>/models--org--name/refs/<revision>                   the commit a branch or tag pointed at
 *   <cache>/models--org--name/blobs/<etag>.incomplete           a download in progress (ours; resumable)
 *   <cache>/.locks/models--org--name/<etag>.lock                Python's lock file (flock); we lock beside it
 */
import { existsSync, promises as fs, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { AudiogenError, writeFileAtomic } from '@audiogen/core';
import { getRepoFolderName } from '@huggingface/hub';

export const COMMIT_RE = /^[0-9a-f]{40}$/;

/** Validates "org/name" (or "name") repository ids and file paths before they become cache paths. */
export function checkRepoId(repo: string): void {
  if (
    !/^(?:[A-Za-z0-9][\w.-]*\/)?[A-Za-z0-9][\w.-]*$/.test(repo) ||
    repo.includes('..') ||
    repo.length > 96
  ) {
    throw new AudiogenError('INVALID_ARGUMENT', `"${repo}" is not a Hub repository id (expected org/name)`);
  }
}

export function checkRepoPath(path: string): void {
  const parts = path.split('/');
  if (
    !path ||
    path.startsWith('/') ||
    path.includes('\\') ||
    parts.some((p) => p === '' || p === '.' || p === '..') ||
    path.includes('\0')
  ) {
    throw new AudiogenError('INVALID_ARGUMENT', `"${path}" is not a file path inside a repository`);
  }
}

export function checkRevision(revision: string): void {
  if (
    !revision ||
    revision.split('/').some((p) => p === '' || p === '.' || p === '..') ||
    revision.includes('\\')
  ) {
    throw new AudiogenError('INVALID_ARGUMENT', `"${revision}" is not a revision (a branch, tag or commit)`);
  }
}

export interface RepoCache {
  cacheDir: string;
  repo: string;
  /** models--org--name */
  folder: string;
  dir: string;
}

export function repoCache(cacheDir: string, repo: string): RepoCache {
  checkRepoId(repo);
  const folder = getRepoFolderName({ name: repo, type: 'model' });
  return { cacheDir, repo, folder, dir: join(cacheDir, folder) };
}

export const blobPath = (rc: RepoCache, etag: string) => join(rc.dir, 'blobs', etag);
export const snapshotDir = (rc: RepoCache, commit: string) => join(rc.dir, 'snapshots', commit);
export const snapshotPath = (rc: RepoCache, commit: string, file: string) =>
  join(rc.dir, 'snapshots', commit, ...file.split('/'));

/** The commit a revision resolves to in the cache (a commit hash resolves to itself). */
export function cachedCommit(rc: RepoCache, revision: string): string | undefined {
  if (COMMIT_RE.test(revision)) return revision;
  try {
    const c = readFileSync(join(rc.dir, 'refs', ...revision.split('/')), 'utf8').trim();
    return COMMIT_RE.test(c) ? c : undefined;
  } catch {
    return undefined;
  }
}

/** The cached file for repo/revision/path, as huggingface_hub's try_to_load_from_cache finds it. */
export function cachedFile(rc: RepoCache, revision: string, file: string): string | undefined {
  const commit = cachedCommit(rc, revision);
  if (!commit) return undefined;
  const p = snapshotPath(rc, commit, file);
  try {
    return statSync(p).isFile() ? p : undefined; // follows the symlink: a dangling link is not a file
  } catch {
    return undefined;
  }
}

/** Records which commit a branch or tag pointed at (nothing for a commit hash). */
export async function writeRef(rc: RepoCache, revision: string, commit: string): Promise<void> {
  if (revision === commit) return;
  const p = join(rc.dir, 'refs', ...revision.split('/'));
  try {
    if (readFileSync(p, 'utf8').trim() === commit) return;
  } catch {
    // not there yet
  }
  await fs.mkdir(dirname(p), { recursive: true });
  await writeFileAtomic(p, new TextEncoder().encode(commit));
}

/** Points snapshots/<commit>/<file> at the blob with a relative symlink (replacing any old link atomically). */
export async function linkSnapshot(
  rc: RepoCache,
  commit: string,
  file: string,
  etag: string,
): Promise<string> {
  const pointer = snapshotPath(rc, commit, file);
  const blob = blobPath(rc, etag);
  await fs.mkdir(dirname(pointer), { recursive: true });
  const target = relative(dirname(pointer), blob).split(sep).join('/');
  try {
    if ((await fs.readlink(pointer)) === target) return pointer;
  } catch {
    // missing, or not a link
  }
  const tmp = `${pointer}.${process.pid}.${Date.now().toString(36)}.link`;
  try {
    await fs.symlink(target, tmp);
    await fs.rename(tmp, pointer);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'EACCES' && code !== 'ENOTSUP') {
      throw new AudiogenError('IO_ERROR', `cannot link ${pointer} to its blob: ${(e as Error).message}`, {
        cause: e,
      });
    }
    // No symlinks here (Windows without developer mode): a copy, as huggingface_hub falls back to.
    await fs.copyFile(blob, tmp);
    await fs.rename(tmp, pointer);
  }
  return pointer;
}

/** Marks the cache folder for backup tools (the CACHEDIR.TAG standard huggingface_hub also follows). */
export async function tagCacheDir(cacheDir: string): Promise<void> {
  const tag = join(cacheDir, 'CACHEDIR.TAG');
  if (existsSync(tag)) return;
  await fs.mkdir(cacheDir, { recursive: true });
  await writeFileAtomic(
    tag,
    new TextEncoder().encode(
      'Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by @audiogen/hub.\n',
    ),
  ).catch(() => {});
}

export interface Lock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An exclusive lock on one blob's download, so two of our processes never append to the same
 * .incomplete file. Node has no flock, so this is a pid file beside Python's lock: a lock left by a
 * process that died (SIGKILL) is taken over.
 */
export async function lockBlob(rc: RepoCache, etag: string): Promise<Lock> {
  const dir = join(rc.cacheDir, '.locks', rc.folder);
  await fs.mkdir(dir, { recursive: true });
  const p = join(dir, `${etag}.audiogen.lock`);
  const me = `${process.pid}@${hostname()}`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fs.writeFile(p, me, { flag: 'wx' });
      return { release: () => fs.rm(p, { force: true }).catch(() => {}) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new AudiogenError('IO_ERROR', `cannot create lock ${p}: ${(e as Error).message}`, { cause: e });
      }
    }
    const owner = await fs.readFile(p, 'utf8').catch(() => '');
    const [pid, host] = owner.split('@');
    if (owner && (host !== hostname() || alive(Number(pid)))) {
      throw new AudiogenError(
        'BUSY',
        `another process (${owner}) is downloading ${rc.repo} blob ${etag.slice(0, 12)}…: wait for it to finish` +
          ` (or delete ${p} if that process is gone)`,
        { details: { lock: p, owner } },
      );
    }
    await fs.rm(p, { force: true }); // stale: its process is gone
  }
  throw new AudiogenError('BUSY', `cannot take the download lock ${p}`, { details: { lock: p } });
}
