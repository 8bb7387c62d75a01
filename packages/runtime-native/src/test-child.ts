// Test helper (not part of the package's API): whether this process can start a child node.
import { spawnSync } from 'node:child_process';

/** Under qemu-user without a binfmt_misc registration (the arm64 lane) a child node cannot be started. */
export const canSpawnNode = spawnSync(process.execPath, ['-e', ''], { timeout: 30_000 }).status === 0;
