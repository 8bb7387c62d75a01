// The release flow of this monorepo, run for real against a test registry: pack every public workspace package
// as npm would ship it, lay the packed contents out as a copy of the monorepo, let changesets version them
// (`changeset version`: versions and internal ranges from .changeset/*.md) and publish them
// (`changeset publish`, which calls `npm publish` for each package not yet in the registry).
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Registry } from './registry';
import { ROOT, run, type WorkspacePackage, workspaces } from './workspace';

export interface Released {
  name: string;
  version: string;
  location: string;
}

export function releaseWithChangesets(
  registry: Registry,
  dir: string,
): { released: Released[]; log: string } {
  const all = workspaces();
  const pub = all.filter((w) => !w.private);
  const packs = join(dir, 'packs');
  mkdirSync(packs, { recursive: true });
  const packed = JSON.parse(
    run(
      'npm',
      ['pack', ...pub.flatMap((w) => ['--workspace', w.name]), '--json', '--pack-destination', packs],
      {
        cwd: ROOT,
        env: registry.env,
      },
    ),
  ) as { name: string; filename: string }[];

  const tree = join(dir, 'monorepo');
  const rootManifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  mkdirSync(tree, { recursive: true });
  writeFileSync(
    join(tree, 'package.json'),
    JSON.stringify({ name: rootManifest.name, private: true, workspaces: rootManifest.workspaces }, null, 2),
  );
  cpSync(join(ROOT, '.changeset'), join(tree, '.changeset'), { recursive: true });
  // changesets loads its changelog generator from the repository's node_modules.
  symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'), 'dir');
  for (const w of all) {
    const to = join(tree, w.location);
    mkdirSync(to, { recursive: true });
    if (w.private) {
      // Private packages (examples) are not published, but changesets must still see them (its `ignore`).
      cpSync(join(w.dir, 'package.json'), join(to, 'package.json'));
      continue;
    }
    const p = packed.find((x) => x.name === w.name);
    if (!p) throw new Error(`npm pack produced nothing for ${w.name}`);
    run('tar', ['-xzf', join(packs, p.filename.replace(/^.*[\\/]/, '')), '-C', to, '--strip-components=1'], {
      cwd: tree,
    });
  }

  const changeset = (args: string[]) =>
    run(process.execPath, [join(ROOT, 'node_modules', '@changesets', 'cli', 'bin.js'), ...args], {
      cwd: tree,
      env: registry.env,
    });
  let log = changeset(['version']);
  log += changeset(['publish', '--no-git-tag']);
  const released = pub.map((w: WorkspacePackage) => {
    const m = JSON.parse(readFileSync(join(tree, w.location, 'package.json'), 'utf8'));
    return { name: m.name as string, version: m.version as string, location: w.location };
  });
  return { released, log };
}
