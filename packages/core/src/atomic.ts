import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AudiogenError } from './errors';

/**
 * Writes a file so that the target name holds either the old content or the complete new one:
 * data goes to a temp file in the same folder, is fsynced, then renamed over the target.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(tmp, 'wx');
    const parts = data instanceof Uint8Array ? [data] : data;
    for (const p of parts) await handle.write(p);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, path);
  } catch (e) {
    await handle?.close().catch(() => {});
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw new AudiogenError('IO_ERROR', `could not write ${path}: ${(e as Error).message}`, { cause: e });
  }
}
