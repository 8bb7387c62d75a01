// The arm64 lane (scripts/test-arm64.sh) as a test: this package's tests run by the official arm64 node
// under QEMU with -cpu max (SVE2/SME/SME2) and -cpu cortex-a76 (NEON + dotprod), both must pass, and
// the SME probe must show LiteRT's SME2 kernels running on max and no SME code on cortex-a76.
// Skipped with a printed reason where the cross toolchain is missing; in CI ($CI set) that is a failure.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const inCI = !!process.env.CI && !/^(0|false|no)$/i.test(process.env.CI);
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

function missing(): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return 'the lane runs on linux-x64 hosts';
  if (!existsSync('/usr/aarch64-linux-gnu/lib'))
    return 'no aarch64 sysroot (apt-get install g++-aarch64-linux-gnu)';
  if (!existsSync(join(pkg, 'dist', 'prebuilds', 'linux-arm64', 'node.napi.node')))
    return 'no linux-arm64 prebuild in dist/ (npm run build -w @audiogen/runtime-native)';
  if (!process.env.QEMU && !(has('apt-get') && has('dpkg')))
    return 'no apt-get/dpkg to fetch QEMU >= 9.2 (or set QEMU=/path/to/qemu-aarch64)';
  if (!has('setarch') || !has('flock')) return 'no setarch/flock (util-linux)';
  return null;
}
const reason = missing();
if (reason && !inCI) console.log(`arm64 lane skipped: ${reason}`);

type Fields = Record<string, string>;
const parse = (out: string, tag: string): Map<string, Fields> => {
  const m = new Map<string, Fields>();
  for (const line of out.split('\n')) {
    if (!line.startsWith(`${tag} `)) continue;
    const f = Object.fromEntries(
      line
        .slice(tag.length + 1)
        .split(' ')
        .map((kv) => kv.split('=') as [string, string]),
    );
    if (f.cpu) m.set(f.cpu, f);
  }
  return m;
};

function runLane(): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn('bash', [join(pkg, 'scripts', 'test-arm64.sh')], {
      cwd: pkg,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a timeout can end QEMU too
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 14 * 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, out });
    });
  });
}

describe.skipIf(reason !== null && !inCI)('arm64 lane (QEMU, official arm64 node)', () => {
  it('runs the runtime tests under -cpu max and -cpu cortex-a76; SME2 kernels run only on max', {
    timeout: 15 * 60_000,
  }, async () => {
    expect(reason, `arm64 lane cannot run in CI: ${reason}`).toBeNull();
    const { code, out } = await runLane();
    const logDir = join(tmpdir(), 'audiogen-arm64');
    mkdirSync(logDir, { recursive: true });
    writeFileSync(join(logDir, 'lane-output.log'), out);
    const setup = out.split('\n').filter((l) => l.startsWith('[arm64]'));
    const at = out.indexOf('== summary');
    console.log(
      `arm64 lane (full log: ${join(logDir, 'lane-output.log')})\n${setup.join('\n')}\n` +
        (at >= 0 ? out.slice(at) : out.slice(-3000)),
    );
    const tail = `\n${out.slice(-6000)}`;
    expect(code, tail).toBe(0);

    const lanes = parse(out, 'LANE');
    const max = lanes.get('max');
    const a76 = lanes.get('cortex-a76');
    expect(max?.status, tail).toBe('pass');
    expect(a76?.status, tail).toBe('pass');
    const n = (f: Fields | undefined, k: string) => Number(f?.[k] ?? Number.NaN);
    for (const f of [max, a76]) {
      expect(n(f, 'failed')).toBe(0);
      expect(n(f, 'passed')).toBeGreaterThanOrEqual(25); // runtime, host, install, quant-scales … tests
      expect(n(f, 'files')).toBeGreaterThanOrEqual(4);
    }
    // The same tests on both CPU models, except the one the lane config runs on max only.
    expect(n(a76, 'tests')).toBe(n(max, 'tests'));
    expect(n(a76, 'skipped') - n(max, 'skipped')).toBe(1);

    const probes = parse(out, 'PROBE');
    const pMax = probes.get('max');
    const pA76 = probes.get('cortex-a76');
    // Both probes saw LiteRT's code run (blocks translated inside libLiteRt.so's text).
    expect(n(pMax, 'blocks')).toBeGreaterThan(1000);
    expect(n(pA76, 'blocks')).toBeGreaterThan(1000);
    // -cpu max: KleidiAI's SME2 path ran (SMSTART, SME2 multi-vector ZA instructions).
    expect(n(pMax, 'smstart')).toBeGreaterThan(0);
    expect(n(pMax, 'sme2_za')).toBeGreaterThan(0);
    // -cpu cortex-a76: no SME at all.
    expect(n(pA76, 'smstart')).toBe(0);
    expect(n(pA76, 'sme2_za')).toBe(0);
  });
});
