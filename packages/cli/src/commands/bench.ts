import { statSync } from 'node:fs';
import type { ModelPlacement, Runtime } from '@audiogen/core';
import { inspectTfliteFile } from '@audiogen/core/tflite';
import { createNativeRuntime, describeHost, type HostReport } from '@audiogen/runtime-native';
import {
  createStableAudioPipeline,
  describeStableAudioFolder,
  PRECISIONS,
  type PrecisionRequest,
  prepareStableAudioRequest,
  type StableAudioModelFolder,
  samplerApi,
} from '@audiogen/stable-audio';
import { type Command, Option } from 'commander';
import { createReporter, generationProgress, progressMode } from '../progress';
import {
  type AcceleratorCliOptions,
  acceleratorPipelineOptions,
  addAcceleratorOptions,
  placementLines,
} from './accelerator';
import { GENERATE_FLAGS, num } from './generate';

export interface BenchCliOptions extends AcceleratorCliOptions {
  threads?: number;
  steps?: number;
  seconds?: number;
  runs: number;
  seed: number;
  prompt: string;
  lowMemory?: boolean;
  decoderFp16?: boolean;
  /** Which precision of the models (default auto: chosen for this CPU). */
  precision?: PrecisionRequest;
  json: boolean;
  progress: boolean;
  quiet?: boolean;
  /** Record every node's time (the runtime's profiler) and add each stage's table to the report. */
  profile?: boolean;
}

export interface BenchDeps {
  createRuntime?: () => Runtime;
  describe?: () => HostReport;
  stdout?: (line: string) => void;
  stderr?: (line: string) => void;
}

/** One model of the folder as benchmarked: its file, size and the weight types it holds (by bytes). */
export interface BenchModel {
  role: string;
  file: string;
  bytes: number;
  /** Constant data by tensor type, bytes (e.g. FLOAT32, INT8): what precision the weights are stored in. */
  weights: Record<string, number>;
  /** Run with XNNPACK FORCE_FP16. */
  forceFp16: boolean;
}

export interface BenchRun {
  /** T5 + seconds conditioner, ms. */
  encodeMs: number;
  /** DiT per step, ms. */
  stepMs: number[];
  denoiseMs: number;
  decodeMs: number;
  /** The whole generate() call (with --low-memory its loads too), ms. */
  totalMs: number;
  /** Loads inside this run (--low-memory), label → ms. */
  loadMs: Record<string, number>;
  /** Latent frames the decoder ran, of a full decode's (a shorter clip needs fewer with an open-frame decoder). */
  decodedFrames: { latent: number; total: number };
  /** Processing time / audio length: below 1 is faster than real time. */
  realTimeFactor: number;
  /** Process CPU time of the run (all threads), ms: the stable number on a shared machine. */
  cpuMs: number;
}

export interface BenchReport {
  folder: string;
  host: {
    cpuModel: string;
    cpuVendor: string;
    logicalCores: number;
    platform: string;
    arch: string;
    /** The CPU features the runtime tracks that this host has (AVX-512, VNNI, NEON, SME2…). */
    cpuFlags: string[];
    kernels: string[];
  };
  litert: { version: string; librarySha256?: string; pinned?: boolean; api: string };
  /** Where each stage ran (--accelerator), with the placement measurement when 'auto'. */
  placement: Partial<Record<string, ModelPlacement>>;
  config: {
    threads: number | 'default';
    steps: number;
    seconds: number;
    residency: 'all' | 'stage';
    runs: number;
  };
  /** The precision asked for, the one each model runs in, and why. */
  precision: { requested: string; dit: string; decoder: string; reasons: string[] };
  models: BenchModel[];
  /** Loads at creation, label → ms, and their sum. */
  loadMs: Record<string, number>;
  loadTotalMs: number;
  runs: BenchRun[];
  /** Medians over the runs. */
  median: {
    encodeMs: number;
    ditMsPerStep: number;
    denoiseMs: number;
    decodeMs: number;
    totalMs: number;
    realTimeFactor: number;
    cpuMs: number;
  };
  /** Peak resident memory of the process (getrusage maxRSS), bytes. */
  peakRssBytes: number;
  audioSeconds: number;
  /**
   * --profile: each stage's table of node times over every run, in the runtime's format (runtime-native: LiteRT's,
   * per node in run order, top nodes, and per node type with XNNPACK's operators by name). Includes the profiler's
   * own small cost per node: time the clip without --profile.
   */
  profiles?: Partial<Record<string, string>>;
}

