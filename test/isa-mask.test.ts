// scripts/isa-mask.mjs: a Zen 4 made to look like an AVX2-only CPU to every library in a process, for the
// AVX2-only benchmark rows. Checked here: the CPUID bits a program reads, that the process's own SIGSEGV
// handling is unchanged, and that the SDK (feature detection, precision policy, LiteRT) sees the masked CPU.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildIsaMask, isaMaskEnv, isaMaskUnavailable } from '../scripts/isa-mask.mjs';
import { bundleScript } from './child-script';
import { visibleCpuFlags } from './isa-mask/visible-flags';
import { ROOT } from './workspace';

// A hardware property, not a tool the setup installs: machines (or hypervisors) without CPUID faulting skip.
const why = isaMaskUnavailable();
if (why) console.warn(`[test] isa-mask unavailable (${why}): skipping its tests`);

describe.skipIf(!!why)('isa-mask', () => {
  const dir = mkdtempSync(join(tmpdir(), 'audiogen-isa-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const probe = join(dir, 'probe');
  // What an unmasked child sees (the tests may themselves run masked: then the same as masked).
  const visible = visibleCpuFlags();
  const hasAvx512 = visible.has('avx512f');

  const run = (cmd: string, args: string[], masked: boolean) =>
    spawnSync(cmd, args, {
      encoding: 'utf8',
      env: masked ? isaMaskEnv('avx2') : process.env,
      timeout: 120_000,
    });

  it('hides AVX-512 and VNNI from CPUID and keeps AVX2', () => {
    buildIsaMask();
    const cc = spawnSync('cc', ['-O0', '-o', probe, join(ROOT, 'test/isa-mask/probe.c')], {
      encoding: 'utf8',
    });
    expect(cc.stderr).toBe('');
    expect(run(probe, [], false).stdout).toBe(
      `avx2=1 avx512f=${hasAvx512 ? 1 : 0} avx512_vnni=${visible.has('avx512_vnni') ? 1 : 0}\n`,
    );
    expect(run(probe, [], true).stdout).toBe('avx2=1 avx512f=0 avx512_vnni=0\n');
  });

  it("leaves a process's own SIGSEGV handling as it was", () => {
    const own = run(probe, ['handler'], true);
    expect([own.stdout, own.status]).toEqual(['avx2=1 avx512f=0 avx512_vnni=0\nown handler\n', 3]);
    const viaSignal = run(probe, ['signal'], true);
    expect([viaSignal.stdout, viaSignal.status]).toEqual([
      'avx2=1 avx512f=0 avx512_vnni=0\nafter signal(): avx512f=0\nown handler\n',
      3,
    ]);
    const none = run(probe, ['crash'], true);
    expect([none.status, none.signal]).toEqual([null, 'SIGSEGV']);
  });

  it('the SDK sees the masked CPU: features, the precision policy, and LiteRT runs on it', async () => {
    const child = join(dir, 'host-child.mjs');
    await bundleScript(join(ROOT, 'test/isa-mask/host-child.ts'), child, {
      dirname: join(ROOT, 'packages/runtime-native/src'),
    });
    const ref = JSON.parse(
      readFileSync(join(ROOT, 'packages/runtime-native/fixtures/reference.json'), 'utf8'),
    );
    const input = join(dir, 'x.json');
    writeFileSync(input, JSON.stringify(ref.fc_probe.inputs.x.data));
    const model = join(ROOT, 'packages/runtime-native/fixtures/fc_probe.tflite');
    const results = [false, true].map((masked) => {
      const r = run(process.execPath, [child, model, input], masked);
      expect(r.stderr.split('\n').filter((l) => /isa-mask|Error/.test(l))).toEqual([]);
      expect(r.status).toBe(0);
      return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    });
    const [plain, masked] = results;
    expect(plain.source).toBe('cpuid');
    expect(plain.features.avx512f).toBe(hasAvx512);
    expect(masked.source).toBe('cpuid');
    expect(masked.features).toMatchObject({
      avx2: true,
      fma: true,
      avx512f: false,
      avx512vnni: false,
      avx_vnni: false,
    });
    expect(masked.int8Pays).toBe(false);
    expect([plain.wasmTrap, masked.wasmTrap]).toEqual(['RuntimeError', 'RuntimeError']);
    // The same FC through AVX2 kernels instead of AVX-512 ones: equal up to float summation order.
    const y = ref.fc_probe.outputs.y.data as number[];
    for (const r of results) {
      expect(r.y.length).toBe(y.length);
      const worst = Math.max(...y.map((v, i) => Math.abs(v - r.y[i]) / (1 + Math.abs(v))));
      expect(worst).toBeLessThan(1e-5);
    }
  }, 120_000);
});
