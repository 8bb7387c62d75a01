import { join } from 'node:path';
import {
  AudiogenError,
  checkOutputTarget,
  type DType,
  makeOutputFolder,
  type Tensor,
  type TensorInfo,
  tensor,
  writeFileAtomic,
  writeNpy,
} from '@audiogen/core';
import { createNativeRuntime, type NativeModel, type Placement } from '@audiogen/runtime-native';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { readNpyFile } from '../files';
import { createReporter, progressMode } from '../progress';

export interface RunCliOptions {
  input: string[];
  randomInputs: boolean;
  seed: number;
  threads?: number;
  fp16: boolean;
  /** Where the model runs (default 'cpu'). */
  accelerator?: 'cpu' | 'gpu' | 'auto';
  gpuPrecision?: 'fp16' | 'fp32';
  outDir?: string;
  repeat: number;
  signature?: string;
  json: boolean;
  progress?: boolean;
  quiet?: boolean;
}

export interface RunReport {
  model: string;
  signature: string;
  threads: number;
  xnnpackFlags?: number;
  /** Where the model ran and why (GPU: adapter, precision; 'auto' on the CPU: the reason). */
  placement: Placement;
  loadMs: number;
  runMs: number[];
  medianMs: number;
  inputs: { name: string; dtype: DType; shape: number[]; source: string }[];
  outputs: {
    name: string;
    dtype: DType;
    shape: number[];
    file?: string;
    min?: number;
    max?: number;
    mean?: number;
  }[];
}

/** A small deterministic PRNG (mulberry32) for --random-inputs. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomTensor(info: TensorInfo, seed: number): Tensor {
  const shape = info.shape.map((d) => (d < 0 ? 1 : d));
  const t = tensor(info.dtype, shape);
  const r = rng(seed);
  const d = t.data as unknown as { length: number; [i: number]: number | bigint };
  for (let i = 0; i < d.length; i++) {
    const u = r();
    switch (info.dtype) {
      case 'float32':
      case 'float64':
        d[i] = u * 2 - 1;
        break;
      case 'int64':
      case 'uint64':
        d[i] = BigInt(Math.floor(u * 100));
        break;
      case 'bool':
        d[i] = u < 0.5 ? 0 : 1;
        break;
      case 'float16':
      case 'bfloat16':
        d[i] = info.dtype === 'float16' ? 0x3c00 : 0x3f80; // 1.0
        break;
      default:
        d[i] = Math.floor(u * 100);
    }
  }
  return t;
}

function stats(t: Tensor): { min?: number; max?: number; mean?: number } {
  if (t.dtype !== 'float32' && t.dtype !== 'float64' && t.dtype !== 'int32') return {};
  const d = t.data as Float32Array;
  if (d.length === 0) return {};
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return { min, max, mean: sum / d.length };
}

/** One line: where a model runs, and why ('auto' on the CPU). */
export function placementText(p: Placement): string {
  if (p.accelerator === 'gpu')
    return `GPU (${p.precision}${p.adapter ? `, ${p.adapter}` : ''})${p.requested === 'auto' ? ' [auto]' : ''}`;
  return p.fallback ? `CPU [auto: ${p.fallback.reason}: ${p.fallback.message}]` : 'CPU';
}

function parseInputs(specs: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const s of specs) {
    const i = s.indexOf('=');
    if (i <= 0 || i === s.length - 1)
      throw new AudiogenError('INVALID_ARGUMENT', `--input must be name=file.npy, got '${s}'`);
    m.set(s.slice(0, i), s.slice(i + 1));
  }
  return m;
}

/** Most runs --repeat does (a benchmark median needs far fewer; 1e9 used to be accepted). */
const MAX_REPEAT = 10_000;

