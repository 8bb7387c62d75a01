/**
 * A local stand-in for the Hugging Face Hub on 127.0.0.1, for tests and for trying `audiogen pull`
 * without the internet. It implements the part of the Hub's HTTP API that @audiogen/hub and Python's
 * huggingface_hub use to download:
 *   GET  /api/models/{repo}/revision/{rev}      model info (sha, gated, cardData, tags, siblings)
 *   POST /api/models/{repo}/paths-info/{rev}    sizes, git blob ids, LFS sha256
 *   GET|HEAD /{repo}/resolve/{rev}/{path}       small files inline (ETag = git blob id); LFS files by a 302
 *                                               to a separate "storage" origin, with X-Repo-Commit,
 *                                               X-Linked-Etag and X-Linked-Size on the redirect
 * with the Hub's error answers (X-Error-Code GatedRepo / RepoNotFound / RevisionNotFound / EntryNotFound,
 * "Invalid credentials in Authorization header"), renamed repositories (relative 307), and storage
 * that honours Range and can be made slow, cut, stalled, corrupting or range-ignoring.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeFileSource = Uint8Array | string | { path: string };

export interface FakeRepoSpec {
  id: string;
  files: Record<string, FakeFileSource>;
  gated?: false | 'auto' | 'manual';
  private?: boolean;
  cardData?: Record<string, unknown>;
  tags?: string[];
}

export interface FakeHubOptions {
  repos: FakeRepoSpec[];
  /** Valid tokens → the gated/private repositories their account may read. */
  tokens?: Record<string, string[]>;
  /** Old repository id → new one (answered with a relative 307, as the Hub does after a rename). */
  renames?: Record<string, string>;
  /** Files kept in LFS (default: *.safetensors, *.bin, *.ckpt, *.model, *.tflite, and anything over 1 MB). */
  isLfs?: (path: string, size: number) => boolean;
}

/** How the storage host misbehaves (changeable while running). */
export interface StorageBehaviour {
  /** Throttle each response to this many bytes per second. */
  bytesPerSecond?: number;
  /** Close the connection after sending this many body bytes (every response). */
  cutAfterBytes?: number;
  /** Stop sending (connection left open) after this many body bytes. */
  stallAfterBytes?: number;
  /** Send every response from byte 0 with status 200, ignoring Range. */
  ignoreRange?: boolean;
  /** Flip one bit in the middle byte of every file served. */
  corrupt?: boolean;
  /** Answer the next n requests (to any host) with 503. */
  failNext?: number;
}

export interface LoggedRequest {
  host: 'hub' | 'storage';
  method: string;
  url: string;
  status: number;
  range?: string;
  authorization: boolean;
}

interface FakeFile {
  path: string;
  size: number;
  oid: string;
  sha256: string;
  lfs: boolean;
  read: (start: number, end: number) => AsyncIterable<Uint8Array>;
}

interface FakeCommit {
  sha: string;
  files: Map<string, FakeFile>;
}

interface FakeRepo {
  spec: FakeRepoSpec;
  commits: FakeCommit[];
  refs: Map<string, string>;
}

export interface FakeHub {
  /** Hub endpoint (what HF_ENDPOINT gets). */
  url: string;
  storageUrl: string;
  behaviour: StorageBehaviour;
  requests: LoggedRequest[];
  /** Adds a commit to a repository's main branch (and optionally a tag); returns its sha. */
  commit(repo: string, files: Record<string, FakeFileSource>, tag?: string): Promise<string>;
  /** The current commit of a branch or tag. */
  head(repo: string, revision?: string): string;
  /** Facts about a served file: size, git blob id, sha256. */
  file(
    repo: string,
    path: string,
    revision?: string,
  ): { size: number; oid: string; sha256: string; lfs: boolean };
  close(): Promise<void>;
}

const defaultLfs = (p: string, size: number) =>
  /\.(safetensors|bin|ckpt|model|tflite|pt|onnx)$/.test(p) || size > 1 << 20;

async function* fromBuffer(b: Uint8Array, start: number, end: number): AsyncIterable<Uint8Array> {
  const step = 64 * 1024;
  for (let i = start; i < end; i += step) yield b.subarray(i, Math.min(i + step, end));
}

async function* fromDisk(path: string, start: number, end: number): AsyncIterable<Uint8Array> {
  if (end <= start) return;
  for await (const c of createReadStream(path, { start, end: end - 1, highWaterMark: 64 * 1024 }))
    yield c as Buffer;
}

