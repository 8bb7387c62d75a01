// A private npm registry for tests: verdaccio (a devDependency) on 127.0.0.1 with its storage in a temp folder
// and NO uplink, so nothing is fetched from the internet. Third-party dependencies of our packages are served
// from it too: their exact locked tarballs are taken from npm's cache (filled by `npm ci`) and put into the
// registry before the test installs anything.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { cleanEnv, ROOT } from './workspace';

export interface Registry {
  url: string;
  /** Environment for npm/npx child processes: this registry, a private cache and user config, no npm_* leak. */
  env: NodeJS.ProcessEnv;
  token: string;
  stop(): Promise<void>;
}

/** One HTTP request on a fresh connection (no keep-alive: a registry may close idle sockets under us). */
function request(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = httpRequest(
      url,
      {
        method,
        agent: false,
        headers: data
          ? { 'content-type': 'application/json', 'content-length': data.length, ...headers }
          : headers,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export async function startRegistry(dir: string): Promise<Registry> {
  mkdirSync(join(dir, 'storage'), { recursive: true });
  const config = join(dir, 'verdaccio.yaml');
  writeFileSync(
    config,
    [
      `storage: ${JSON.stringify(join(dir, 'storage'))}`,
      'auth:',
      '  htpasswd:',
      `    file: ${JSON.stringify(join(dir, 'htpasswd'))}`,
      '    max_users: 10',
      'uplinks: {}', // no proxy: every package must come from this registry's storage
      'packages:',
      "  '**':",
      '    access: $all',
      '    publish: $authenticated',
      'web:',
      '  enable: false',
      'max_body_size: 2gb',
      'log: { type: stdout, format: pretty, level: warn }',
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'verdaccio', 'bin', 'verdaccio'),
      '--config',
      config,
      '--listen',
      `127.0.0.1:${port}`,
    ],
    { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout?.on('data', (d) => {
    log += d;
  });
  child.stderr?.on('data', (d) => {
    log += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`verdaccio exited (${child.exitCode}):\n${log}`);
    try {
      if ((await request('GET', `${url}-/ping`)).status === 200) break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`verdaccio did not answer on ${url} within 60 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const res = await request('PUT', `${url}-/user/org.couchdb.user:ci`, {
    name: 'ci',
    password: 'ci-password',
    email: 'ci@example.invalid',
  });
  const { token } = JSON.parse(res.text) as { token?: string };
  if (!token) {
    await stop();
    throw new Error(`verdaccio: could not create a user (${res.status}):\n${log}`);
  }
  const npmrc = join(dir, 'npmrc');
  writeFileSync(npmrc, `registry=${url}\n//127.0.0.1:${port}/:_authToken=${token}\n`);
  const env = cleanEnv({
    npm_config_registry: url,
    npm_config_userconfig: npmrc,
    npm_config_cache: join(dir, 'npm-cache'),
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  });
  return { url, env, token, stop };
}

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  optional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** What an entry needs installed: its dependencies, optional dependencies and required peers. */
const needs = (e: LockEntry): Record<string, string> => {
  const peers = Object.entries(e.peerDependencies ?? {}).filter(
    ([n]) => !e.peerDependenciesMeta?.[n]?.optional,
  );
  return { ...e.dependencies, ...e.optionalDependencies, ...Object.fromEntries(peers) };
};

/**
 * Every third-party package (name, version, lockfile entry, installed folder) that the given workspace
 * packages need at run time, following package-lock.json the way Node resolves: from the dependent's folder
 * up to the root. Workspace packages themselves are left out (they are published from source).
 */
export function runtimeClosure(locations: string[]): { key: string; entry: LockEntry }[] {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const found = new Map<string, LockEntry>();
  const resolveFrom = (from: string, name: string): string | undefined => {
    let base = from;
    for (;;) {
      const key = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
      if (lock.packages[key]) return key;
      if (!base) return undefined;
      const i = base.lastIndexOf('/node_modules/');
      base = i >= 0 ? base.slice(0, i) : '';
    }
  };
  const visit = (from: string, deps: Record<string, string>, optional: Set<string>) => {
    for (const name of Object.keys(deps)) {
      const key = resolveFrom(from, name);
      if (!key) {
        if (optional.has(name)) continue;
        throw new Error(`package-lock.json has no ${name} reachable from ${from || '(root)'}`);
      }
      const entry = lock.packages[key]!;
      if (entry.link || found.has(key)) continue;
      found.set(key, entry);
      const opt = new Set(Object.keys(entry.optionalDependencies ?? {}));
      visit(key, needs(entry), opt);
    }
  };
  for (const loc of locations) {
    const m = lock.packages[loc];
    if (!m) throw new Error(`package-lock.json has no workspace ${loc}`);
    const deps = needs(m);
    for (const name of Object.keys(deps)) if (lock.packages[`node_modules/${name}`]?.link) delete deps[name];
    visit(loc, deps, new Set(Object.keys(m.optionalDependencies ?? {})));
  }
  return [...found].map(([key, entry]) => ({ key, entry }));
}

/** The package name in a lockfile key such as `node_modules/a/node_modules/@s/b`. */
const nameOf = (key: string) => key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);

/**
 * Puts the locked tarballs of `closure` into the registry: the original bytes from npm's cache (offline,
 * so never from the network); if the cache lacks one, the installed copy is packed instead.
 */
export async function seedThirdParty(
  registry: Registry,
  closure: { key: string; entry: LockEntry }[],
  workDir: string,
): Promise<number> {
  const dest = join(workDir, 'third-party');
  mkdirSync(dest, { recursive: true });
  const pack = (specs: string[], extra: string[] = []) =>
    JSON.parse(
      execFileSync('npm', ['pack', ...specs, '--json', '--pack-destination', dest, ...extra], {
        cwd: dest,
        env: cleanEnv({ npm_config_update_notifier: 'false' }),
        encoding: 'utf8',
        maxBuffer: 64 << 20,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    ) as { filename: string; name: string; version: string }[];
  let packed: { filename: string; name: string; version: string }[];
  try {
    packed = pack(
      closure.map(({ key, entry }) => entry.resolved ?? `${nameOf(key)}@${entry.version}`),
      ['--offline'],
    );
  } catch {
    packed = pack(
      closure.map(({ key }) => join(ROOT, key)),
      ['--ignore-scripts'],
    );
  }
  const byId = new Map(packed.map((p) => [`${p.name}@${p.version}`, p.filename]));
  // Lowest version first, so `latest` ends on the highest (as on the public registry).
  const items = closure
    .map(({ key }) => JSON.parse(readFileSync(join(ROOT, key, 'package.json'), 'utf8')))
    .sort((a, b) =>
      a.name === b.name
        ? a.version.localeCompare(b.version, undefined, { numeric: true })
        : a.name.localeCompare(b.name),
    );
  const done = new Set<string>();
  for (const manifest of items) {
    const id = `${manifest.name}@${manifest.version}`;
    if (done.has(id)) continue;
    done.add(id);
    const file = byId.get(id);
    if (!file) throw new Error(`npm pack gave no tarball for ${id} (got ${[...byId.keys()].join(', ')})`);
    await putTarball(registry, manifest, readFileSync(join(dest, file.replace(/^.*[\\/]/, ''))));
  }
  return done.size;
}

/** One version into the registry, the way `npm publish` sends it (a packument with the tarball attached). */
async function putTarball(registry: Registry, manifest: Record<string, unknown>, tgz: Buffer): Promise<void> {
  const name = manifest.name as string;
  const version = manifest.version as string;
  const tarName = `${name.replace(/^@[^/]+\//, '')}-${version}.tgz`;
  const body = {
    _id: name,
    name,
    'dist-tags': { latest: version },
    versions: {
      [version]: {
        ...manifest,
        _id: `${name}@${version}`,
        dist: {
          shasum: createHash('sha1').update(tgz).digest('hex'),
          integrity: `sha512-${createHash('sha512').update(tgz).digest('base64')}`,
          tarball: `${registry.url}${name}/-/${tarName}`,
        },
      },
    },
    _attachments: {
      [`${name}-${version}.tgz`]: {
        content_type: 'application/octet-stream',
        data: tgz.toString('base64'),
        length: tgz.length,
      },
    },
  };
  const res = await request('PUT', `${registry.url}${name.replace('/', '%2f')}`, body, {
    authorization: `Bearer ${registry.token}`,
  });
  if (res.status < 200 || res.status >= 300)
    throw new Error(`registry refused ${name}@${version}: ${res.status} ${res.text}`);
}

export function listTarballs(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.tgz'));
}
