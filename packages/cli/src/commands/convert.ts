import { basename } from 'node:path';
import {
  convertOnnxFile,
  convertStableAudioCheckpoint,
  type FolderResult,
  opReport,
  writeRandomStableAudioFolder,
} from '@audiogen/convert';
import { AudiogenError, checkOutputTarget, isStdoutTarget } from '@audiogen/core';
import { writeTfliteFile } from '@audiogen/core/tflite';
import type { Command } from 'commander';
import { createReporter, progressMode } from '../progress';

export interface ConvertOptions {
  out?: string;
  randomWeights?: boolean;
  tiny?: boolean;
  seed?: string;
  checkpoint?: string;
  config?: string;
  t5?: string;
  armCompatible?: boolean;
  encoder?: boolean;
  fp16Weights?: boolean;
  /** Latent frames the decoder is planned for (a window; default a whole clip's). */
  decoderFrames?: string;
  ignoreExtraKeys?: boolean;
  spiece?: string;
  json?: boolean;
  shape?: string[];
  /** Also write the precisions of a folder preset (auto: int8 DiT; fast: + int8 decoder) beside the float files. */
  precisions?: string;
  progress?: boolean;
  quiet?: boolean;
}

export interface ConvertDeps {
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

const FAMILIES = ['stable-audio-open-small', 'stable-audio-open'];

/** Parses `--shape name=1x64x256` options. */
export function parseShapes(list: string[] = []): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  for (const s of list) {
    const m = /^([^=]+)=(\d+(?:x\d+)*)$/.exec(s);
    if (!m)
      throw new AudiogenError('INVALID_ARGUMENT', `--shape ${s}: expected name=DxDxD (e.g. x=1x64x256)`);
    shapes[m[1]!] = m[2]!.split('x').map(Number);
  }
  return shapes;
}

async function runOnnx(
  source: string,
  opts: ConvertOptions,
  out: (t: string) => void,
  err: (t: string) => void,
): Promise<FolderResult> {
  const target = opts.out ?? source.replace(/\.onnx$/i, '.tflite');
  // A model written to stdout: our own lines go to stderr so they do not corrupt it.
  if (isStdoutTarget(await checkOutputTarget(target, { inputs: [source] }))) out = err;
  const reporter = createReporter(progressMode(opts), { write: err });
  const graph = convertOnnxFile(source, {
    shapes: parseShapes(opts.shape),
    onProgress: (m, f) => reporter.message(m, f),
  });
  reporter.close();
  const rep = opReport(graph);
  await writeTfliteFile(target, graph, { inputs: [source] });
  const info = { path: target, bytes: rep.constantBytes, ops: rep.operators, builtinOps: rep.builtin };
  if (opts.json) out(JSON.stringify(info, null, 2));
  else {
    out(`wrote ${target}: ${rep.operators} ops, ${(rep.constantBytes / 1e6).toFixed(1)} MB of constants`);
    if (Object.keys(rep.builtin).length) out(`  not on XNNPACK: ${JSON.stringify(rep.builtin)}`);
  }
  return { dir: target, files: { model: info }, config: undefined as never };
}

