import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from './atomic';

describe('writeFileAtomic', () => {
  it('replaces the target in one step and leaves no temp files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ag-atomic-'));
    const target = join(dir, 'out.bin');
    writeFileSync(target, 'old');
    await writeFileAtomic(target, [new Uint8Array([1, 2]), new Uint8Array([3])]);
    expect([...readFileSync(target)]).toEqual([1, 2, 3]);
    expect(readdirSync(dir)).toEqual(['out.bin']);
  });

  it('fails with IO_ERROR and leaves the old file when the folder is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ag-atomic-'));
    await expect(writeFileAtomic(join(dir, 'nope', 'x.bin'), new Uint8Array(1))).rejects.toMatchObject({
      code: 'IO_ERROR',
    });
  });
});
