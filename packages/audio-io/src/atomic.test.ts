import { type ChildProcess, spawn } from 'node:child_process';
import { promises as fsp, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { bundleScript } from '../../../test/child-script';
import { noise } from './test/signals';
import { decodeWav, encodeWav, writeWav } from './wav';

const dir = mkdtempSync(join(tmpdir(), 'audio-io-atomic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const clip = (frames: number, seed: number) => ({
  sampleRate: 44100,
  channels: [noise(frames, seed, 0.5), noise(frames, seed + 1, 0.5)],
});

describe('writeWav is atomic', () => {
  it('a write that fails half-way leaves the old file intact and no temp file behind', async () => {
    const target = join(dir, 'fail.wav');
    const old = encodeWav(clip(1000, 1));
    writeFileSync(target, old);
    const realOpen = fsp.open;
    let wrote = 0;
    vi.spyOn(fsp, 'open').mockImplementation(async (...args: Parameters<typeof fsp.open>) => {
      const handle = await realOpen(...args);
      const realWrite = handle.write.bind(handle);
      // Write the first half of the data, then fail like a full disk.
      (handle as unknown as { write: (b: Uint8Array) => Promise<unknown> }).write = async (b: Uint8Array) => {
        await realWrite(b.subarray(0, b.length >> 1));
        wrote += b.length >> 1;
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      };
      return handle;
    });
    await expect(writeWav(target, clip(100000, 2))).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(wrote).toBeGreaterThan(0);
    expect(Buffer.from(readFileSync(target)).equals(Buffer.from(old))).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes('fail.wav'))).toEqual(['fail.wav']);
  });

  it('a process killed (SIGKILL) while writing never leaves a partial file under the target name', async () => {
    // Bundle a tiny writer that rewrites a ~12 MB WAV in a loop, kill it at random moments, and check
    // that the target is always absent or a complete file of one of the two expected contents.
    const script = join(dir, 'writer.ts');
    const bundle = join(dir, 'writer.mjs');
    const src = fileURLToPath(new URL('./wav.ts', import.meta.url));
    const signals = fileURLToPath(new URL('./test/signals.ts', import.meta.url));
    writeFileSync(
      script,
      `import { writeWav } from ${JSON.stringify(src)};
import { noise } from ${JSON.stringify(signals)};
const target = process.argv[2];
const frames = 1_500_000;
const a = { sampleRate: 44100, channels: [noise(frames, 1, 0.5), noise(frames, 2, 0.5)] };
const b = { sampleRate: 44100, channels: [noise(frames, 3, 0.5), noise(frames, 4, 0.5)] };
for (let i = 0; ; i++) {
  await writeWav(target, i % 2 ? a : b, { format: 'f32' });
  process.stdout.write('wrote\\n');
}
`,
    );
    await bundleScript(script, bundle);
    const target = join(dir, 'killed.wav');
    let sawFile = 0;
    let interrupted = 0;
    for (let round = 0; round < 12 && !(round >= 4 && interrupted > 0); round++) {
      const child: ChildProcess = spawn(process.execPath, [bundle, target], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      // Wait for one complete write (timed), then kill at a moment spread over the next write.
      const t0 = performance.now();
      await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
      const writeMs = performance.now() - t0;
      await new Promise((r) => setTimeout(r, ((round % 4) + 0.5) * 0.25 * writeMs));
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      try {
        const bytes = readFileSync(target);
        sawFile++;
        const decoded = decodeWav(bytes); // throws on a partial file (truncated data chunk)
        expect(decoded.channels[0]!.length).toBe(1_500_000);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      // Temp files of killed writers are hidden dot-files; never the target name itself.
      const temps = readdirSync(dir).filter((f) => f.endsWith('.agtmp'));
      for (const f of temps) expect(f.startsWith('.killed.wav.')).toBe(true);
      interrupted = temps.length;
    }
    expect(sawFile).toBeGreaterThan(0);
    // At least one kill landed in the middle of a write (its temp file is left over), so the
    // test did exercise an interrupted write.
    expect(interrupted).toBeGreaterThan(0);
  }, 60_000);
});
