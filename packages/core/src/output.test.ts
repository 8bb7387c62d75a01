import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { bundleScript } from '../../../test/child-script';
import {
  checkOutputTarget,
  cleanStaleOutputTemps,
  cleanupOutputTemps,
  isStdoutTarget,
  liveOutputTemps,
  type OutputSink,
  writeAllAt,
  writeFileAtomic,
  writeFolderAtomic,
  writeOutput,
} from './output';
import { injectOutputFaults, mountSmallDisk, shortWriteFaults } from './test';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'ag-output-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
const isRoot = process.getuid?.() === 0;

describe('writeFileAtomic', () => {
  it('replaces the target in one step and leaves no temp files', async () => {
    const dir = tempDir();
    const target = join(dir, 'out.bin');
    writeFileSync(target, 'old');
    await writeFileAtomic(target, [new Uint8Array([1, 2]), new Uint8Array([3])]);
    expect([...readFileSync(target)]).toEqual([1, 2, 3]);
    expect(readdirSync(dir)).toEqual(['out.bin']);
  });

  it('fails with IO_ERROR when the folder is missing, creates it with parents: true', async () => {
    const dir = tempDir();
    await expect(writeFileAtomic(join(dir, 'nope', 'x.bin'), new Uint8Array(1))).rejects.toMatchObject({
      code: 'IO_ERROR',
    });
    await writeFileAtomic(join(dir, 'a', 'b', 'x.bin'), bytes(10), { parents: true });
    expect(readFileSync(join(dir, 'a', 'b', 'x.bin')).length).toBe(10);
  });

  it('resumes short writes: every byte lands (the old writer kept only the first part)', async () => {
    const dir = tempDir();
    const target = join(dir, 'short.bin');
    const data = bytes(100_003);
    const restore = injectOutputFaults(shortWriteFaults({ max: 4096 }));
    try {
      await writeFileAtomic(target, [data.subarray(0, 50_000), data.subarray(50_000)]);
    } finally {
      restore();
    }
    expect(same(readFileSync(target), data)).toBe(true);
  });

  it('ENOSPC part-way: IO_ERROR naming the path, old file intact, no temp left', async () => {
    const dir = tempDir();
    const target = join(dir, 'full.bin');
    writeFileSync(target, 'old content');
    const restore = injectOutputFaults(shortWriteFaults({ max: 1000, limit: 65_536 }));
    try {
      const e = await writeFileAtomic(target, bytes(900_976)).catch((x) => x);
      expect(e).toMatchObject({ code: 'IO_ERROR', details: { path: target, errno: 'ENOSPC' } });
      expect(e.message).toContain(target);
      expect(e.message).toMatch(/no space left/);
    } finally {
      restore();
    }
    expect(readFileSync(target, 'utf8')).toBe('old content');
    expect(readdirSync(dir)).toEqual(['full.bin']);
    expect(liveOutputTemps()).toEqual([]);
  });

  it('writeAllAt resumes short writes at a position (for writers that keep their own file)', async () => {
    const dir = tempDir();
    const p = join(dir, 'partial');
    writeFileSync(p, bytes(10, 9));
    const h = await open(p, 'r+');
    const restore = injectOutputFaults(shortWriteFaults({ max: 3 }));
    try {
      await writeAllAt(h, bytes(1000), 10, p);
    } finally {
      restore();
      await h.close();
    }
    expect(same(readFileSync(p), Buffer.concat([bytes(10, 9), bytes(1000)]))).toBe(true);
  });

  it('a device that accepts zero bytes forever is reported as full', async () => {
    const dir = tempDir();
    const restore = injectOutputFaults(async () => 0);
    try {
      await expect(writeFileAtomic(join(dir, 'z.bin'), bytes(10))).rejects.toMatchObject({
        code: 'IO_ERROR',
        details: { errno: 'ENOSPC' },
      });
    } finally {
      restore();
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it('streams chunks from an async producer and keeps the old file mode', async () => {
    const dir = tempDir();
    const target = join(dir, 'stream.bin');
    writeFileSync(target, 'x');
    chmodSync(target, 0o600);
    async function* parts() {
      for (let i = 0; i < 5; i++) yield bytes(1000, i);
    }
    await writeFileAtomic(target, parts());
    expect(statSync(target).size).toBe(5000);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    let seen = -1;
    await writeOutput(target, async (sink: OutputSink) => {
      await sink.write(bytes(7));
      seen = sink.bytesWritten;
    });
    expect(seen).toBe(7);
  });

  it('an error thrown by the producer leaves the old file and no temp', async () => {
    const dir = tempDir();
    const target = join(dir, 'p.bin');
    writeFileSync(target, 'old');
    await expect(
      writeOutput(target, async (sink) => {
        await sink.write(bytes(100));
        expect(liveOutputTemps()).toHaveLength(1);
        throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
      }),
    ).rejects.toMatchObject({ code: 'IO_ERROR', details: { errno: 'EIO' } });
    expect(readFileSync(target, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['p.bin']);
  });

  it('cleanupOutputTemps removes a temp that is being written (what the signal handlers call)', async () => {
    const dir = tempDir();
    const target = join(dir, 'sig.bin');
    writeFileSync(target, 'old');
    let removed: string[] = [];
    await writeOutput(target, async (sink) => {
      await sink.write(bytes(100));
      removed = cleanupOutputTemps();
      await sink.write(bytes(100));
    }).catch(() => {});
    expect(removed).toHaveLength(1);
    expect(readdirSync(dir).filter((f) => f !== 'sig.bin')).toEqual([]);
  });
});

describe('non-regular targets', () => {
  it('/dev/null is written, not replaced', async () => {
    await writeFileAtomic('/dev/null', bytes(100_000));
    expect(lstatSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  it.skipIf(!existsSync('/dev/full'))('/dev/full gives a typed ENOSPC and stays a device', async () => {
    await expect(writeFileAtomic('/dev/full', bytes(10))).rejects.toMatchObject({
      code: 'IO_ERROR',
      details: { path: '/dev/full', errno: 'ENOSPC' },
    });
    expect(lstatSync('/dev/full').isCharacterDevice()).toBe(true);
  });

  it('a FIFO is written into (a reader gets the bytes), not replaced', async () => {
    const dir = tempDir();
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
    const got: Buffer[] = [];
    reader.stdout.on('data', (b: Buffer) => got.push(b));
    const done = new Promise((r) => reader.on('close', r));
    const data = bytes(300_000);
    await writeFileAtomic(fifo, data);
    await done;
    expect(same(Buffer.concat(got), data)).toBe(true);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('/dev/stdout and links to it write into the open stream (a pipe here), never replacing the link', async () => {
    const dir = tempDir();
    const link = join(dir, 'stdout-link');
    symlinkSync('/dev/stdout', link);
    const script = join(dir, 'child.ts');
    writeFileSync(
      script,
      `import { writeFileAtomic } from ${JSON.stringify(fileURLToPath(new URL('./output.ts', import.meta.url)))};
await writeFileAtomic('/dev/stdout', new TextEncoder().encode('one,'));
await writeFileAtomic(process.argv[2], new TextEncoder().encode('two'));`,
    );
    await bundleScript(script, `${script}.mjs`);
    const out = execFileSync(process.execPath, [`${script}.mjs`, link], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    expect(out.toString()).toBe('one,two');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(lstatSync('/dev/stdout').isSymbolicLink()).toBe(true);
    expect((await checkOutputTarget(link)).kind).toBe('stream');
    expect(isStdoutTarget(await checkOutputTarget(link))).toBe(true);
    expect(isStdoutTarget(await checkOutputTarget('/dev/stderr'))).toBe(false);
  });

  it('a symlink is written through: the link is kept, the file it points to is replaced atomically', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'real'));
    writeFileSync(join(dir, 'real', 'a.wav'), 'old');
    symlinkSync('real/a.wav', join(dir, 'link.wav'));
    await writeFileAtomic(join(dir, 'link.wav'), bytes(50));
    expect(lstatSync(join(dir, 'link.wav')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, 'real', 'a.wav')).length).toBe(50);
    expect(readdirSync(join(dir, 'real'))).toEqual(['a.wav']);
    // A dangling link creates its target.
    symlinkSync('real/new.wav', join(dir, 'dangling.wav'));
    await writeFileAtomic(join(dir, 'dangling.wav'), bytes(5));
    expect(readFileSync(join(dir, 'real', 'new.wav')).length).toBe(5);
    expect(lstatSync(join(dir, 'dangling.wav')).isSymbolicLink()).toBe(true);
  });
});

describe('checkOutputTarget and output == input', () => {
  it('refuses an output that is an input: same path, ./path, a symlink or a hard link', async () => {
    const dir = tempDir();
    const input = join(dir, 'in.tflite');
    writeFileSync(input, 'model');
    symlinkSync(input, join(dir, 'sym.tflite'));
    linkSync(input, join(dir, 'hard.tflite'));
    for (const out of [
      input,
      join(dir, '.', 'in.tflite'),
      join(dir, 'sym.tflite'),
      join(dir, 'hard.tflite'),
    ]) {
      await expect(checkOutputTarget(out, { inputs: [input] })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        details: { reason: 'output-is-input' },
      });
      await expect(writeFileAtomic(out, bytes(3), { inputs: [input] })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    }
    expect(readFileSync(input, 'utf8')).toBe('model');
    await expect(
      checkOutputTarget(join(dir, 'out'), { kind: 'folder', inputs: [join(dir, 'in', 'x')] }),
    ).resolves.toBeDefined();
    mkdirSync(join(dir, 'm'));
    writeFileSync(join(dir, 'm', 'ckpt'), '');
    await expect(
      checkOutputTarget(join(dir, 'm'), { kind: 'folder', inputs: [join(dir, 'm', 'ckpt')] }),
    ).rejects.toMatchObject({ details: { reason: 'output-overlaps-input' } });
  });

  it('types every wrong kind of path before any work', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), '');
    mkdirSync(join(dir, 'folder'));
    await expect(checkOutputTarget(join(dir, 'file', 'out.wav'))).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { reason: 'parent-not-folder' },
    });
    await expect(checkOutputTarget(join(dir, 'file', 'a', 'b', 'out.wav'))).rejects.toMatchObject({
      details: { reason: 'parent-not-folder' },
    });
    await expect(checkOutputTarget(join(dir, 'folder'))).rejects.toMatchObject({
      details: { reason: 'is-folder' },
    });
    await expect(checkOutputTarget(join(dir, 'file'), { kind: 'folder' })).rejects.toMatchObject({
      details: { reason: 'not-folder' },
    });
    await expect(checkOutputTarget('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(
      checkOutputTarget(join(dir, 'new', 'deep', 'x.wav'), { parents: false }),
    ).rejects.toMatchObject({ code: 'IO_ERROR' });
    const ok = await checkOutputTarget(join(dir, 'new', 'deep', 'x.wav'));
    expect(ok.kind).toBe('missing');
    expect(readdirSync(dir).sort()).toEqual(['file', 'folder']); // the probe left nothing
  });

  it.skipIf(isRoot)('a folder without write permission is refused up front (non-root)', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'ro'));
    chmodSync(join(dir, 'ro'), 0o555);
    await expect(checkOutputTarget(join(dir, 'ro', 'x.wav'))).rejects.toMatchObject({
      code: 'IO_ERROR',
      details: { errno: 'EACCES' },
    });
  });
});

