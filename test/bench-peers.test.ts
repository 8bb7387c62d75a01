// `npm run bench:peers` (scripts/bench-peers.mjs) measures for minutes; here only its cheap parts: the command
// line (checked before any work, typed errors), the round-robin order, the paired ratios and the report's tables
// and floors on synthetic runs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as lib from '../scripts/bench-peers-lib.mjs';
import { isaMaskUnavailable } from '../scripts/isa-mask.mjs';
import { ROOT } from './workspace';

const stage = (ms: number, cpuMs = ms * 1.8, peakMB = 1000) => ({ ms, cpuMs, peakMB, endMB: peakMB });

/** A run of `id` in `round` whose every stage takes `k` times the reference's time. */
function run(id: string, peer: string, precision: string, round: number, k: number) {
  const stages = {
    load: stage(3000),
    conditioners: stage(200 * k),
    dit: stage(8 * 1400 * k),
    decoder: stage(22000 * k),
    tail: stage(1),
  };
  const clip = ['conditioners', 'dit', 'decoder', 'tail'].map((s) => stages[s as keyof typeof stages]);
  return {
    config: { id, peer, precision },
    round,
    steps: 8,
    stages,
    clip: {
      ms: clip.reduce((a, s) => a + s.ms, 0),
      cpuMs: clip.reduce((a, s) => a + s.cpuMs, 0),
      peakMB: 2000,
    },
    peakMB: 4000,
    files: { dit: precision === 'fp32' ? 'fp32' : 'int8', decoder: precision === 'fast' ? 'int8' : 'fp32' },
  };
}

describe('bench:peers options', () => {
  it('has defaults for the run the README quotes', () => {
    const o = lib.parsePeersArgs([]);
    expect(o).toMatchObject({
      rounds: 2,
      threads: 2,
      peers: ['torch', 'litert', 'sdk'],
      precisions: ['fp32', 'auto', 'fast'],
      seed: 42,
      weightsSeed: 0,
      tiny: false,
      setup: true,
      lock: true,
    });
    expect(lib.configsOf(o).map((c) => c.id)).toEqual([
      'torch',
      'litert-fp32',
      'sdk-fp32',
      'litert-auto',
      'sdk-auto',
      'litert-fast',
      'sdk-fast',
    ]);
  });

  it.each([
    [['--rounds', '0'], /--rounds must be an integer ≥ 1/],
    [['--rounds', '1.5'], /--rounds must be an integer/],
    [['--threads', 'two'], /--threads must be an integer/],
    [['--peers', 'torch,onnx'], /--peers: unknown "onnx"/],
    [['--precisions', 'fp16'], /--precisions: unknown "fp16"/],
    [['--precisions', ','], /--precisions is empty/],
    [['--seed', '4294967296'], /--seed must fit in 32 bits/],
    [['--prompt', '  '], /--prompt is empty/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['stray'], /positional/],
  ])('refuses %j with a typed error', (argv, message) => {
    let err: unknown;
    try {
      lib.parsePeersArgs(argv);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((err as Error).message).toMatch(message);
  });

  it('the script refuses bad options and a missing output folder before any work (exit 2, no lock)', () => {
    const script = join(ROOT, 'scripts', 'bench-peers.mjs');
    const a = spawnSync(process.execPath, [script, '--rounds', 'x'], { encoding: 'utf8', timeout: 30_000 });
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/--rounds must be an integer/);
    expect(a.stderr).toMatch(/npm run bench:peers -- \[options\]/);
    const b = spawnSync(process.execPath, [script, '--json', join(ROOT, 'no-such-folder', 'x.json')], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/the folder of .*x\.json does not exist/);
    expect(b.stderr).not.toMatch(/waiting for/);
  });

  it("runs the SDK on the Python wheel's libLiteRt.so too when asked (--sdk-litert)", () => {
    const o = lib.parsePeersArgs([
      '--peers',
      'litert,sdk',
      '--precisions',
      'fast',
      '--sdk-litert',
      'pinned,python',
    ]);
    expect(lib.configsOf(o)).toEqual([
      { id: 'litert-fast', peer: 'litert', precision: 'fast' },
      { id: 'sdk-fast', peer: 'sdk', precision: 'fast', litert: 'pinned' },
      { id: 'sdkpy-fast', peer: 'sdk', precision: 'fast', litert: 'python' },
    ]);
    expect(() => lib.parsePeersArgs(['--sdk-litert', '2.3.0'])).toThrow(/--sdk-litert: unknown "2\.3\.0"/);
  });

  it('rotates the order each round, so no configuration always runs first', () => {
    const c = lib.configsOf(lib.parsePeersArgs(['--peers', 'torch,sdk', '--precisions', 'fp32,fast']));
    const ids = (r: number) => lib.roundOrder(c, r).map((x) => x.id);
    expect(ids(0)).toEqual(['torch', 'sdk-fp32', 'sdk-fast']);
    expect(ids(1)).toEqual(['sdk-fp32', 'sdk-fast', 'torch']);
    expect(ids(3)).toEqual(ids(0));
  });
});