export async function runModel(
  modelPath: string,
  opts: RunCliOptions,
  deps: { stdout?: (l: string) => void; stderr?: (l: string) => void } = {},
): Promise<RunReport> {
  const out = deps.stdout ?? ((l: string) => console.log(l));
  if (!Number.isInteger(opts.repeat) || opts.repeat < 1 || opts.repeat > MAX_REPEAT)
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `--repeat must be an integer in [1, ${MAX_REPEAT}], got ${opts.repeat}`,
    );
  const files = parseInputs(opts.input);
  const sources = [modelPath, ...files.values()];
  // Files go into the folder (no swap), so inputs may live there; each file is checked against them.
  if (opts.outDir) await checkOutputTarget(opts.outDir, { kind: 'folder' });
  // Inputs are read (and checked) before the model loads.
  const given = new Map<string, Tensor>();
  for (const [name, file] of files) given.set(name, await readNpyFile(`--input ${name}:`, file));
  const reporter = createReporter(progressMode(opts), { write: deps.stderr });
  const warnings: string[] = [];
  const rt = createNativeRuntime({ onWarning: (w) => warnings.push(w.message) });
  const t0 = performance.now();
  reporter.begin('load');
  const model: NativeModel = await rt.load(modelPath, {
    threads: opts.threads,
    forceFp16: opts.fp16 || undefined,
    ...(opts.accelerator ? { accelerator: opts.accelerator } : {}),
    ...(opts.gpuPrecision ? { gpuPrecision: opts.gpuPrecision } : {}),
  });
  const loadMs = performance.now() - t0;
  reporter.end(`${loadMs.toFixed(0)} ms`);
  try {
    const sig = opts.signature ? model.signatures.find((s) => s.key === opts.signature) : model.signatures[0];
    if (!sig) throw new AudiogenError('NOT_FOUND', `no signature '${opts.signature}'`);
    for (const k of files.keys()) {
      if (!sig.inputs.some((t) => t.name === k)) {
        throw new AudiogenError(
          'INVALID_ARGUMENT',
          `model has no input '${k}' (inputs: ${sig.inputs.map((t) => t.name).join(', ')})`,
        );
      }
    }
    const inputs: Record<string, Tensor> = {};
    const inputReport: RunReport['inputs'] = [];
    for (const [k, info] of sig.inputs.entries()) {
      const file = files.get(info.name);
      let t: Tensor;
      if (file) t = given.get(info.name)!;
      else if (opts.randomInputs) t = randomTensor(info, opts.seed + k);
      else
        throw new AudiogenError(
          'MISSING_INPUT',
          `no value for input '${info.name}' (use --input ${info.name}=file.npy or --random-inputs)`,
        );
      inputs[info.name] = t;
      inputReport.push({
        name: info.name,
        dtype: t.dtype,
        shape: [...t.shape],
        source: file ?? `random(seed ${opts.seed + k})`,
      });
    }
    const runMs: number[] = [];
    let result: Record<string, Tensor> = {};
    reporter.begin('run', opts.repeat);
    for (let i = 0; i < opts.repeat; i++) {
      const s = performance.now();
      result = await model.run(inputs, { signature: sig.key });
      runMs.push(performance.now() - s);
      reporter.update(i + 1, `${runMs.at(-1)!.toFixed(1)} ms`);
    }
    reporter.end();
    reporter.close();
    const sorted = [...runMs].sort((a, b) => a - b);
    const report: RunReport = {
      model: modelPath,
      signature: sig.key,
      threads: model.cpuOptions.threads,
      xnnpackFlags: model.cpuOptions.xnnpackFlags,
      placement: model.placement,
      loadMs,
      runMs,
      medianMs: sorted[Math.floor(sorted.length / 2)]!,
      inputs: inputReport,
      outputs: [],
    };
    if (opts.outDir) await makeOutputFolder(opts.outDir);
    for (const [name, t] of Object.entries(result)) {
      let file: string | undefined;
      if (opts.outDir) {
        file = join(opts.outDir, `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.npy`);
        await writeFileAtomic(file, writeNpy(t), { inputs: sources });
      }
      report.outputs.push({ name, dtype: t.dtype, shape: [...t.shape], file, ...stats(t) });
    }
    if (opts.json) out(JSON.stringify(report, null, 2));
    else {
      out(
        `model     ${modelPath} (signature ${sig.key}, ${report.threads} threads${opts.fp16 ? ', fp16' : ''})`,
      );
      out(`placement ${placementText(model.placement)}`);
      for (const w of warnings) out(`warning   ${w}`);
      out(`load      ${loadMs.toFixed(1)} ms`);
      out(`run       median ${report.medianMs.toFixed(2)} ms over ${opts.repeat} run(s)`);
      for (const o of report.outputs) {
        const st = o.mean !== undefined ? `  min ${o.min} max ${o.max} mean ${o.mean}` : '';
        out(`output    ${o.name} ${o.dtype} [${o.shape.join(', ')}]${o.file ? ` -> ${o.file}` : ''}${st}`);
      }
    }
    return report;
  } finally {
    model.dispose();
  }
}

const int =
  (what: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(
        `${what} must be an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? '2^53' : max}]`,
      );
    return n;
  };

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('Run a .tflite model once (or --repeat K times) on LiteRT; inputs and outputs as NumPy .npy')
    .argument('<model>', 'the .tflite file')
    .option(
      '--input <name=file.npy>',
      'an input tensor (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .option('--random-inputs', 'fill inputs not given with deterministic random values', false)
    .option('--seed <n>', 'seed for --random-inputs', int('--seed', 0, 2 ** 32 - 1), 0)
    .option('--threads <n>', 'CPU threads', int('--threads', 1, 256))
    .option('--fp16', 'run float32 ops in fp16 (XNNPACK FORCE_FP16)', false)
    .addOption(
      new Option(
        '--accelerator <where>',
        "where the model runs: 'auto' = the GPU when it runs the model whole",
      )
        .choices(['cpu', 'gpu', 'auto'])
        .default('cpu'),
    )
    .addOption(new Option('--gpu-precision <p>', 'GPU arithmetic').choices(['fp16', 'fp32']).default('fp16'))
    .option('--out-dir <dir>', 'write each output as <name>.npy here')
    .option('--repeat <k>', 'run K times and report the median', int('--repeat', 1, MAX_REPEAT), 1)
    .option('--signature <key>', 'signature to run (default: the first)')
    .option('--no-progress', 'no progress bars or lines')
    .option('-q, --quiet', 'no progress', false)
    .option('--json', 'print a JSON report', false)
    .action(async (model: string, opts: RunCliOptions) => {
      await runModel(model, opts);
    });
}
