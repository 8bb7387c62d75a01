// `audiogen quantize <folder> --preset auto|fast [--compare]`: extra precisions written beside the float files.
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { AudiogenError, checkOutputTargets, type Runtime, writeFileAtomic } from '@audiogen/core';
import { inspectTfliteFile, readTflite } from '@audiogen/core/tflite';
import {
  comparisonHtml,
  computeMetrics,
  type LayerSensitivity,
  layerSensitivity,
  loadRecipe,
  METRICS,
  type MetricName,
  modelExplorerOverlay,
  quantizeFolderVariants,
  quantizeGraph,
  randomInputs,
  type VariantReport,
} from '@audiogen/quantize';
import type { Reporter } from '../progress';
import type { QuantizeCliOptions } from './quantize';

type Print = { out: (t: string) => void; reporter: Reporter };

const db = (snr: number) => (10 * Math.log10(snr)).toFixed(1);

async function readGraph(path: string) {
  return readTflite(new Uint8Array(await readFile(path)));
}

/** Output SNR / cosine of a variant against its float file on seeded random inputs (outputs only). */
async function outputError(runtime: Runtime, floatPath: string, variantPath: string, threads?: number) {
  const opts = { ...(threads ? { threads } : {}) };
  const f = await runtime.load(floatPath, { ...opts, label: basename(floatPath) });
  let inputs: ReturnType<typeof randomInputs>;
  let ref: Awaited<ReturnType<typeof f.run>>;
  try {
    // Open dims (the decoder's frames) at the size the file plans: a full-length decode.
    const planned = Object.fromEntries(
      (inspectTfliteFile(floatPath).signatures[0]?.inputs ?? []).map((i) => [i.name, i.shape]),
    );
    inputs = randomInputs(f, 0, undefined, planned);
    ref = await f.run(inputs);
  } finally {
    f.dispose();
  }
  const v = await runtime.load(variantPath, { ...opts, label: basename(variantPath) });
  try {
    const got = await v.run(inputs);
    const [name, r] = Object.entries(ref)[0]!;
    return computeMetrics(got[name]!.data as Float32Array, r.data as Float32Array, [
      'snr',
      'cosine_similarity',
    ]);
  } finally {
    v.dispose();
  }
}

function layerTable(layers: readonly LayerSensitivity[], floatKept: ReadonlySet<string>): string[] {
  const rows = [
    'rank  layer                                         op              alone-int8 SNR dB  cosine      preset',
  ];
  for (const [i, l] of layers.entries()) {
    rows.push(
      `${String(i + 1).padStart(4)}  ${l.tensor.padEnd(45)} ${l.op.padEnd(15)} ${l.snrDb.toFixed(1).padStart(17)}  ${(l.metrics.cosine_similarity ?? Number.NaN).toFixed(6)}  ${floatKept.has(l.scope) ? 'float' : 'int8'}`,
    );
  }
  return rows;
}

export async function runFolderVariants(
  dir: string,
  opts: QuantizeCliOptions,
  p: Print,
): Promise<VariantReport[]> {
  const threads = opts.threads === undefined ? undefined : Number(opts.threads);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1))
    throw new AudiogenError('INVALID_ARGUMENT', `--threads must be a positive integer (got ${opts.threads})`);
  const metric = (opts.metric ?? 'mse') as MetricName;
  if (!(METRICS as readonly string[]).includes(metric))
    throw new AudiogenError('INVALID_ARGUMENT', `--metric must be one of ${METRICS.join(', ')}`);
  const overlay = opts.overlay ?? join(dir, 'autoencoder_model.int8.overlay.json');
  const chart = opts.chart ?? join(dir, 'autoencoder_model.int8.chart.html');
  if (opts.compare) await checkOutputTargets([{ path: overlay }, { path: chart }], { inputs: [dir] });
  const rows = await quantizeFolderVariants(dir, opts.preset!, {
    force: !!opts.force,
    onProgress: (m, f) => p.reporter.message(m, f),
  });
  for (const r of rows) {
    const what = `${basename(r.source)} → ${basename(r.out)} (${r.recipe})`;
    if (r.report)
      p.out(
        `${what}: ${(r.report.floatBytes / 1e6).toFixed(1)} MB → ${(r.report.quantizedBytes / 1e6).toFixed(1)} MB, ${r.report.summary.quantizedOps} ops int8`,
      );
    else p.out(`${what}: ${r.status}`);
  }
  if (!opts.compare) return rows;
  const { createNativeRuntime } = await import('@audiogen/runtime-native');
  const runtime = createNativeRuntime();
  for (const r of rows) {
    if (r.status !== 'written' && r.status !== 'up-to-date') continue;
    p.reporter.message(`compare: ${basename(r.out)} with ${basename(r.source)} (random inputs)`);
    const m = await outputError(runtime, r.source, r.out, threads);
    p.out(
      `${basename(r.out)} vs ${basename(r.source)}: output SNR ${db(m.snr!)} dB, cosine ${m.cosine_similarity!.toFixed(6)}`,
    );
  }
  // The decoder preset keeps its most error-sensitive layers float: show the per-layer evidence.
  const dec = rows.find((r) => basename(r.source) === 'autoencoder_model.tflite' && r.status !== 'no-source');
  if (!dec || dec.status === 'source-not-float') return rows;
  const graph = await readGraph(dec.source);
  const preset = await loadRecipe(dec.recipe);
  const kept = new Set(
    quantizeGraph(graph, await loadRecipe('sao-decoder-int8')).report.quantized.map((q) => q.scope),
  );
  for (const q of quantizeGraph(graph, preset).report.quantized) kept.delete(q.scope);
  p.reporter.message(`sensitivity: ${basename(dec.source)}, one model run per layer`);
  const sens = await layerSensitivity(graph, await loadRecipe('sao-decoder-int8'), 'random', runtime, {
    ...(threads ? { threads } : {}),
    onProgress: (m, f) => p.reporter.message(`sensitivity: ${m}`, f),
  });
  for (const l of layerTable(sens.layers, kept)) p.out(l);
  await writeFileAtomic(
    overlay,
    new TextEncoder().encode(JSON.stringify(modelExplorerOverlay(sens.comparison, metric))),
  );
  await writeFileAtomic(
    chart,
    new TextEncoder().encode(
      comparisonHtml(sens.comparison, {
        metric: opts.metric ? metric : 'cosine_similarity',
        title: 'decoder: output error with one layer int8 at a time',
      }),
    ),
  );
  p.out(`wrote ${overlay} (Model Explorer overlay, ${metric}) and ${chart}`);
  return rows;
}
