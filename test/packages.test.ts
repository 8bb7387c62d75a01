// What every published @audiogen/* package must carry, checked on the package.json files and the built
// .d.ts files (run after `npm run build`; `npm test` builds first). The publish test proves the same by
// installing from a registry; this one names the exact field that is wrong.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publishedPackages, ROOT, workspaces } from './workspace';

const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
const pkgs = publishedPackages();
const versions = new Map(workspaces().map((w) => [w.name, w.version]));

/** Every module specifier and `reference types` in a package's emitted declaration files. */
function declarationImports(dir: string): Set<string> {
  const dist = join(dir, 'dist');
  if (!existsSync(dist)) throw new Error(`${dist} is missing: run npm run build first`);
  const found = new Set<string>();
  for (const f of readdirSync(dist).filter((n) => /\.d\.c?ts$/.test(n))) {
    const text = readFileSync(join(dist, f), 'utf8');
    for (const m of text.matchAll(/(?:from|import\(|require\()\s*['"]([^'"]+)['"]/g)) found.add(m[1]!);
    for (const m of text.matchAll(/reference types="([^"]+)"/g)) found.add(m[1]!);
  }
  return found;
}

/** Whether a package's declaration files name Node's global namespace (NodeJS.ProcessEnv, …). */
function usesNodeNamespace(dir: string): boolean {
  const dist = join(dir, 'dist');
  return readdirSync(dist).some(
    (f) => /\.d\.c?ts$/.test(f) && /\bNodeJS\./.test(readFileSync(join(dist, f), 'utf8')),
  );
}

describe('published packages', () => {
  it('the repository is Apache-2.0 with the licence text at the root', () => {
    expect(root.license).toBe('Apache-2.0');
    expect(license).toContain('Apache License');
    expect(license).toContain('Version 2.0, January 2004');
    expect(pkgs.length).toBeGreaterThanOrEqual(8);
  });

  it.each(pkgs.map((p) => [p.name, p] as const))('%s: licence, metadata, public access', (_n, p) => {
    const m = p.manifest;
    expect(m.license).toBe('Apache-2.0');
    expect(readFileSync(join(p.dir, 'LICENSE'), 'utf8')).toBe(license);
    expect(m.files).toContain('LICENSE');
    expect(m.repository).toEqual({ type: 'git', url: root.repository.url, directory: p.location });
    expect(m.homepage).toBe(
      `${(root.homepage as string).replace(/#readme$/, '')}/tree/main/${p.location}#readme`,
    );
    expect(m.bugs).toEqual(root.bugs);
    expect(Array.isArray(m.keywords) && m.keywords.length).toBeGreaterThan(0);
    expect(m.publishConfig?.access).toBe('public');
    expect(typeof m.description === 'string' && m.description.length).toBeGreaterThan(0);
  });

  it.each(pkgs.map((p) => [p.name, p] as const))('%s: dependencies are runtime dependencies', (_n, p) => {
    const deps = p.manifest.dependencies ?? {};
    // Internal dependencies: a range on the current version, which `changeset version` rewrites.
    for (const [dep, range] of Object.entries(deps))
      if (versions.has(dep)) expect(range, dep).toBe(`^${versions.get(dep)}`);
    // @types/* belong in dependencies only when the published .d.ts files import that module (then a
    // TypeScript user needs them to compile); otherwise they are devDependencies.
    const imports = declarationImports(p.dir);
    // Node's own types are the app's to choose (one @types/node per program): a package whose .d.ts files use
    // them says so with an optional peer dependency instead of installing a second copy.
    expect(deps['@types/node'], `${p.name}: @types/node is not a runtime dependency`).toBeUndefined();
    const usesNode =
      [...imports].some((s) => s.startsWith('node:') || s === 'node') || usesNodeNamespace(p.dir);
    const peer = p.manifest.peerDependencies?.['@types/node'];
    if (usesNode) {
      expect(peer, `${p.name}: its .d.ts files use Node's types: optional peer @types/node`).toBeDefined();
      expect(p.manifest.peerDependenciesMeta?.['@types/node']?.optional).toBe(true);
    } else expect(peer, `${p.name}: its .d.ts files never use Node's types`).toBeUndefined();
    for (const dep of Object.keys(deps).filter((d) => d.startsWith('@types/'))) {
      const mod = dep.slice('@types/'.length).replace(/^(.+)__(.+)$/, '@$1/$2');
      const used = [...imports].some(
        (s) => s === mod || s.startsWith(`${mod}/`) || (mod === 'node' && s.startsWith('node:')),
      );
      expect(used, `${dep} is a dependency of ${p.name} but its .d.ts files never import ${mod}`).toBe(true);
    }
  });

  it.each(pkgs.map((p) => [p.name, p] as const))(
    '%s: every subpath export has types under node10',
    (_n, p) => {
      const exp = (p.manifest.exports ?? {}) as Record<string, { import?: { types?: string } }>;
      for (const [sub, target] of Object.entries(exp)) {
        if (sub === '.' || sub === './package.json') continue;
        // moduleResolution node10 ignores `exports`; typesVersions maps `pkg/sub` to the declaration file.
        const mapped = p.manifest.typesVersions?.['*']?.[sub.slice(2)];
        expect(mapped, `${p.name}: typesVersions for ${sub}`).toEqual([target.import?.types]);
        expect(existsSync(join(p.dir, target.import!.types!)), `${p.name}/${sub} types built`).toBe(true);
      }
    },
  );
});
