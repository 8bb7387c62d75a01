// turbo must not replay a runtime-native build made when a cross toolchain was missing once the toolchain is
// there (a fresh machine: `npm run demo` builds before `npm test`'s setup installs the toolchains). The
// toolchains this machine has are recorded in a build input (scripts/toolchains.mjs → build/toolchains.json),
// which turbo hashes into the task's key; every root script that builds records them first.
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanEnv, ROOT, run } from './workspace';

const pkg = join(ROOT, 'packages', 'runtime-native');
const file = join(pkg, 'build', 'toolchains.json');
const probe = join(pkg, 'scripts', 'toolchains.mjs');
const TASK = '@audiogen/runtime-native#build';

function dryRun(): { hash: string; inputs: Record<string, string> } {
  const out = run(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'turbo', 'bin', 'turbo'),
      'run',
      'build',
      '--filter=@audiogen/runtime-native',
      '--dry=json',
    ],
    { cwd: ROOT },
  );
  const task = (
    JSON.parse(out) as { tasks: { taskId: string; hash: string; inputs: Record<string, string> }[] }
  ).tasks.find((t) => t.taskId === TASK);
  if (!task) throw new Error(`turbo's dry run has no ${TASK}`);
  return task;
}

describe('turbo cache key of the runtime-native build', () => {
  it('records every prebuild target, and a missing toolchain as null', async () => {
    const { PINS } = await import(/* @vite-ignore */ join(pkg, 'scripts', 'fetch-litert.mjs'));
    // ZIG pointing nowhere: the zig cross targets (if any) must show up as "cannot build here".
    const text = run(process.execPath, [probe, '--print'], {
      cwd: ROOT,
      env: cleanEnv({ ZIG: join(ROOT, 'no-such-zig') }),
    });
    const rec = JSON.parse(text) as { targets: Record<string, unknown> };
    expect(Object.keys(rec.targets).sort()).toEqual(Object.keys(PINS).sort());
    if (process.platform === 'linux') {
      expect(rec.targets[`linux-${process.arch}`]).toMatchObject({ cxx: expect.any(String) });
      for (const t of ['darwin-arm64', 'win32-x64'].filter((t) => t in PINS))
        expect(rec.targets[t]).toBeNull();
    }
  });

  it("turbo's hash for the build changes with the recorded toolchains", () => {
    const saved = existsSync(file) ? `${file}.saved-${process.pid}` : undefined;
    if (saved) copyFileSync(file, saved);
    try {
      writeFileSync(file, '{"targets":{"linux-arm64":null}}\n');
      const without = dryRun();
      expect(Object.keys(without.inputs)).toContain('build/toolchains.json');
      writeFileSync(file, '{"targets":{"linux-arm64":{"cxx":"aarch64-linux-gnu-g++"}}}\n');
      expect(dryRun().hash).not.toBe(without.hash);
    } finally {
      if (saved) {
        copyFileSync(saved, file);
        rmSync(saved);
      } else rmSync(file, { force: true });
    }
  });

  it('every root script that runs a turbo build records the toolchains first', () => {
    const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts as Record<
      string,
      string
    >;
    const building = Object.entries(scripts).filter(([, s]) => /turbo run (build|typecheck|bench)/.test(s));
    expect(building.map(([n]) => n).sort()).toEqual([
      'bench',
      'bench:peers',
      'build',
      'demo',
      'test',
      'typecheck',
    ]);
    for (const [name, s] of building) {
      const at = s.indexOf('packages/runtime-native/scripts/toolchains.mjs');
      expect(at, `npm run ${name} does not run toolchains.mjs`).toBeGreaterThanOrEqual(0);
      expect(at, `npm run ${name} runs toolchains.mjs after turbo`).toBeLessThan(s.indexOf('turbo run'));
    }
  });
});
