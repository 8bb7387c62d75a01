import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  openInputFileSync,
  readInputFile,
  readInputFileSync,
  readInputJson,
  readInputText,
  statInputFile,
} from './input';

const dir = mkdtempSync(join(tmpdir(), 'audiogen-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fifo = join(dir, 'fifo');
const hasFifo = (() => {
  try {
    execFileSync('mkfifo', [fifo]);
    return true;
  } catch {
    return false;
  }
})();

describe('input files', () => {
  it('reads a regular file whole, sync and async', async () => {
    const p = join(dir, 'a.bin');
    writeFileSync(p, Uint8Array.of(1, 2, 3));
    expect(Array.from(readInputFileSync(p))).toEqual([1, 2, 3]);
    expect(Array.from(await readInputFile(p))).toEqual([1, 2, 3]);
    expect(await statInputFile(p)).toBe(3);
    // A symlink to a regular file is followed.
    symlinkSync(p, join(dir, 'link.bin'));
    expect(Array.from(await readInputFile(join(dir, 'link.bin')))).toEqual([1, 2, 3]);
  });

  it.skipIf(!hasFifo)('a FIFO is refused at once, never waited on', async () => {
    const t0 = Date.now();
    await expect(readInputFile(fifo, { what: 'spiece.model' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/spiece.model .*fifo is a FIFO \(named pipe\); only regular files/),
    });
    expect(() => readInputFileSync(fifo)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => openInputFileSync(fifo)).toThrow(/FIFO/);
    await expect(statInputFile(fifo)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it.skipIf(!existsSync('/dev/zero'))(
    'devices (/dev/zero, /dev/urandom) are refused, not streamed',
    async () => {
      for (const dev of ['/dev/zero', '/dev/urandom']) {
        await expect(readInputFile(dev, { what: 'init audio' })).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
          message: expect.stringMatching(/is a character device/),
        });
      }
    },
  );

  it('a directory, a missing file and a file over the limit give typed errors naming the path', async () => {
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    await expect(readInputFile(sub)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('is a directory'),
    });
    await expect(readInputFile(join(dir, 'nope'))).rejects.toMatchObject({
      code: 'MISSING_FILE',
      details: { path: join(dir, 'nope') },
    });
    await expect(readInputFile(join(dir, 'a.bin', 'x'))).rejects.toMatchObject({ code: 'MISSING_FILE' });
    const big = join(dir, 'big.json');
    writeFileSync(big, '[1,2,3]');
    await expect(readInputText(big, { maxBytes: 4, tooLargeCode: 'INVALID_MODEL' })).rejects.toMatchObject({
      code: 'INVALID_MODEL',
      details: { size: 7, maxBytes: 4 },
    });
    await expect(readInputFile(123 as unknown as string)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('malformed JSON is the caller-chosen code, not a SyntaxError', async () => {
    const p = join(dir, 'config.json');
    writeFileSync(p, '{"d_model": 768,,}');
    await expect(readInputJson(p, 'INVALID_MODEL')).rejects.toMatchObject({
      code: 'INVALID_MODEL',
      message: expect.stringContaining('is not valid JSON'),
    });
    writeFileSync(p, '{"d_model": 768}');
    expect(await readInputJson(p, 'INVALID_MODEL')).toEqual({ d_model: 768 });
  });
});
