/**
 * The output layer: every file and folder the SDK writes goes through here, so that a target holds
 * either its old content or the complete new one — never a prefix — whatever the disk, the signal
 * or the kind of path. Guarantees and decisions are listed in core's README ("Output layer").
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, renameSync, rmSync, type Stats, write as writeFd } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { AudiogenError } from './errors';

/** Bytes to write: one array, a list of parts, or a (lazy, possibly async) sequence of chunks. */
export type OutputData = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** Where a producer writes its bytes; `write` returns once every byte of the chunk is accepted. */
export interface OutputSink {
  readonly path: string;
  readonly bytesWritten: number;
  write(chunk: Uint8Array): Promise<void>;
}

export interface WriteOutputOptions {
  /** Create missing parent folders (typed errors on a read-only disk or a parent that is a file). Default false. */
  parents?: boolean;
  /** Files (or folders) the output must not be — or, for a folder output, must not contain. */
  inputs?: readonly (string | undefined)[];
}

/** What a path names once symlinks are followed. */
export type OutputTargetKind = 'missing' | 'file' | 'folder' | 'device' | 'fifo' | 'stream';

export interface OutputTarget {
  /** The path as given. */
  path: string;
  /** The path after following symlinks (what is replaced; the links themselves are kept). */
  resolved: string;
  kind: OutputTargetKind;
}

export interface CheckOutputOptions extends WriteOutputOptions {
  /** A file (default) or a folder output. */
  kind?: 'file' | 'folder';
}

// ---------------------------------------------------------------------------------------------
// Typed errors

const HINTS: Record<string, string> = {
  ENOSPC: 'no space left on the device: free some space or choose another output location',
  EDQUOT: 'disk quota exceeded: free some space or choose another output location',
  EFBIG: 'the file is larger than the filesystem allows: choose another output location',
  EIO: 'the device reported an I/O error: check the disk, or choose another output location',
  EROFS: 'the filesystem is read-only: choose another output location',
  EACCES: 'permission denied: choose a folder you can write to',
  EPERM: 'operation not permitted: choose a folder you can write to',
  ENOENT: 'the folder does not exist',
  ENOTDIR: 'a parent of the path is a file, not a folder',
  EISDIR: 'the path is a folder',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files',
  EXDEV: 'the temporary and final paths are on different filesystems',
};

/** Maps a Node fs error to IO_ERROR naming the path and what to do. */
export function outputError(path: string, e: unknown, doing = 'write'): AudiogenError {
  if (e instanceof AudiogenError) return e;
  const errno = (e as NodeJS.ErrnoException)?.code;
  const hint = errno ? HINTS[errno] : undefined;
  const text = hint ?? (e instanceof Error ? e.message : String(e));
  return new AudiogenError(
    'IO_ERROR',
    `could not ${doing} ${path}: ${text}${errno && hint ? ` (${errno})` : ''}`,
    {
      cause: e,
      details: { path, ...(errno ? { errno } : {}) },
    },
  );
}

function invalid(path: string, reason: string, message: string): AudiogenError {
  return new AudiogenError('INVALID_ARGUMENT', message, { details: { path, reason } });
}

const errnoOf = (e: unknown) => (e as NodeJS.ErrnoException)?.code;

// ---------------------------------------------------------------------------------------------
// Temp names, the registry of live temps, and signal cleanup

// .<name>.<pid>-<12 hex>.ag<role>: recognisable, so a later run can clean what a killed one left.
const TEMP_RE = /^\.(.+)\.(\d+)-([0-9a-f]{12})\.ag(tmp|new|old|probe)$/;
type TempRole = 'tmp' | 'new' | 'old' | 'probe';

function tempPath(target: string, role: TempRole): string {
  return join(
    dirname(target),
    `.${basename(target)}.${process.pid}-${randomBytes(6).toString('hex')}.ag${role}`,
  );
}

interface LiveTemp {
  /** Remove it, or (an old folder set aside during a swap) put it back at `restoreTo` if that is empty. */
  restoreTo?: string;
}

interface Registry {
  live: Map<string, LiveTemp>;
  exitHook: boolean;
  signals: Map<NodeJS.Signals, () => void>;
}

