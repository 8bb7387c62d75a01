#!/usr/bin/env node
// Runs a command on this CPU with instruction-set features hidden, so every library in it (XNNPACK,
// PyTorch's oneDNN, gcc's target_clones, glibc) picks the kernels a CPU without them gets. Dev-time only:
// it lets a Zen 4 measure the AVX2-only kernel paths (`avx2`: no AVX-512, VNNI, AVX-VNNI, AMX), which is
// not the same as measuring a Zen 3 (clocks, caches and the core differ), and says so wherever it is used.
//
//   node scripts/isa-mask.mjs avx2 -- <command> [args…]
//   node scripts/isa-mask.mjs --check        (can this machine do it? prints the reason when not)
//
// How: scripts/isa-mask/isa_mask.c, LD_PRELOADed, turns on the kernel's CPUID faulting and answers each
// CPUID with the hidden bits cleared; glibc's own choice (made before any library loads) is steered by
// GLIBC_TUNABLES. Needs Linux x86-64 with the `cpuid_fault` CPU flag and a C compiler.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const SOURCE = join(here, 'isa-mask', 'isa_mask.c');

/** Profiles the library knows, with what each hides (Linux flag names) and glibc's matching tunables. */
export const ISA_MASKS = {
  avx2: {
    hides: [
      'avx512f',
      'avx512dq',
      'avx512ifma',
      'avx512pf',
      'avx512er',
      'avx512cd',
      'avx512bw',
      'avx512vl',
      'avx512vbmi',
      'avx512_vbmi2',
      'avx512_vnni',
      'avx512_bitalg',
      'avx512_vpopcntdq',
      'avx512_bf16',
      'avx512_fp16',
      'avx512_vp2intersect',
      'avx512_4vnniw',
      'avx512_4fmaps',
      'avx_vnni',
      'avx_vnni_int8',
      'avx_vnni_int16',
      'avx10',
      'avx_ifma',
      'avx_ne_convert',
      'amx_tile',
      'amx_int8',
      'amx_bf16',
      'amx_fp16',
    ],
    glibc: 'glibc.cpu.hwcaps=-AVX512F,-AVX512CD,-AVX512BW,-AVX512DQ,-AVX512VL,-AVX512_VNNI,-AVX_VNNI',
    describe: 'AVX2 + FMA + F16C without AVX-512, VNNI, AVX-VNNI or AMX (the ISA of AMD Zen 3)',
  },
};

/** Why this machine cannot run a mask ('' when it can). */
export function isaMaskUnavailable() {
  if (process.platform !== 'linux' || process.arch !== 'x64') return 'needs Linux x86-64';
  let cpuinfo = '';
  try {
    cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return 'no /proc/cpuinfo';
  }
  const flags = /^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.split(/\s+/) ?? [];
  if (!flags.includes('cpuid_fault'))
    return 'this CPU (or its hypervisor) has no CPUID faulting (flag cpuid_fault)';
  if (spawnSync('cc', ['--version'], { stdio: 'ignore' }).status !== 0) return 'no C compiler (cc)';
  return '';
}

/** Builds the preload library once per source version; returns its path. Throws with the reason. */
export function buildIsaMask() {
  const why = isaMaskUnavailable();
  if (why) throw new Error(`isa-mask: ${why}`);
  const src = readFileSync(SOURCE);
  const tag = createHash('sha256').update(src).digest('hex').slice(0, 12);
  const out = join(root, 'node_modules', '.cache', 'audiogen-isa-mask', `isa_mask-${tag}.so`);
  if (existsSync(out)) return out;
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync('cc', ['-O2', '-shared', '-fPIC', '-Wall', '-Werror', '-o', tmp, SOURCE, '-ldl'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`isa-mask: cc failed: ${r.stderr || r.error?.message}`);
  renameSync(tmp, out);
  return out;
}

/** The environment that runs a child (and its children) under `profile`. */
export function isaMaskEnv(profile, base = process.env) {
  const p = ISA_MASKS[profile];
  if (!p)
    throw new Error(`isa-mask: unknown profile "${profile}" (known: ${Object.keys(ISA_MASKS).join(', ')})`);
  const lib = buildIsaMask();
  return {
    ...base,
    LD_PRELOAD: [lib, base.LD_PRELOAD].filter(Boolean).join(':'),
    AUDIOGEN_ISA_MASK: profile,
    GLIBC_TUNABLES: [base.GLIBC_TUNABLES, p.glibc].filter(Boolean).join(':'),
  };
}

function main(argv) {
  if (argv[0] === '--check') {
    const why = isaMaskUnavailable();
    console.log(why ? `unavailable: ${why}` : 'available');
    return why ? 1 : 0;
  }
  const sep = argv.indexOf('--');
  if (argv.length < 3 || sep !== 1 || !ISA_MASKS[argv[0]]) {
    console.error(
      `usage: node scripts/isa-mask.mjs <${Object.keys(ISA_MASKS).join('|')}> -- <command> [args…]\n       node scripts/isa-mask.mjs --check`,
    );
    return 2;
  }
  let env;
  try {
    env = isaMaskEnv(argv[0]);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    return 1;
  }
  const r = spawnSync(argv[2], argv.slice(3), { stdio: 'inherit', env });
  if (r.error) {
    console.error(`isa-mask: ${argv[2]}: ${r.error.message}`);
    return 127;
  }
  return r.status ?? 128 + (constants.signals[r.signal] ?? 9);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
  process.exitCode = main(process.argv.slice(2));