describe('writeFolderAtomic', () => {
  it('builds beside the target and swaps it in; user files the producer does not own are kept', async () => {
    const dir = tempDir();
    const out = join(dir, 'models');
    mkdirSync(out);
    writeFileSync(join(out, 'a.tflite'), 'old a');
    writeFileSync(join(out, 'stale.tflite'), 'old, not produced any more');
    writeFileSync(join(out, 'NOTES.md'), 'mine');
    const r = await writeFolderAtomic(
      out,
      async (tmp) => {
        expect(readdirSync(dir).sort()).toEqual(expect.arrayContaining(['models']));
        writeFileSync(join(tmp, 'a.tflite'), 'new a');
        return 42;
      },
      { owns: (n) => n.endsWith('.tflite') },
    );
    expect(r).toBe(42);
    expect(readdirSync(out).sort()).toEqual(['NOTES.md', 'a.tflite']);
    expect(readFileSync(join(out, 'a.tflite'), 'utf8')).toBe('new a');
    expect(readdirSync(dir)).toEqual(['models']);
  });

  it('a failing build leaves the old folder untouched and no temp folder', async () => {
    const dir = tempDir();
    const out = join(dir, 'models');
    mkdirSync(out);
    writeFileSync(join(out, 'a.tflite'), 'old a');
    await expect(
      writeFolderAtomic(out, async (tmp) => {
        writeFileSync(join(tmp, 'a.tflite'), 'half');
        throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
      }),
    ).rejects.toMatchObject({ code: 'IO_ERROR', details: { errno: 'ENOSPC' } });
    expect(readdirSync(dir)).toEqual(['models']);
    expect(readFileSync(join(out, 'a.tflite'), 'utf8')).toBe('old a');
  });

  it('an existing file as the folder target is a typed error (was EEXIST)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'f'), '');
    await expect(writeFolderAtomic(join(dir, 'f'), async () => {})).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('recognises what killed runs left: partial temps removed, an old folder set aside is put back', async () => {
    const dir = tempDir();
    const dead = 2 ** 22 + 17; // above pid_max's default: no such process
    mkdirSync(join(dir, `.models.${dead}-aaaaaaaaaaaa.agnew`));
    mkdirSync(join(dir, `.models.${dead}-bbbbbbbbbbbb.agold`));
    writeFileSync(join(dir, `.models.${dead}-bbbbbbbbbbbb.agold`, 'a.tflite'), 'old a');
    writeFileSync(join(dir, `.x.wav.${dead}-cccccccccccc.agtmp`), 'partial');
    writeFileSync(join(dir, `.models.${process.pid}-dddddddddddd.agnew`), 'ours: alive');
    const cleaned = await cleanStaleOutputTemps(join(dir, 'models'));
    expect(cleaned).toHaveLength(2);
    expect(readFileSync(join(dir, 'models', 'a.tflite'), 'utf8')).toBe('old a');
    await checkOutputTarget(join(dir, 'x.wav'));
    expect(readdirSync(dir).sort()).toEqual([`.models.${process.pid}-dddddddddddd.agnew`, 'models']);
  });
});

// Real disk-full and read-only filesystems: a small tmpfs. CI runs as root where mount works; elsewhere the
// injected-fault tests above cover the logic and these skip with the reason.
const disk = mountSmallDisk(256);
afterAll(() => {
  if (typeof disk !== 'string') disk.unmount();
});
const noDisk = typeof disk === 'string' && !process.env.CI;
if (noDisk) console.warn(`output.test: skipping the tmpfs tests: ${disk}`);

describe.skipIf(noDisk)('on a real 256 KiB tmpfs', () => {
  const d = () => {
    if (typeof disk === 'string') throw new Error(disk);
    return disk;
  };

  it('disk full: IO_ERROR, old file intact, no temp left; then read-only is refused up front', async () => {
    const { dir } = d();
    const target = join(dir, 'out.wav');
    writeFileSync(target, bytes(20_000, 3));
    d().fill(8192);
    const e = await writeFileAtomic(target, bytes(200_000)).catch((x) => x);
    expect(e).toMatchObject({ code: 'IO_ERROR', details: { errno: 'ENOSPC' } });
    expect(same(readFileSync(target), bytes(20_000, 3))).toBe(true);
    expect(readdirSync(dir).filter((f) => !f.startsWith('.filler'))).toEqual(['out.wav']);
    // A folder build that runs out of space leaves the old folder.
    mkdirSync(join(dir, 'm'));
    writeFileSync(join(dir, 'm', 'a'), 'old');
    await expect(
      writeFolderAtomic(join(dir, 'm'), async (tmp) => writeFileAtomic(join(tmp, 'a'), bytes(200_000))),
    ).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(
      readdirSync(dir)
        .filter((f) => !f.startsWith('.filler'))
        .sort(),
    ).toEqual(['m', 'out.wav']);
    expect(readFileSync(join(dir, 'm', 'a'), 'utf8')).toBe('old');

    d().remount(true);
    try {
      await expect(checkOutputTarget(join(dir, 'new', 'x.wav'))).rejects.toMatchObject({
        code: 'IO_ERROR',
        details: { errno: 'EROFS' },
      });
      await expect(checkOutputTarget(target)).rejects.toMatchObject({ details: { errno: 'EROFS' } });
      await expect(writeFileAtomic(join(dir, 'n', 'x'), bytes(1), { parents: true })).rejects.toMatchObject({
        code: 'IO_ERROR',
        details: { errno: 'EROFS' },
      });
    } finally {
      d().remount(false);
    }
  });
});