// One registry per process even if two copies of this module are bundled (core's entry points).
const REGISTRY_KEY = Symbol.for('audiogen.output.registry');
function registry(): Registry {
  const g = globalThis as unknown as Record<symbol, Registry | undefined>;
  let r = g[REGISTRY_KEY];
  if (!r) {
    r = { live: new Map(), exitHook: false, signals: new Map() };
    g[REGISTRY_KEY] = r;
  }
  return r;
}

function track(path: string, entry: LiveTemp = {}): void {
  const r = registry();
  r.live.set(path, entry);
  if (!r.exitHook) {
    // 'exit' also runs on process.exit() from a signal handler; removing temps there is sync and safe.
    r.exitHook = true;
    process.once('exit', cleanupOutputTemps);
  }
}

function untrack(path: string): void {
  registry().live.delete(path);
}

// A write still in flight on a worker thread may add a file while the folder is being removed
// (ENOTEMPTY): retry a few times.
const RM_RETRY = { recursive: true, force: true, maxRetries: 5, retryDelay: 2 } as const;

/**
 * Removes every temp file and folder this process is writing right now (and puts back an old folder
 * set aside mid-swap). Synchronous, for signal and exit handlers; safe to call more than once.
 * Returns the paths it handled.
 */
export function cleanupOutputTemps(): string[] {
  const r = registry();
  const done: string[] = [];
  // Newest first (a temp file inside a temp folder goes before the folder), and a few passes: a file
  // being created by a worker thread right now can make the folder's removal fail once (ENOTEMPTY).
  let left = [...r.live].reverse();
  for (let pass = 0; pass < 3 && left.length; pass++) {
    const failed: typeof left = [];
    for (const [p, t] of left) {
      try {
        if (t.restoreTo) {
          try {
            renameSync(p, t.restoreTo);
          } catch {
            // The new folder is already in place: the old one is just garbage now.
            rmSync(p, RM_RETRY);
          }
        } else rmSync(p, RM_RETRY);
        done.push(p);
      } catch {
        failed.push([p, t]);
      }
    }
    left = failed;
  }
  // What still fails is left to a later run's stale-temp cleanup.
  r.live.clear();
  return done;
}

/** Paths of the temps this process is writing right now (for tests and diagnostics). */
export function liveOutputTemps(): string[] {
  return [...registry().live.keys()];
}

/**
 * Installs SIGINT/SIGTERM/SIGHUP handlers that remove live temps, then let the signal end the process
 * as it would have (exit status 128+n). A library must not take over signals, so nothing calls this
 * for you: the `audiogen` CLI does, apps may. Without it temps are still removed on normal exit and
 * `process.exit()`, and a later write to the same folder removes temps a killed process left.
 * A signal that has other listeners (e.g. a "stop after this step" Ctrl-C handler) is left to them.
 * Returns a function that uninstalls the handlers.
 */
export function installOutputSignalHandlers(
  signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'],
): () => void {
  const r = registry();
  for (const sig of signals) {
    if (r.signals.has(sig)) continue;
    const handler = () => {
      if (process.listenerCount(sig) > 1) return;
      cleanupOutputTemps();
      process.off(sig, handler);
      r.signals.delete(sig);
      process.kill(process.pid, sig);
    };
    r.signals.set(sig, handler);
    process.on(sig, handler);
  }
  return () => {
    for (const sig of signals) {
      const h = r.signals.get(sig);
      if (h) process.off(sig, h);
      r.signals.delete(sig);
    }
  };
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoOf(e) === 'EPERM';
  }
}

/**
 * Removes temps that killed runs left next to `target` (their process is gone): partial files and
 * folders are deleted; an old folder set aside mid-swap is put back if the target is missing.
 */