describe('bench:peers report', () => {
  const opts = lib.parsePeersArgs([]);
  const configs = lib.configsOf(opts);
  const k: Record<string, number[]> = {
    torch: [1, 1],
    'litert-fp32': [0.45, 0.5],
    'sdk-fp32': [0.44, 0.46],
    'litert-auto': [0.33, 0.35],
    'sdk-auto': [0.32, 0.34],
    'litert-fast': [0.17, 0.2],
    'sdk-fast': [0.16, 0.17],
  };
  const runs = [1, 2].flatMap((round) =>
    configs.map((c) => run(c.id, c.peer, c.precision, round, k[c.id]![round - 1]!)),
  );
  const report = {
    host: {
      cpuModel: 'Test CPU',
      cpus: 2,
      flags: ['avx2', 'avx512f', 'avx512_vnni'],
      loadStart: '0.10',
      loadEnd: '0.20',
      busy: false,
    },
    builds: {
      sdk: { version: '2.1.6', librarySha256: 'abcdef0123456789', libraryPinned: true },
      litert: { aiEdgeLitert: '2.3.0' },
      torch: { torch: '2.9.0', cpuCapability: 'AVX512', stableAudioTools: '0.0.19' },
    },
    opts,
    clip: { seconds: 11.888, frames: 524288, steps: 8, cfgScale: 1 },
    configs,
    runs,
    sanity: {
      tokensEqual: true,
      audioCosine: { 'litert-fp32': 0.99999991, 'sdk-fp32': 0.99999992, 'sdk-fast': 0.97 },
      crossCosine: 0.9999999991,
    },
  };

  it('pairs each run with the reference of its own round', () => {
    const r = lib.pairedRatios(runs, 'torch');
    expect(r['sdk-fast']!.clip!.wall.map((x) => +x.toFixed(4))).toEqual([0.16, 0.17]);
    expect(r['sdk-fast']!.step!.cpu.map((x) => +x.toFixed(4))).toEqual([0.16, 0.17]);
    expect(r.torch).toBeUndefined();
    expect(lib.fmtRange([0.16, 0.17])).toBe('0.17 (0.16–0.17)');
    expect(lib.fmtRange([0.5])).toBe('0.50');
    expect(lib.median([3, 1, 2, Number.NaN])).toBe(2);
  });

  it('prints machine, builds, per-stage tables, ratios and the floors of issue 14', () => {
    const md = lib.formatReport(report);
    expect(md).toMatch(
      /^Machine: Test CPU \(2 logical CPUs; avx2, avx512f, avx512_vnni\), 2 threads per peer, 2 rounds/,
    );
    expect(md).toMatch(/SDK on LiteRT 2\.1\.6 \(libLiteRt\.so sha256 abcdef012345…\)/);
    expect(md).toMatch(/Python ai-edge-litert 2\.3\.0/);
    expect(md).toMatch(/PyTorch 2\.9\.0 \(CPU capability AVX512\), stable-audio-tools 0\.0\.19/);
    // Every table row has the header's column count.
    for (const table of md.split('\n\n').filter((b) => b.startsWith('|'))) {
      const cols = table.split('\n').map((l) => l.split('|').length);
      expect(new Set(cols).size).toBe(1);
    }
    const row = md
      .split('\n')
      .find((l) => l.startsWith('| SDK (LiteRT 2.1.6) · fast') && l.includes('int8 / int8'));
    expect(row).toBeDefined();
    expect(md).toMatch(/\| SDK ÷ Python LiteRT · fast +\|/);
    expect(md).toMatch(/`fast` ≤ 0\.18× the PyTorch reference clip: 0\.165× wall, 0\.165× CPU → met/);
    expect(md).toMatch(/`fast` ≤ 0\.40× the fp32 path: 0\.\d+× wall, 0\.\d+× CPU → met/);
    expect(md).toMatch(/token ids equal in every peer/);
    expect(md).toMatch(/sdk-fp32 0\.9999999/);
  });

  it('under --isa avx2: names the mask and holds AVX2 hosts to "auto never slower than fp32"', () => {
    expect(lib.parsePeersArgs(['--isa', 'avx2']).isa).toBe('avx2');
    expect(lib.parsePeersArgs([]).isa).toBeUndefined();
    expect(() => lib.parsePeersArgs(['--isa', 'sse2'])).toThrow(/--isa: unknown "sse2" \(known: avx2\)/);
    const host = {
      ...report.host,
      flags: ['avx2'],
      isa: { profile: 'avx2', describe: 'AVX2 only', hidden: ['avx512f', 'avx512_vnni'] },
    };
    const md = lib.formatReport({ ...report, host });
    expect(md).toMatch(
      /^Machine: Test CPU \(2 logical CPUs; avx2; AVX2 only: avx512f, avx512_vnni hidden from every peer/,
    );
    const floors = lib.floorsOf({ ...report, host });
    expect(floors.map((f) => f.text)).toEqual([
      '`auto` never slower than fp32 (no VNNI)',
      '`auto` peak RSS ≤ 2.5 GB, every model resident',
    ]);
    expect(floors[0]).toMatchObject({ met: true });
    // The synthetic runs peak at 4 GB.
    expect(floors[1]).toMatchObject({ measured: '3.91 GB', met: false });
    const slowAuto = runs.map((r) =>
      r.config.id === 'sdk-auto' ? run(r.config.id, 'sdk', 'auto', r.round, 0.5) : r,
    );
    expect(lib.floorsOf({ ...report, host, runs: slowAuto })[0]).toMatchObject({ met: false });
  });

  it('says NOT met when a floor is missed, and flags a busy machine', () => {
    const slow = runs.map((r) =>
      r.config.id === 'sdk-fast' ? run(r.config.id, 'sdk', 'fast', r.round, 0.3) : r,
    );
    const md = lib.formatReport({ ...report, runs: slow, host: { ...report.host, busy: true } });
    expect(md).toMatch(/0\.18× the PyTorch reference clip: 0\.300× wall, 0\.300× CPU → NOT met/);
    expect(md).toMatch(/the machine was busy: compare the CPU-time ratios/);
  });
});

// The whole path on a tiny model, minus PyTorch (its venv is not part of npm test): weights → checkpoint →
// converter → int8 variants, the SDK's noise, Python LiteRT and the SDK in their own processes, the report.
const python = join(ROOT, '.venv', 'bin', 'python');
describe.skipIf(!existsSync(python))('bench:peers on a tiny model (LiteRT peers)', () => {
  // Where the CPU can mask its features, the run is made under --isa avx2 (the driver re-runs itself, and
  // every peer, masked): the same clip, with the AVX2 kernels and the report saying so.
  const isa = isaMaskUnavailable() ? [] : ['--isa', 'avx2'];
  it(`runs Python LiteRT and the SDK on the same files and gets the same audio${isa.length ? ' (--isa avx2)' : ''}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-peers-'));
    try {
      const json = join(dir, 'out.json');
      const r = spawnSync(
        process.execPath,
        [
          join(ROOT, 'scripts', 'bench-peers.mjs'),
          ...['--tiny', '--rounds', '1', '--peers', 'litert,sdk', '--precisions', 'fp32,fast'],
          ...['--no-lock', '--no-setup', '--models', join(dir, 'models'), '--json', json, ...isa],
        ],
        { encoding: 'utf8', timeout: 240_000 },
      );
      expect(r.status, r.stderr.slice(-2000)).toBe(0);
      expect(r.stdout).toMatch(/\| SDK \(LiteRT [\d.]+\) · fast +\| int8 \/ int8/);
      expect(r.stdout).toMatch(/\| SDK ÷ Python LiteRT · fp32 +\|/);
      const out = JSON.parse(readFileSync(json, 'utf8'));
      expect(out.runs.map((x: { config: { id: string } }) => x.config.id)).toEqual([
        'litert-fp32',
        'sdk-fp32',
        'litert-fast',
        'sdk-fast',
      ]);
      expect(out.sanity.tokensEqual).toBe(true);
      if (isa.length) {
        expect(out.host.isa).toMatchObject({ profile: 'avx2' });
        expect(out.host.flags.filter((f: string) => f.startsWith('avx512'))).toEqual([]);
        expect(r.stdout).toMatch(/hidden from every peer by CPUID masking/);
      }
      // litert-fp32 is the reference here: the SDK on the same file computes the same clip.
      expect(out.sanity.audioCosine['sdk-fp32']).toBeGreaterThan(0.999999);
      expect(out.sanity.audioCosine['sdk-fast']).toBeCloseTo(out.sanity.audioCosine['litert-fast'], 6);
      for (const x of out.runs) {
        expect(x.stages.dit.cpuMs).toBeGreaterThan(0);
        expect(x.peakMB).toBeGreaterThan(10);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