/** The "by node type" part of a LiteRT profile table (the whole text when it has none). */
export function profileByType(table: string): string[] {
  const lines = table.split('\n');
  const at = lines.findIndex((l) => l.includes('Summary by node type'));
  if (at < 0) return lines.filter((l) => l.trim() !== '');
  const end = lines.findIndex((l, i) => i > at + 1 && (l.trim() === '' || l.startsWith('=')));
  return lines.slice(at + 1, end < 0 ? undefined : end);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? 0 : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function modelsOf(folder: StableAudioModelFolder, decoderFp16: boolean): BenchModel[] {
  const roles: [string, string | undefined][] = [
    ['conditioners', folder.files.conditioners],
    ['dit', folder.files.dit],
    ['decoder', folder.files.decoder],
  ];
  return roles
    .filter((r): r is [string, string] => r[1] !== undefined)
    .map(([role, file]) => {
      let weights: Record<string, number> = {};
      try {
        const byType = inspectTfliteFile(file).parameters.byType;
        weights = Object.fromEntries(Object.entries(byType).map(([k, v]) => [k, v.bytes]));
      } catch {
        // not a .tflite core's reader takes: the runtime still loads it; the weight types stay unknown
      }
      return {
        role,
        file,
        bytes: statSync(file).size,
        weights,
        forceFp16: role === 'decoder' && decoderFp16,
      };
    });
}

/** The human lines of a report, row by row (the JSON is the report itself). */
export function formatBench(r: BenchReport): string[] {
  const ms = (v: number) => `${Math.round(v).toLocaleString('en-US')} ms`;
  const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
  const rows: [string, string][] = [
    ['host', `${r.host.cpuModel} (${r.host.platform}-${r.host.arch}, ${r.host.logicalCores} logical cores)`],
    ['cpu flags', r.host.cpuFlags.join(' ') || '-'],
    [
      'litert',
      `${r.litert.version} (${r.litert.api}${r.litert.pinned === false ? ', NOT the pinned library' : ''})`,
    ],
    [
      'config',
      `${r.config.threads} threads, ${r.config.steps} steps, ${r.audioSeconds.toFixed(2)} s of audio, residency ${r.config.residency}, ${r.config.runs} run(s)`,
    ],
    ...placementLines(r.placement).map((l): [string, string] => ['placement', l]),
    ['precision', `${r.precision.requested}: DiT ${r.precision.dit}, decoder ${r.precision.decoder}`],
    ...r.models.map((m): [string, string] => [
      m.role,
      `${mb(m.bytes)}, weights ${
        Object.entries(m.weights)
          .map(([k, v]) => `${k} ${mb(v)}`)
          .join(', ') || 'unknown'
      }${m.forceFp16 ? ', FORCE_FP16' : ''}`,
    ]),
    [
      'load',
      `${ms(r.loadTotalMs)} (${Object.entries(r.loadMs)
        .map(([k, v]) => `${k} ${ms(v)}`)
        .join(', ')})`,
    ],
    ['T5', ms(r.median.encodeMs)],
    ['DiT', `${ms(r.median.denoiseMs)} (${ms(r.median.ditMsPerStep)}/step)`],
    [
      'decoder',
      `${ms(r.median.decodeMs)}${r.runs[0] ? ` (${r.runs[0].decodedFrames.latent} of ${r.runs[0].decodedFrames.total} latent frames)` : ''}`,
    ],
    ['total', `${ms(r.median.totalMs)} (median of ${r.runs.length}), process CPU ${ms(r.median.cpuMs)}`],
    [
      'real-time',
      `${r.median.realTimeFactor.toFixed(3)} × audio length (${(1 / r.median.realTimeFactor).toFixed(2)}× real time)`,
    ],
    ['peak RSS', mb(r.peakRssBytes)],
  ];
  const lines = rows.map(([k, v]) => `${k.padEnd(13)} ${v}`);
  for (const [stage, table] of Object.entries(r.profiles ?? {})) {
    lines.push(
      '',
      `profile: ${stage}, by node type, over ${r.runs.length} run(s) (--json has the whole table)`,
    );
    lines.push(...profileByType(table ?? ''));
  }
  return lines;
}

/** Runs `audiogen bench <folder>`: the full pipeline on a folder, timed stage by stage. */
export async function runBench(
  folderPath: string,
  o: BenchCliOptions,
  deps: BenchDeps = {},
): Promise<BenchReport> {
  const out = deps.stdout ?? ((l: string) => process.stdout.write(`${l}\n`));
  const runtime = (deps.createRuntime ?? (() => createNativeRuntime()))();
  const host = (deps.describe ?? describeHost)();
  const pipelineOptions = {
    runtime,
    threads: o.threads,
    ...(o.decoderFp16 !== undefined ? { decoderFp16: o.decoderFp16 } : {}),
    ...(o.precision !== undefined ? { precision: o.precision } : {}),
    ...acceleratorPipelineOptions(o),
    loadEncoder: false,
    residency: (o.lowMemory ? 'stage' : 'all') as 'stage' | 'all',
    ...(o.profile ? { profile: true } : {}),
  };
  // Checked before anything loads, as generate does.
  const info = await describeStableAudioFolder({ models: folderPath, ...pipelineOptions });
  const options = { prompt: o.prompt, seconds: o.seconds, steps: o.steps, seed: o.seed };
  const request = prepareStableAudioRequest(options, info.limits, {
    api: samplerApi(),
    names: GENERATE_FLAGS,
  });

  const reporter = createReporter(progressMode(o), { write: deps.stderr });
  const onProgress = generationProgress(reporter, 1);
  const decoderFp16 = info.precision.decoder.forceFp16;
  const pipeline = await createStableAudioPipeline({ models: info.folder, ...pipelineOptions, onProgress });
  const runs: BenchRun[] = [];
  let profiles: BenchReport['profiles'];
  try {
    for (let i = 0; i < o.runs; i++) {
      const c0 = process.cpuUsage();
      const r = await pipeline.generate({ ...options, seed: request.seed, onProgress });
      const cpu = process.cpuUsage(c0);
      const t = r.timings;
      runs.push({
        encodeMs: t.encodeMs,
        stepMs: t.stepMs[0] ?? [],
        denoiseMs: t.denoiseMs,
        decodeMs: t.decodeMs,
        totalMs: t.totalMs,
        loadMs: t.loadMs,
        decodedFrames: r.decodedFrames,
        realTimeFactor: t.totalMs / 1000 / r.seconds,
        cpuMs: (cpu.user + cpu.system) / 1000,
      });
    }
    if (o.profile) profiles = await pipeline.profiles();
  } finally {
    reporter.close();
    pipeline.dispose();
  }
  const on = Object.entries(host.cpuFeatures)
    .filter(([, v]) => v)
    .map(([k]) => k);
  const loadMs = { ...pipeline.loadMs };
  // After load: where the DiT's precision is picked by timing, the pick is known only now.
  const chosen = pipeline.precision;
  const report: BenchReport = {
    folder: info.folder.dir,
    host: {
      cpuModel: host.cpuModel,
      cpuVendor: host.cpuVendor,
      logicalCores: host.logicalCores,
      platform: host.platform,
      arch: host.arch,
      cpuFlags: on,
      kernels: host.kernels,
    },
    litert: {
      version: host.engine.version,
      api: host.engine.api,
      ...(host.engine.librarySha256 ? { librarySha256: host.engine.librarySha256 } : {}),
      ...(host.engine.libraryPinned !== undefined ? { pinned: host.engine.libraryPinned } : {}),
    },
    config: {
      threads: o.threads ?? 'default',
      steps: request.steps,
      seconds: request.frames / info.limits.sampleRate,
      residency: pipeline.residency,
      runs: o.runs,
    },
    placement: pipeline.placement,
    precision: {
      requested: chosen.requested,
      dit: chosen.dit.precision,
      decoder: chosen.decoder.precision,
      reasons: chosen.reasons,
    },
    // The files this run used (the chosen precision of the DiT and decoder).
    models: modelsOf(
      {
        ...info.folder,
        files: { ...info.folder.files, dit: chosen.dit.path, decoder: chosen.decoder.path },
      },
      decoderFp16,
    ),
    loadMs,
    loadTotalMs: Object.values(loadMs).reduce((a, b) => a + b, 0),
    runs,
    median: {
      encodeMs: median(runs.map((r) => r.encodeMs)),
      ditMsPerStep: median(runs.flatMap((r) => r.stepMs)),
      denoiseMs: median(runs.map((r) => r.denoiseMs)),
      decodeMs: median(runs.map((r) => r.decodeMs)),
      totalMs: median(runs.map((r) => r.totalMs)),
      realTimeFactor: median(runs.map((r) => r.realTimeFactor)),
      cpuMs: median(runs.map((r) => r.cpuMs)),
    },
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    audioSeconds: request.frames / info.limits.sampleRate,
    ...(profiles ? { profiles } : {}),
  };
  if (o.json) out(JSON.stringify(report));
  else for (const l of formatBench(report)) out(l);
  return report;
}

export function registerBench(program: Command, deps: BenchDeps = {}): void {
  addAcceleratorOptions(program.command('bench'))
    .description(
      'Benchmark the full pipeline on a model folder: load, T5, DiT per step, decoder, real-time factor, peak RSS, host and LiteRT build',
    )
    .argument('<folder>', 'model folder')
    .option('--threads <n>', 'CPU threads', num('--threads', { int: true, min: 1, max: 1024 }))
    .option('--steps <n>', 'denoising steps (family default: 8)', num('--steps', { int: true, min: 1 }))
    .option('-s, --seconds <n>', 'clip length (default 10)', num('--seconds'))
    .option(
      '--runs <n>',
      'generations to time (median reported)',
      num('--runs', { int: true, min: 1, max: 100 }),
      1,
    )
    .option('--seed <n>', 'seed', num('--seed', { int: true, min: 0 }), 1)
    .option('--prompt <text>', 'prompt', 'warm ambient pads with soft piano')
    .option('--low-memory', "residency 'stage': each model loaded only for its stage")
    .addOption(
      new Option('--precision <p>', 'model precision (see generate --precision)')
        .choices([...PRECISIONS])
        .default('auto'),
    )
    .option('--decoder-fp16', 'run the decoder in fp16 (default on Arm CPUs with fp16 arithmetic)')
    .option('--no-decoder-fp16', 'run the decoder in fp32')
    .option('--no-progress', 'no progress bars or lines')
    .option('-q, --quiet', 'no progress', false)
    .option('--json', 'print the report as one JSON line', false)
    .option(
      '--profile',
      "time every node of every model (LiteRT's profiler: XNNPACK's operators by name) and print each stage's table by node type; not with --low-memory",
    )
    .action(async (folder: string, opts: BenchCliOptions) => {
      await runBench(folder, opts, deps);
    });
}