export async function cleanStaleOutputTemps(target: string): Promise<string[]> {
  const dir = dirname(resolve(target));
  const name = basename(resolve(target));
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch {
    return [];
  }
  const cleaned: string[] = [];
  for (const e of entries) {
    const m = TEMP_RE.exec(e);
    if (!m || m[1] !== name || pidAlive(Number(m[2]))) continue;
    const p = join(dir, e);
    try {
      if (m[4] === 'old' && !(await exists(join(dir, name)))) await fs.rename(p, join(dir, name));
      else await fs.rm(p, { recursive: true, force: true });
      cleaned.push(p);
    } catch {
      // Not ours to fight over (permissions, a concurrent cleaner): leave it.
    }
  }
  return cleaned;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Resolving a target

// Links that name an already open stream (stdout etc.): written in place, like a shell's `>`.
const STREAM_RE = /^\/(?:dev\/(?:stdout|stderr|fd\/\d+)|proc\/(?:self|\d+)\/fd\/\d+)$/;

function kindOf(st: Stats): OutputTargetKind | 'socket' {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'folder';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'device';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

/** True when the target is this process's stdout (`--out /dev/stdout`, `/dev/fd/1`…): print messages elsewhere. */
export function isStdoutTarget(t: OutputTarget): boolean {
  return t.kind === 'stream' && ownDescriptor(t.resolved) === 1;
}

/** Follows symlinks to what a write to `path` would replace; the link itself is never replaced. */
export async function resolveOutputTarget(path: string): Promise<OutputTarget> {
  if (typeof path !== 'string' || path === '' || path.includes('\0')) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `output path must be a non-empty string (got ${JSON.stringify(path)})`,
    );
  }
  let p = resolve(path);
  for (let hop = 0; hop < 40; hop++) {
    if (process.platform !== 'win32' && STREAM_RE.test(p)) return { path, resolved: p, kind: 'stream' };
    let st: Stats;
    try {
      st = await fs.lstat(p);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return { path, resolved: p, kind: 'missing' };
      if (errnoOf(e) === 'ENOTDIR') throw parentNotFolder(path);
      throw outputError(path, e, 'inspect');
    }
    if (!st.isSymbolicLink()) {
      const kind = kindOf(st);
      if (kind === 'socket')
        throw invalid(path, 'socket', `${path} is a socket; give a file, device or FIFO`);
      return { path, resolved: p, kind };
    }
    const link = await fs.readlink(p).catch((e) => {
      throw outputError(path, e, 'read the link');
    });
    // Resolve relative links against the link's real folder (what the kernel does).
    const parent = await fs.realpath(dirname(p)).catch(() => dirname(p));
    p = resolve(parent, link);
  }
  throw outputError(path, Object.assign(new Error('symlink loop'), { code: 'ELOOP' }), 'resolve');
}

function parentNotFolder(path: string): AudiogenError {
  return invalid(path, 'parent-not-folder', `cannot write ${path}: a parent of it is a file, not a folder`);
}

/** The nearest existing ancestor of `p`; a file there means the path cannot be created. */
async function nearestExisting(p: string, path: string): Promise<{ dir: string; missing: boolean }> {
  let d = p;
  let missing = false;
  for (;;) {
    try {
      const st = await fs.stat(d);
      if (!st.isDirectory()) throw parentNotFolder(path);
      return { dir: d, missing };
    } catch (e) {
      if (e instanceof AudiogenError) throw e;
      if (errnoOf(e) === 'ENOTDIR') throw parentNotFolder(path);
      if (errnoOf(e) !== 'ENOENT') throw outputError(path, e, 'inspect');
      const up = dirname(d);
      if (up === d) throw outputError(path, e, 'inspect');
      d = up;
      missing = true;
    }
  }
}

