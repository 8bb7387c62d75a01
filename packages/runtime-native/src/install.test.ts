// The build must never rewrite libLiteRt.so or the addon in place: running node processes have them
// mapped, and truncating + rewriting a mapped library kills them (SIGBUS) on their next page fault.
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'audiogen-install-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('installFileAtomic (scripts/fetch-litert.mjs, used by build-addon)', () => {
  it('leaves identical files alone and replaces changed ones by rename, never in place', async () => {
    const script = new URL('../scripts/fetch-litert.mjs', import.meta.url).href;
    const { installFileAtomic } = (await import(script)) as {
      installFileAtomic: (src: string, dest: string) => boolean;
    };
    const a = join(dir, 'a.so');
    const b = join(dir, 'b.so');
    const dest = join(dir, 'lib.so');
    writeFileSync(a, Buffer.alloc(1 << 16, 1));
    writeFileSync(b, Buffer.alloc(1 << 16, 2));
    expect(installFileAtomic(a, dest)).toBe(true);
    const ino = statSync(dest).ino;
    expect(installFileAtomic(a, dest)).toBe(false); // same bytes: not touched
    expect(statSync(dest).ino).toBe(ino);
    const fd = openSync(dest, 'r'); // stands for a process that has the old library mapped
    expect(installFileAtomic(b, dest)).toBe(true);
    expect(statSync(dest).ino).not.toBe(ino);
    expect(readFileSync(dest)[0]).toBe(2);
    const old = Buffer.alloc(1 << 16);
    expect(readSync(fd, old, 0, old.length, 0)).toBe(old.length); // the old file is intact, not truncated
    expect(old.every((x) => x === 1)).toBe(true);
    closeSync(fd);
    expect(readdirSync(dir).sort()).toEqual(['a.so', 'b.so', 'lib.so']); // no temp file left behind
  });
});