/** Runs `audiogen convert`. */
export async function runConvert(
  source: string,
  opts: ConvertOptions,
  deps: ConvertDeps = {},
): Promise<FolderResult> {
  const out = deps.stdout ?? ((t: string) => process.stdout.write(`${t}\n`));
  const err = deps.stderr ?? ((t: string) => process.stderr.write(`${t}\n`));
  if (source.toLowerCase().endsWith('.onnx')) return runOnnx(source, opts, out, err);
  if (!FAMILIES.includes(source)) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `unknown source "${source}": use stable-audio-open-small (with --random-weights or --checkpoint)`,
    );
  }
  if (!opts.out) throw new AudiogenError('INVALID_ARGUMENT', '--out <dir> is required');
  const { STABLE_AUDIO_VARIANT_PRESETS, quantizeFolderVariants } = await import('@audiogen/quantize');
  if (opts.precisions !== undefined && !(opts.precisions in STABLE_AUDIO_VARIANT_PRESETS)) {
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `--precisions must be one of ${Object.keys(STABLE_AUDIO_VARIANT_PRESETS).join(', ')} (got ${opts.precisions})`,
    );
  }
  const t0 = Date.now();
  const reporter = createReporter(progressMode(opts), { write: deps.stderr });
  const onProgress = (m: string, f?: number) => reporter.message(m, f);
  const common = {
    out: opts.out,
    encoder: opts.encoder !== false,
    armCompatible: !!opts.armCompatible,
    fp16Weights: !!opts.fp16Weights,
    ...(opts.decoderFrames !== undefined ? { decoderPlannedFrames: Number(opts.decoderFrames) } : {}),
    ...(opts.spiece ? { spiece: opts.spiece } : {}),
    onProgress,
  };
  let result: FolderResult;
  if (opts.randomWeights) {
    if (opts.checkpoint)
      throw new AudiogenError('INVALID_ARGUMENT', 'use either --random-weights or --checkpoint');
    const seed = opts.seed === undefined ? 0 : Number(opts.seed);
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new AudiogenError('INVALID_ARGUMENT', `--seed must be a non-negative integer (got ${opts.seed})`);
    }
    result = await writeRandomStableAudioFolder({ ...common, tiny: !!opts.tiny, seed });
    err('note: random weights produce noise, not music (a smoke test / benchmark model)');
  } else if (opts.checkpoint) {
    if (!opts.t5) {
      throw new AudiogenError(
        'INVALID_ARGUMENT',
        '--t5 <dir> (a Hugging Face t5-base folder) is required with --checkpoint',
      );
    }
    if (opts.tiny) throw new AudiogenError('INVALID_ARGUMENT', '--tiny applies to --random-weights only');
    result = await convertStableAudioCheckpoint({
      ...common,
      checkpoint: opts.checkpoint,
      t5: opts.t5,
      ...(opts.config ? { config: opts.config } : {}),
      ignoreExtraKeys: !!opts.ignoreExtraKeys,
    });
  } else {
    throw new AudiogenError('INVALID_ARGUMENT', 'give --random-weights or --checkpoint <model.safetensors>');
  }
  if (opts.precisions) {
    for (const v of await quantizeFolderVariants(result.dir, opts.precisions, { onProgress, force: true })) {
      const name = basename(v.out);
      if (v.report)
        result.files[name.replace(/\.tflite$/, '')] = {
          path: v.out,
          bytes: v.report.quantizedBytes,
          ops: v.report.summary.quantizedOps,
          builtinOps: {},
        };
    }
  }
  reporter.close();
  if (opts.json) out(JSON.stringify({ dir: result.dir, files: result.files }, null, 2));
  else {
    out(`wrote ${result.dir} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    for (const [k, f] of Object.entries(result.files)) {
      if (f.ops) out(`  ${k.padEnd(13)} ${(f.bytes / 1e6).toFixed(1).padStart(8)} MB  ${f.ops} ops`);
    }
  }
  return result;
}

export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description(
      'Build .tflite models: `stable-audio-open-small --random-weights [--tiny] --out DIR`, from a checkpoint, or `model.onnx --out model.tflite`',
    )
    .argument('<source>', 'stable-audio-open-small (model family), or a model.onnx file')
    .option('-o, --out <dir>', 'output model folder')
    .option('--random-weights', 'seeded random weights (noise: a smoke test and benchmark model)', false)
    .option('--tiny', 'tiny configuration (same structure, small widths), with --random-weights', false)
    .option('--seed <n>', 'seed for --random-weights', '0')
    .option('--checkpoint <file>', 'Stable Audio checkpoint (model.safetensors)')
    .option('--config <file>', "the checkpoint's model_config.json")
    .option('--t5 <dir>', 'Hugging Face t5-base folder (model.safetensors, config.json, spiece.model)')
    .option('--arm-compatible', "DiT as Arm's export: global token = timestep embedding only", false)
    .option('--no-encoder', 'skip the VAE encoder (audio-to-audio)')
    .option('--fp16-weights', 'store weights as fp16 (compute stays fp32)', false)
    .option(
      '--decoder-frames <n>',
      'latent frames the decoder is planned for: fewer than a clip (e.g. 138 of 256) decodes in windows, less memory, ~8% more decoder time',
    )
    .option(
      '--precisions <preset>',
      'also write int8 variants beside the float files for generate --precision: auto (dit_model.int8.tflite) or fast (+ autoencoder_model.int8.tflite)',
    )
    .option('--ignore-extra-keys', 'do not fail on checkpoint keys no model uses', false)
    .option('--spiece <file>', 'SentencePiece model to copy into the folder')
    .option('--no-progress', 'no progress bars or lines')
    .option('-q, --quiet', 'no progress', false)
    .option('--json', 'print the result as JSON', false)
    .option(
      '--shape <name=DxD...>',
      'ONNX: fix an input shape (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .action(async (source: string, opts: ConvertOptions) => {
      await runConvert(source, opts);
    });
}