async function makeFile(
  path: string,
  src: FakeFileSource,
  isLfs: FakeHubOptions['isLfs'],
): Promise<FakeFile> {
  const sha256 = createHash('sha256');
  const sha1 = createHash('sha1');
  let size: number;
  let read: FakeFile['read'];
  if (typeof src === 'object' && !(src instanceof Uint8Array)) {
    size = statSync(src.path).size;
    sha1.update(`blob ${size}\0`);
    for await (const c of fromDisk(src.path, 0, size)) {
      sha256.update(c);
      sha1.update(c);
    }
    read = (s, e) => fromDisk(src.path, s, e);
  } else {
    const b = typeof src === 'string' ? new TextEncoder().encode(src) : src;
    size = b.length;
    sha256.update(b);
    sha1.update(`blob ${size}\0`);
    sha1.update(b);
    read = (s, e) => fromBuffer(b, s, e);
  }
  return {
    path,
    size,
    oid: sha1.digest('hex'),
    sha256: sha256.digest('hex'),
    lfs: (isLfs ?? defaultLfs)(path, size),
    read,
  };
}

function commitSha(repo: string, files: Map<string, FakeFile>, n: number): string {
  const h = createHash('sha1').update(`${repo}\0${n}`);
  for (const [p, f] of [...files].sort()) h.update(`${p}\0${f.oid}\0`);
  return h.digest('hex');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts the fake Hub and its storage host on 127.0.0.1 (random ports). */
export async function startFakeHub(options: FakeHubOptions): Promise<FakeHub> {
  const repos = new Map<string, FakeRepo>();
  const tokens = options.tokens ?? {};
  const behaviour: StorageBehaviour = {};
  const requests: LoggedRequest[] = [];
  const blobs = new Map<string, FakeFile>();

  async function addCommit(id: string, files: Record<string, FakeFileSource>, tag?: string): Promise<string> {
    const repo = repos.get(id);
    if (!repo) throw new Error(`fake hub: no repo ${id}`);
    const prev = repo.commits.at(-1)?.files ?? new Map<string, FakeFile>();
    const map = new Map(prev);
    for (const [p, src] of Object.entries(files)) {
      const f = await makeFile(p, src, options.isLfs);
      map.set(p, f);
      if (f.lfs) blobs.set(f.sha256, f);
    }
    const sha = commitSha(id, map, repo.commits.length);
    repo.commits.push({ sha, files: map });
    repo.refs.set('main', sha);
    if (tag) repo.refs.set(tag, sha);
    return sha;
  }

  for (const spec of options.repos) {
    repos.set(spec.id, { spec, commits: [], refs: new Map() });
    await addCommit(spec.id, spec.files);
  }

  const findCommit = (repo: FakeRepo, rev: string) => {
    const sha = repo.refs.get(rev) ?? rev;
    return repo.commits.find((c) => c.sha === sha);
  };

  function send(
    res: ServerResponse,
    status: number,
    headers: Record<string, string> = {},
    body?: unknown,
  ): void {
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      ...(body !== undefined && typeof body !== 'string' ? { 'Content-Type': 'application/json' } : {}),
      'Content-Length': String(Buffer.byteLength(text)),
      ...headers,
    });
    res.end(res.req.method === 'HEAD' ? undefined : text);
  }

  function hubError(res: ServerResponse, status: number, code: string | undefined, message: string): void {
    send(
      res,
      status,
      { ...(code ? { 'X-Error-Code': code } : {}), 'X-Error-Message': message },
      { error: message },
    );
  }

  /** Checks the token; returns false after answering when the request may not go on. */
  function authorize(req: IncomingMessage, res: ServerResponse, repo: FakeRepo, download: boolean): boolean {
    const h = req.headers.authorization;
    const token = h?.startsWith('Bearer ') ? h.slice(7) : undefined;
    if (token !== undefined && !(token in tokens)) {
      hubError(res, 401, undefined, 'Invalid credentials in Authorization header');
      return false;
    }
    const granted = token !== undefined && (tokens[token] ?? []).includes(repo.spec.id);
    if (repo.spec.private && !granted) {
      hubError(res, token ? 404 : 401, 'RepoNotFound', 'Repository not found');
      return false;
    }
    if (download && repo.spec.gated && !granted) {
      const msg = token
        ? `Access to model ${repo.spec.id} is restricted and you are not in the authorized list. Visit ${hub.url}/${repo.spec.id} to ask for access.`
        : `Access to model ${repo.spec.id} is restricted. You must have access to it and be authenticated to access it. Please log in.`;
      hubError(res, token ? 403 : 401, 'GatedRepo', msg);
      return false;
    }
    return true;
  }

  /** Splits "/org/name/<verb>/<rest>" into a known repo id and the rest (or answers a rename / 404). */
  function route(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    verb: string,
    prefix: string,
  ): { repo: FakeRepo; rest: string } | undefined {
    const i = path.indexOf(`/${verb}/`);
    if (i < 0) return undefined;
    const id = decodeURIComponent(path.slice(0, i));
    const rest = path.slice(i + verb.length + 2);
    const renamed = options.renames?.[id];
    if (renamed) {
      send(res, 307, { Location: `${prefix}${renamed}/${verb}/${rest}` }, { error: 'moved' });
      return undefined;
    }
    const repo = repos.get(id);
    if (!repo) {
      const authed = !!req.headers.authorization;
      hubError(res, authed ? 404 : 401, 'RepoNotFound', 'Repository not found');
      return undefined;
    }
    return { repo, rest };
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    let s = '';
    for await (const c of req) s += c;
    return s;
  }

  async function onHub(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', hub.url);
    const path = url.pathname;
    if (path.startsWith('/api/models/')) {
      const sub = path.slice('/api/models/'.length);
      const verb = sub.includes('/paths-info') ? 'paths-info' : 'revision';
      const r = route(req, res, sub.endsWith('/paths-info') ? `${sub}/main` : sub, verb, '/api/models/');
      if (!r || !authorize(req, res, r.repo, false)) return;
      const rev = decodeURIComponent(r.rest || 'main');
      const commit = findCommit(r.repo, rev === 'HEAD' ? 'main' : rev);
      if (!commit) return hubError(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
      if (verb === 'revision') {
        const s = r.repo.spec;
        return send(
          res,
          200,
          {},
          {
            _id: createHash('sha1').update(s.id).digest('hex').slice(0, 24),
            id: s.id,
            sha: commit.sha,
            private: !!s.private,
            gated: s.gated ?? false,
            disabled: false,
            downloads: 0,
            likes: 0,
            lastModified: new Date(0).toISOString(),
            tags: s.tags ?? [],
            cardData: s.cardData ?? {},
            siblings: [...commit.files.keys()].map((rfilename) => ({ rfilename })),
          },
        );
      }
      if (req.method !== 'POST') return hubError(res, 405, undefined, 'POST only');
      let body: { paths?: unknown; expand?: unknown };
      try {
        body = JSON.parse(await readBody(req));
      } catch {
        return hubError(res, 400, undefined, 'body is not JSON');
      }
      const paths = Array.isArray(body.paths)
        ? body.paths.filter((p): p is string => typeof p === 'string')
        : [];
      const out = paths.flatMap((p) => {
        const f = commit.files.get(p);
        if (!f) return [];
        return [
          {
            type: 'file',
            path: p,
            size: f.size,
            oid: f.oid,
            ...(f.lfs ? { lfs: { oid: f.sha256, size: f.size, pointerSize: 134 } } : {}),
            ...(body.expand
              ? {
                  lastCommit: { id: commit.sha, title: 'fake', date: new Date(0).toISOString() },
                  securityFileStatus: { status: 'safe' },
                }
              : {}),
          },
        ];
      });
      return send(res, 200, {}, out);
    }
    const r = route(req, res, path.slice(1), 'resolve', '/');
    if (!r) {
      if (!res.headersSent) hubError(res, 404, undefined, 'Not found');
      return;
    }
    if (!authorize(req, res, r.repo, true)) return;
    const slash = r.rest.indexOf('/');
    const rev = decodeURIComponent(slash < 0 ? r.rest : r.rest.slice(0, slash));
    const file = decodeURIComponent(slash < 0 ? '' : r.rest.slice(slash + 1));
    const commit = findCommit(r.repo, rev);
    if (!commit) return hubError(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
    const f = commit.files.get(file);
    if (!f) return hubError(res, 404, 'EntryNotFound', `${file} does not exist on "${rev}"`);
    if (f.lfs) {
      const expires = Date.now() + 3_600_000;
      return send(
        res,
        302,
        {
          Location: `${hub.storageUrl}/blobs/${f.sha256}?expires=${expires}&sig=${createHash('sha1').update(`${f.sha256}${expires}`).digest('hex')}`,
          'X-Repo-Commit': commit.sha,
          'X-Linked-Etag': `"${f.sha256}"`,
          'X-Linked-Size': String(f.size),
          ETag: `"${f.sha256}"`,
        },
        'Found. Redirecting',
      );
    }
    return serveBytes(req, res, f, { 'X-Repo-Commit': commit.sha, ETag: `"${f.oid}"` }, false);
  }

  /** Body bytes of a file with Range support, shaped by the storage behaviour (when `shaped`). */
  async function serveBytes(
    req: IncomingMessage,
    res: ServerResponse,
    f: FakeFile,
    headers: Record<string, string>,
    shaped: boolean,
  ): Promise<void> {
    const b = shaped ? behaviour : {};
    let start = 0;
    let end = f.size;
    let status = 200;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (m && !b.ignoreRange) {
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]) + 1, f.size) : f.size;
      if (start >= f.size || start >= end) {
        return send(res, 416, { 'Content-Range': `bytes */${f.size}` }, '');
      }
      status = 206;
    }
    res.writeHead(status, {
      'Content-Length': String(end - start),
      'Content-Type': 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      ...(status === 206 ? { 'Content-Range': `bytes ${start}-${end - 1}/${f.size}` } : {}),
      ...headers,
    });
    if (req.method === 'HEAD') return void res.end();
    const flip = b.corrupt ? f.size >> 1 : -1;
    let sent = 0;
    const t0 = Date.now();
    for await (const chunk0 of f.read(start, end)) {
      if (res.destroyed) return;
      let chunk = chunk0;
      const limit = b.cutAfterBytes ?? b.stallAfterBytes;
      if (limit !== undefined && sent + chunk.length > limit)
        chunk = chunk.subarray(0, Math.max(0, limit - sent));
      if (flip >= start + sent && flip < start + sent + chunk.length) {
        chunk = Uint8Array.from(chunk);
        chunk[flip - start - sent]! ^= 0x10;
      }
      if (chunk.length) {
        if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
        sent += chunk.length;
      }
      if (b.bytesPerSecond) {
        const due = t0 + (sent / b.bytesPerSecond) * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
      }
      if (limit !== undefined && sent >= limit) {
        if (b.cutAfterBytes !== undefined) res.socket?.destroy();
        // stall: keep the connection open and silent until the client gives up
        return;
      }
    }
    res.end();
  }

  async function onStorage(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', hub.storageUrl);
    // Signed storage URLs reject a second credential, as S3 does for a forwarded Authorization header.
    if (req.headers.authorization) return send(res, 400, {}, 'Only one auth mechanism allowed');
    const m = /^\/blobs\/([0-9a-f]{64})$/.exec(url.pathname);
    const f = m ? blobs.get(m[1]!) : undefined;
    if (!f || !url.searchParams.get('sig')) return send(res, 403, {}, 'AccessDenied');
    return serveBytes(req, res, f, { ETag: `"${f.sha256}"` }, true);
  }

  const handler =
    (host: 'hub' | 'storage', fn: (req: IncomingMessage, res: ServerResponse) => Promise<void>) =>
    (req: IncomingMessage, res: ServerResponse) => {
      const entry: LoggedRequest = {
        host,
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        status: 0,
        authorization: !!req.headers.authorization,
        ...(req.headers.range ? { range: req.headers.range } : {}),
      };
      requests.push(entry);
      res.on('close', () => {
        entry.status = res.statusCode;
      });
      if (behaviour.failNext && behaviour.failNext > 0) {
        behaviour.failNext--;
        return send(res, 503, { 'Retry-After': '0' }, 'Service Unavailable');
      }
      fn(req, res).catch((e) => {
        if (!res.headersSent) send(res, 500, {}, String(e));
        else res.destroy();
      });
    };

  const servers: Server[] = [
    createServer(handler('hub', onHub)),
    createServer(handler('storage', onStorage)),
  ];
  const ports = await Promise.all(
    servers.map(
      (s) =>
        new Promise<number>((resolve) =>
          s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)),
        ),
    ),
  );
  const hub: FakeHub = {
    url: `http://127.0.0.1:${ports[0]}`,
    storageUrl: `http://127.0.0.1:${ports[1]}`,
    behaviour,
    requests,
    commit: addCommit,
    head(repo, revision = 'main') {
      const sha = repos.get(repo)?.refs.get(revision);
      if (!sha) throw new Error(`fake hub: no ${repo}@${revision}`);
      return sha;
    },
    file(repo, path, revision = 'main') {
      const r = repos.get(repo);
      const f = r && findCommit(r, revision)?.files.get(path);
      if (!f) throw new Error(`fake hub: no ${repo}/${path}@${revision}`);
      return { size: f.size, oid: f.oid, sha256: f.sha256, lfs: f.lfs };
    },
    async close() {
      for (const s of servers) s.closeAllConnections();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
  return hub;
}
