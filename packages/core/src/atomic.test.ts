import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from './atomic';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'ag-atomic-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('replaces the target in one step and leaves no temp files', async () => {
    const dir = tempDir();
    const target = join(dir, 'out.bin');
    writeFileSync(target, 'old');
    await writeFileAtomic(target, [new Uint8Array([1, 2]), new Uint8Array([3])]);
    expect([...readFileSync(target)]).toEqual([1, 2, 3]);
    expect(readdirSync(dir)).toEqual(['out.bin']);
  });

  it('fails with IO_ERROR and leaves the old file when the folder is missing', async () => {
    const dir = tempDir();
    await expect(writeFileAtomic(join(dir, 'nope', 'x.bin'), new Uint8Array(1))).rejects.toMatchObject({
      code: 'IO_ERROR',
    });
  });
});
