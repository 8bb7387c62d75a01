import {
  AudiogenError,
  checkOutputTargets,
  isStdoutTarget,
  readInputFile,
  type Tensor,
  writeFileAtomic,
} from '@audiogen/core';
import { readTflite } from '@audiogen/core/tflite';
import {
  type ComparisonResult,
  compare,
  comparisonHtml,
  listRecipes,
  loadRecipe,
  METRICS,
  type MetricName,
  modelExplorerOverlay,
  type QuantizeReport,
  quantizeFile,
  quantizeModelFolder,
  STABLE_AUDIO_PRESETS,
  STABLE_AUDIO_VARIANT_PRESETS,
} from '@audiogen/quantize';
import type { Command } from 'commander';
import { readNpzFile } from '../files';
import { createReporter, progressMode } from '../progress';

export interface QuantizeCliOptions {
  out?: string;
  recipe?: string;
  report?: string;
  overlay?: string;
  chart?: string;
  metric?: string;
  inputs?: string;
  threads?: string;
  listRecipes?: boolean;
  preset?: string;
  json?: boolean;
  /** With a folder preset: per-layer sensitivity of the decoder and the preset's output-audio error. */
  compare?: boolean;
  force?: boolean;
  progress?: boolean;
  quiet?: boolean;
}

export interface QuantizeCliResult {
  report: QuantizeReport & { floatBytes: number; quantizedBytes: number; sizeRatio: number };
  comparison?: ComparisonResult;
}