/** Identity of an existing path (device + inode), following links; undefined if it does not exist. */
async function identity(p: string): Promise<string | undefined> {
  try {
    const st = await fs.stat(p, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/** True when both paths name the same existing file or folder (after links, hard links included). */
export async function isSameFile(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([identity(a), identity(b)]);
  return x !== undefined && x === y;
}

/**
 * Refuses an output that is one of the inputs (same device and inode, so links and `./a` vs `a` are
 * caught). For a folder output, also an input inside that folder (the swap replaces the folder). An
 * output folder inside an input folder is allowed (`quantize models/x --out models/x/int8`).
 */
export async function assertOutputNotInput(
  output: string,
  inputs: readonly (string | undefined)[],
  kind: 'file' | 'folder' = 'file',
): Promise<void> {
  const outReal = await realOrResolved(output);
  for (const input of inputs) {
    if (!input) continue;
    if (await isSameFile(output, input)) {
      throw invalid(
        output,
        'output-is-input',
        `the output ${output} is the input ${input}; choose another output path`,
      );
    }
    if (kind === 'folder') {
      const inReal = await realOrResolved(input);
      if (inReal.startsWith(outReal + sep)) {
        throw invalid(
          output,
          'output-overlaps-input',
          `the input ${input} is inside the output folder ${output}, which is replaced as a whole; choose another output folder`,
        );
      }
    }
  }
}

async function realOrResolved(p: string): Promise<string> {
  const abs = resolve(p);
  try {
    return await fs.realpath(abs);
  } catch {
    // Missing: resolve its existing parent so links in the folder part still compare equal.
    const parent = await fs.realpath(dirname(abs)).catch(() => dirname(abs));
    return join(parent, basename(abs));
  }
}

/**
 * Pre-flight for an output path, to call BEFORE slow work: the path is a file (or folder) target
 * and not a folder (file) one, its parent exists or can be created (no file in the way), the place
 * is writable (a probe file is created and removed), devices/FIFOs are writable, and it is none of
 * `inputs`. Throws INVALID_ARGUMENT (wrong kind of path, parent is a file, output is an input) or
 * IO_ERROR (read-only, permission, missing parent with `parents: false`). Creates nothing that stays.
 */
export async function checkOutputTarget(
  path: string,
  options: CheckOutputOptions = {},
): Promise<OutputTarget> {
  const kind = options.kind ?? 'file';
  const t = await resolveOutputTarget(path);
  if (kind === 'file' && t.kind === 'folder') {
    throw invalid(path, 'is-folder', `${path} is a folder; give a file path`);
  }
  if (kind === 'folder' && t.kind !== 'missing' && t.kind !== 'folder') {
    throw invalid(path, 'not-folder', `${path} exists and is not a folder; give a folder path`);
  }
  await assertOutputNotInput(t.resolved, options.inputs ?? [], kind);
  if (t.kind === 'stream' && ownDescriptor(t.resolved) !== undefined) return t;
  if (t.kind === 'device' || t.kind === 'fifo' || t.kind === 'stream') {
    await fs.access(t.resolved, fs.constants.W_OK).catch((e) => {
      throw outputError(path, e, 'open for writing');
    });
    return t;
  }
  const { dir, missing } = await nearestExisting(dirname(t.resolved), path);
  if (missing && options.parents === false) {
    throw outputError(path, Object.assign(new Error('no such folder'), { code: 'ENOENT' }));
  }
  await cleanStaleOutputTemps(t.resolved);
  // Probe: mode bits lie (root, ACLs, read-only mounts); creating a file is the real test.
  const probe = tempPath(join(dir, basename(t.resolved)), 'probe');
  track(probe);
  try {
    const h = await fs.open(probe, 'wx');
    await h.close();
  } catch (e) {
    throw outputError(missing ? dir : path, e, missing ? 'create a folder in' : 'write');
  } finally {
    await fs.rm(probe, { force: true }).catch(() => {});
    untrack(probe);
  }
  return t;
}

/**
 * `checkOutputTarget` for several outputs of one command (a model, its report, a chart…), which must
 * also be distinct from each other. Undefined entries are skipped.
 */
export async function checkOutputTargets(
  targets: readonly ({ path: string | undefined } & CheckOutputOptions)[],
  common: CheckOutputOptions = {},
): Promise<OutputTarget[]> {
  const done: OutputTarget[] = [];
  for (const { path, ...o } of targets) {
    if (path === undefined) continue;
    const t = await checkOutputTarget(path, {
      ...common,
      ...o,
      inputs: [...(common.inputs ?? []), ...(o.inputs ?? [])],
    });
    const twin = done.find((d) => d.resolved === t.resolved && t.kind !== 'device' && t.kind !== 'stream');
    if (twin) {
      throw invalid(
        path,
        'output-repeated',
        `${path} is given for two outputs (also as ${twin.path}); give each its own path`,
      );
    }
    done.push(t);
  }
  return done;
}

/** Creates `dir` and its missing parents, with typed errors. */
export async function makeOutputFolder(dir: string): Promise<void> {
  const abs = resolve(dir);
  const { dir: base } = await nearestExisting(abs, dir);
  // One level at a time from the nearest existing folder, so the error is the real one (a recursive
  // mkdir on a read-only disk reports ENOENT).
  const rest = abs.slice(base.length).split(sep).filter(Boolean);
  let d = base;
  for (const part of rest) {
    d = join(d, part);
    try {
      await fs.mkdir(d);
    } catch (e) {
      if (errnoOf(e) === 'EEXIST' && (await fs.stat(d).catch(() => undefined))?.isDirectory()) continue;
      if (errnoOf(e) === 'ENOTDIR' || errnoOf(e) === 'EEXIST') throw parentNotFolder(dir);
      throw outputError(dir, e, 'create the folder');
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

// Fault injection for tests (short writes, ENOSPC): see @audiogen/core/test `injectOutputFaults`.
export type OutputWriteHook = (
  path: string,
  chunk: Uint8Array,
  write: (chunk: Uint8Array) => Promise<number>,
) => Promise<number>;
const HOOK_KEY = Symbol.for('audiogen.output.writeHook');
function writeHook(): OutputWriteHook | undefined {
  return (globalThis as unknown as Record<symbol, OutputWriteHook | undefined>)[HOOK_KEY];
}

const MAX_CALL = 1 << 26; // 64 MiB per write(2): bounded calls, and under Node's 2 GiB limit

type RawWrite = (chunk: Uint8Array) => Promise<number>;
const handleWrite =
  (handle: fs.FileHandle): RawWrite =>
  async (c) =>
    (await handle.write(c, 0, c.length, null)).bytesWritten;

/**
 * Writes every byte of `chunk` through `raw`, which may accept fewer bytes than asked (write(2) on a
 * nearly full disk does, without an error): the rest is written next; a device that keeps accepting
 * nothing is full (ENOSPC). `onBytes` hears each accepted count.
 */
async function writeAllWith(raw: RawWrite, chunk: Uint8Array, path: string, onBytes?: (n: number) => void) {
  if (!(chunk instanceof Uint8Array)) {
    throw new AudiogenError('INVALID_ARGUMENT', `output chunks must be Uint8Array (writing ${path})`);
  }
  let off = 0;
  let stalls = 0;
  while (off < chunk.length) {
    const part = chunk.subarray(off, Math.min(chunk.length, off + MAX_CALL));
    const hook = writeHook();
    const n = hook ? await hook(path, part, raw) : await raw(part);
    if (!(n > 0)) {
      if (++stalls >= 3)
        throw Object.assign(new Error('the device accepted no more bytes'), { code: 'ENOSPC' });
      continue;
    }
    stalls = 0;
    off += n;
    onBytes?.(n);
  }
}

/**
 * For writers that keep their own file (a resumable download): writes all of `chunk` at `position`
 * of an open handle, resuming short writes. Errors are the raw fs errors (map them with `outputError`).
 */
export async function writeAllAt(
  handle: fs.FileHandle,
  chunk: Uint8Array,
  position: number,
  path = '',
): Promise<void> {
  let at = position;
  const raw: RawWrite = async (c) => (await handle.write(c, 0, c.length, at)).bytesWritten;
  await writeAllWith(raw, chunk, path, (n) => {
    at += n;
  });
}

function makeSink(raw: RawWrite, path: string): OutputSink {
  let written = 0;
  return {
    path,
    get bytesWritten() {
      return written;
    },
    write: (chunk: Uint8Array) =>
      writeAllWith(raw, chunk, path, (n) => {
        written += n;
      }),
  };
}

async function feed(sink: OutputSink, data: OutputData): Promise<void> {
  if (data instanceof Uint8Array) return sink.write(data);
  if (Symbol.asyncIterator in (data as object)) {
    for await (const c of data as AsyncIterable<Uint8Array>) await sink.write(c);
  } else for (const c of data as Iterable<Uint8Array>) await sink.write(c);
}

async function syncFolder(dir: string): Promise<void> {
  // Makes the rename durable; not possible on every platform/filesystem (Windows: EPERM/EISDIR).
  let h: fs.FileHandle | undefined;
  try {
    h = await fs.open(dir, 'r');
    await h.sync();
  } catch {
    // Best effort by design.
  } finally {
    await h?.close().catch(() => {});
  }
}

/** The descriptor of this process a stream path names (/dev/stdout → 1, /proc/self/fd/5 → 5). */
function ownDescriptor(p: string): number | undefined {
  if (p === '/dev/stdout') return 1;
  if (p === '/dev/stderr') return 2;
  const m = /^\/(?:dev\/fd|proc\/(self|\d+)\/fd)\/(\d+)$/.exec(p);
  if (!m || (m[1] !== undefined && m[1] !== 'self' && Number(m[1]) !== process.pid)) return undefined;
  return Number(m[2]);
}

const fdWrite =
  (fd: number): RawWrite =>
  (c) =>
    new Promise((ok, fail) => writeFd(fd, c, 0, c.length, null, (e, n) => (e ? fail(e) : ok(n))));

async function writeInPlace(t: OutputTarget, produce: (sink: OutputSink) => Promise<void>): Promise<void> {
  // Devices, FIFOs and open streams are written directly: replacing them would destroy them. Our own
  // stdout/stderr/fd N are written through the descriptor (reopening a socket via /proc fails: ENXIO).
  const fd = t.kind === 'stream' ? ownDescriptor(t.resolved) : undefined;
  if (fd !== undefined) {
    try {
      return await produce(makeSink(fdWrite(fd), t.path));
    } catch (e) {
      throw outputError(t.path, e);
    }
  }
  let h: fs.FileHandle | undefined;
  try {
    h = await fs.open(t.resolved, 'w');
    await produce(makeSink(handleWrite(h), t.path));
    await h.close();
    h = undefined;
  } catch (e) {
    await h?.close().catch(() => {});
    throw outputError(t.path, e);
  }
}

/**
 * Writes a file through the output layer: `produce` streams chunks into a sink (short writes are
 * resumed, every byte is accounted for) that goes to a temp file beside the target; the temp is
 * fsynced, its size checked, given the old file's mode, and renamed over the target, then the folder
 * is fsynced. On any failure the old target is intact, the temp is gone and the error is IO_ERROR
 * naming the path (errors `produce` throws itself pass through). Symlinks are followed (the file
 * they point to is replaced, the link kept); devices, FIFOs and /dev/stdout-style links are written
 * in place, never replaced.
 */
export async function writeOutput(
  path: string,
  produce: (sink: OutputSink) => Promise<void>,
  options: WriteOutputOptions = {},
): Promise<void> {
  const t = await resolveOutputTarget(path);
  if (t.kind === 'folder') throw invalid(path, 'is-folder', `${path} is a folder; give a file path`);
  if (options.inputs?.length) await assertOutputNotInput(t.resolved, options.inputs);
  if (t.kind === 'device' || t.kind === 'fifo' || t.kind === 'stream') return writeInPlace(t, produce);
  const dir = dirname(t.resolved);
  if (options.parents) await makeOutputFolder(dir);
  const old = t.kind === 'file' ? await fs.stat(t.resolved).catch(() => undefined) : undefined;
  const tmp = tempPath(t.resolved, 'tmp');
  track(tmp);
  let h: fs.FileHandle | undefined;
  let stage = 'write';
  try {
    h = await fs.open(tmp, 'wx');
    const sink = makeSink(handleWrite(h), t.path);
    await produce(sink);
    await h.sync();
    const size = (await h.stat()).size;
    if (size !== sink.bytesWritten) {
      throw new Error(`the file holds ${size} bytes after writing ${sink.bytesWritten}`);
    }
    if (old) {
      await h.chmod(old.mode & 0o7777);
      if (process.getuid?.() === 0 && old.uid !== 0) await h.chown(old.uid, old.gid).catch(() => {});
    }
    await h.close();
    h = undefined;
    stage = 'replace';
    await fs.rename(tmp, t.resolved);
    untrack(tmp);
  } catch (e) {
    await h?.close().catch(() => {});
    await fs.rm(tmp, { force: true }).catch(() => {});
    untrack(tmp);
    if (e instanceof AudiogenError) throw e;
    if (errnoOf(e) === 'ENOENT' && stage === 'write' && !(await exists(dir))) {
      throw outputError(path, e, 'write (its folder does not exist)');
    }
    throw outputError(path, e, stage === 'write' ? 'write' : 'replace');
  }
  await syncFolder(dir);
}

/**
 * Writes `data` to `path` atomically (see `writeOutput`): the target holds its old content or the
 * complete new content, never part of it.
 */
export async function writeFileAtomic(
  path: string,
  data: OutputData,
  options: WriteOutputOptions = {},
): Promise<void> {
  await writeOutput(path, (sink) => feed(sink, data), options);
}

export interface WriteFolderOptions extends WriteOutputOptions {
  /**
   * Names the producer owns in an existing target folder. Entries of the old folder that are not
   * owned and that the new build does not contain (a README the user put there) are carried into the
   * new folder; owned ones are replaced or dropped. Default: every name is owned (the folder is
   * replaced as a whole).
   */
  owns?: (name: string) => boolean;
}

/**
 * Builds a folder output beside the target and swaps it in: `build(tmpDir)` fills a temp folder next
 * to `dir`; then the old folder (if any) is renamed aside, the new one renamed in, and the old one
 * removed (rolled back if the second rename fails). An interrupted run leaves the old folder or the
 * new one, never a mix; if a kill lands between the two renames the old folder is put back by the
 * signal handler or by the next write next to it. Returns what `build` returned.
 */
export async function writeFolderAtomic<T>(
  dir: string,
  build: (tmpDir: string) => Promise<T>,
  options: WriteFolderOptions = {},
): Promise<T> {
  const t = await resolveOutputTarget(dir);
  if (t.kind !== 'missing' && t.kind !== 'folder') {
    throw invalid(dir, 'not-folder', `${dir} exists and is not a folder; give a folder path`);
  }
  await assertOutputNotInput(t.resolved, options.inputs ?? [], 'folder');
  const target = t.resolved;
  const parent = dirname(target);
  if (options.parents !== false) await makeOutputFolder(parent);
  await cleanStaleOutputTemps(target);
  const tmp = tempPath(target, 'new');
  track(tmp);
  let result: T;
  try {
    await fs.mkdir(tmp).catch((e) => {
      throw outputError(dir, e, 'create a folder next to');
    });
    result = await build(tmp);
    // Files the build copied or wrote itself (not through writeFileAtomic) are made durable too.
    await syncTree(tmp);
    if (t.kind === 'folder' && (await exists(target))) await carryOver(target, tmp, options.owns);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => {});
    untrack(tmp);
    throw outputError(dir, e);
  }
  await swapIn(tmp, target, dir);
  return result;
}

async function syncTree(dir: string): Promise<void> {
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await syncTree(p);
    else if (e.isFile()) {
      const h = await fs.open(p, 'r');
      try {
        await h.sync();
      } catch (err) {
        // Some platforms refuse fsync on a read-only handle (Windows: EPERM); an I/O error is real.
        if (!['EPERM', 'EBADF', 'EINVAL'].includes(errnoOf(err) ?? '')) throw err;
      } finally {
        await h.close();
      }
    }
  }
  await syncFolder(dir);
}

async function carryOver(
  from: string,
  to: string,
  owns: ((name: string) => boolean) | undefined,
): Promise<void> {
  if (!owns) return;
  for (const name of await fs.readdir(from)) {
    if (owns(name) || TEMP_RE.test(name) || (await exists(join(to, name)))) continue;
    const src = join(from, name);
    const dst = join(to, name);
    // A hard link costs nothing and leaves the old folder untouched until the swap; else copy.
    await fs.link(src, dst).catch(() => fs.cp(src, dst, { recursive: true, preserveTimestamps: true }));
  }
}

async function swapIn(tmp: string, target: string, shown: string): Promise<void> {
  const parent = dirname(target);
  let aside: string | undefined;
  try {
    if (await exists(target)) {
      aside = tempPath(target, 'old');
      // Registered before the rename: a signal in between puts the old folder back.
      track(aside, { restoreTo: target });
      await fs.rename(target, aside);
    }
    try {
      await fs.rename(tmp, target);
    } catch (e) {
      if (aside) await fs.rename(aside, target).catch(() => {});
      throw e;
    }
    untrack(tmp);
  } catch (e) {
    if (aside) untrack(aside);
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => {});
    untrack(tmp);
    throw outputError(shown, e, 'replace');
  }
  await syncFolder(parent);
  if (aside) {
    // From here the old folder is garbage: a signal removes it rather than restoring it.
    track(aside);
    await fs.rm(aside, { recursive: true, force: true }).catch(() => {});
    untrack(aside);
  }
}
