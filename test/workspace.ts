// The monorepo's workspace packages as npm sees them, for tests that check or publish "every package" without
// a hard-coded list (packages come and go, e.g. per-platform runtime packages).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface WorkspacePackage {
  name: string;
  version: string;
  /** Folder relative to the repository root, with forward slashes (e.g. `packages/core`). */
  location: string;
  dir: string;
  private: boolean;
  manifest: Record<string, unknown> & {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
    files?: string[];
    exports?: Record<string, unknown>;
    typesVersions?: Record<string, Record<string, string[]>>;
    license?: string;
    description?: string;
    repository?: { type: string; url: string; directory?: string };
    homepage?: string;
    bugs?: { url: string };
    keywords?: string[];
    publishConfig?: { access?: string };
    peerDependencies?: Record<string, string>;
    peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  };
}

/** A copy of the environment without the npm_* variables `npm test` sets (its prefix, cache, config). */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'INIT_CWD') env[k] = v;
  return { ...env, ...extra };
}

export function workspaces(): WorkspacePackage[] {
  const found = JSON.parse(
    execFileSync('npm', ['query', '.workspace', '--json'], { cwd: ROOT, env: cleanEnv(), encoding: 'utf8' }),
  ) as { name: string; location: string }[];
  return found
    .map((w) => {
      const dir = join(ROOT, w.location);
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      return {
        name: manifest.name,
        version: manifest.version,
        location: w.location.split('\\').join('/'),
        dir,
        private: manifest.private === true,
        manifest,
      };
    })
    .sort((a, b) => a.location.localeCompare(b.location));
}

/** The packages that get published: every workspace package not marked private. */
export function publishedPackages(): WorkspacePackage[] {
  return workspaces().filter((w) => !w.private);
}

/** Runs a command to completion; returns stdout, or throws with the command, its exit status and all output. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): string {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? cleanEnv(),
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    timeout: opts.timeoutMs ?? 300_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')} (in ${opts.cwd}) exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}${r.error ? `\n${r.error}` : ''}`,
    );
  return r.stdout;
}