/** Runs `audiogen quantize`. */
export async function runQuantize(
  input: string | undefined,
  opts: QuantizeCliOptions,
  deps: { stdout?: (t: string) => void; stderr?: (t: string) => void } = {},
): Promise<QuantizeCliResult | undefined> {
  let out = deps.stdout ?? ((t: string) => process.stdout.write(`${t}\n`));
  const reporter = createReporter(progressMode(opts), { write: deps.stderr });
  if (opts.listRecipes) {
    for (const r of listRecipes()) out(`${r.name.padEnd(30)} ${r.description}`);
    return undefined;
  }
  if (!input)
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      'give the input model: audiogen quantize in.tflite --out out.tflite --recipe NAME|recipe.json',
    );
  if (opts.preset && !opts.out && opts.preset in STABLE_AUDIO_VARIANT_PRESETS) {
    const { runFolderVariants } = await import('./quantize-folder');
    try {
      await runFolderVariants(input, opts, { out, reporter });
    } finally {
      reporter.close();
    }
    return undefined;
  }
  if (!opts.out)
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      `--out <file.tflite> is required (or --preset ${Object.keys(STABLE_AUDIO_VARIANT_PRESETS).join('|')} to add precisions to a folder in place)`,
    );
  // Every output checked (writable, distinct, none of the inputs) before the model is read.
  const targets = await checkOutputTargets(
    [
      { path: opts.out, kind: opts.preset ? 'folder' : 'file' },
      { path: opts.report },
      { path: opts.overlay },
      { path: opts.chart },
    ],
    { inputs: [input, opts.recipe, opts.inputs] },
  );
  // A model or report written to stdout: our own lines go to stderr so they do not corrupt it.
  if (targets.some(isStdoutTarget)) out = deps.stderr ?? ((t: string) => process.stderr.write(`${t}\n`));
  if (opts.preset) {
    // A Stable Audio model folder with a per-component preset.
    const reports = await quantizeModelFolder(input, opts.out, opts.preset, {
      onProgress: (m, f) => reporter.message(m, f),
    });
    reporter.close();
    for (const [name, r] of Object.entries(reports)) {
      out(
        `${name}: ${(r.floatBytes / 1e6).toFixed(1)} MB → ${(r.quantizedBytes / 1e6).toFixed(1)} MB (×${r.sizeRatio.toFixed(3)}), ${r.summary.quantizedOps} ops quantized`,
      );
    }
    return undefined;
  }
  if (!opts.recipe)
    throw new AudiogenError(
      'INVALID_ARGUMENT',
      '--recipe <name|recipe.json> is required (see --list-recipes)',
    );
  const metric = (opts.metric ?? 'mse') as MetricName;
  if (!(METRICS as readonly string[]).includes(metric)) {
    throw new AudiogenError('INVALID_ARGUMENT', `--metric must be one of ${METRICS.join(', ')}`);
  }
  const threads = opts.threads === undefined ? undefined : Number(opts.threads);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new AudiogenError('INVALID_ARGUMENT', `--threads must be a positive integer (got ${opts.threads})`);
  }
  const recipe = await loadRecipe(opts.recipe);
  const t0 = Date.now();
  // Checked before the work: the comparison inputs.
  const npz =
    opts.inputs && opts.inputs !== 'random' ? await readNpzFile('--inputs', opts.inputs) : undefined;
  const onProgress = (m: string, f?: number) => reporter.message(m, f);
  const report = await quantizeFile(input, opts.out, recipe, { onProgress });
  const result: QuantizeCliResult = { report };
  const wantCompare = !!(opts.overlay || opts.chart || opts.inputs);
  if (wantCompare) {
    const samples: Record<string, Tensor>[] | 'random' = npz ? [npz] : 'random';
    reporter.message(`compare: with the float model (${npz ? opts.inputs : 'random inputs'})`);
    const { createNativeRuntime } = await import('@audiogen/runtime-native');
    const floatGraph = readTflite(await readInputFile(input, { what: 'model file' }));
    const quantBytes = await readInputFile(opts.out, { what: 'quantized model' });
    result.comparison = await compare(floatGraph, quantBytes, samples, createNativeRuntime(), {
      ...(threads ? { threads } : {}),
    });
    if (opts.overlay) {
      await writeFileAtomic(
        opts.overlay,
        new TextEncoder().encode(JSON.stringify(modelExplorerOverlay(result.comparison, metric))),
      );
    }
    if (opts.chart) {
      await writeFileAtomic(
        opts.chart,
        new TextEncoder().encode(
          comparisonHtml(result.comparison, { metric: opts.metric ? metric : 'cosine_similarity' }),
        ),
      );
    }
  }
  reporter.close();
  if (opts.report) {
    const doc = { ...(result.comparison ?? {}), quantization: report };
    await writeFileAtomic(opts.report, new TextEncoder().encode(JSON.stringify(doc, null, 1)));
  }
  if (opts.json) {
    out(
      JSON.stringify(
        {
          ...report.summary,
          floatBytes: report.floatBytes,
          quantizedBytes: report.quantizedBytes,
          sizeRatio: report.sizeRatio,
          warnings: report.warnings,
        },
        null,
        2,
      ),
    );
  } else {
    const s = report.summary;
    out(
      `wrote ${opts.out}: ${(report.floatBytes / 1e6).toFixed(2)} MB → ${(report.quantizedBytes / 1e6).toFixed(2)} MB (×${report.sizeRatio.toFixed(3)}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    out(
      `  quantized ops: ${s.quantizedOps} (dynamic range ${s.quantizedByMode.dynamic_range}, weight-only ${s.quantizedByMode.weight_only}, fp16 ${s.quantizedByMode.float16}); DEQUANTIZE added: ${s.dequantizeOpsAdded}`,
    );
    const skipped = Object.entries(s.skippedByOp).map(([k, v]) => `${k}×${v}`);
    if (skipped.length) out(`  skipped ops: ${skipped.join(', ')} (details with --report)`);
    for (const w of report.warnings) out(`  warning: ${w}`);
    if (result.comparison) {
      for (const [k, v] of Object.entries(result.comparison)) {
        if (typeof v !== 'object') continue;
        for (const [name, m] of Object.entries(v.output_tensors)) {
          out(
            `  output ${k}/${name}: ${Object.entries(m)
              .map(([a, b]) => `${a}=${b.toPrecision(4)}`)
              .join(' ')}`,
          );
        }
      }
    }
  }
  return result;
}

export function registerQuantize(program: Command): void {
  program
    .command('quantize')
    .description('Quantize a .tflite model with an AI Edge Quantizer recipe (built-in name or recipe.json)')
    .argument('[input]', 'float .tflite model')
    .option('-o, --out <file>', 'output .tflite (written atomically)')
    .option('-r, --recipe <name|file>', 'built-in recipe name (see --list-recipes) or an AEQ recipe .json')
    .option(
      '--report <file>',
      'JSON report: skipped ops and, with a comparison, AEQ-layout metrics per tensor',
    )
    .option('--overlay <file>', 'Model Explorer overlay JSON of --metric per tensor (runs the comparison)')
    .option('--chart <file>', 'self-contained HTML chart of the error per tensor (runs the comparison)')
    .option('--metric <name>', `metric for overlay/chart: ${METRICS.join(', ')}`)
    .option('--inputs <file|random>', 'comparison inputs: .npz keyed by signature input name, or random')
    .option('--threads <n>', 'threads for the comparison runs')
    .option(
      '--preset <name>',
      `Stable Audio model folder presets. In place (no --out): ${Object.keys(STABLE_AUDIO_VARIANT_PRESETS).join(', ')} ` +
        '(auto: dit_model.int8.tflite; fast: + autoencoder_model.int8.tflite, the int8 decoder preset) beside the float files, ' +
        `for generate --precision. Into a new folder (--out): ${Object.keys(STABLE_AUDIO_PRESETS).join(', ')}`,
    )
    .option(
      '--compare',
      'with an in-place preset: per-layer sensitivity of the decoder (each layer int8 alone vs float), the ' +
        "preset's output-audio SNR/cosine vs float, and the overlay (--overlay) and chart (--chart)",
      false,
    )
    .option('--force', 'with an in-place preset: rewrite variants that are up to date', false)
    .option('--list-recipes', 'list built-in recipes and exit', false)
    .option('--no-progress', 'no progress bars or lines')
    .option('-q, --quiet', 'no progress', false)
    .option('--json', 'print the summary as JSON', false)
    .action(async (input: string | undefined, opts: QuantizeCliOptions) => {
      await runQuantize(input, opts);
    });
}
