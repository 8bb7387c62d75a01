import {
  AudiogenError,
  isAudiogenError,
  type LoadOptions,
  type Model,
  type Runtime,
  type SignatureInfo,
  type TensorInfo,
} from '@audiogen/core';
import { inspectTfliteFile, type TensorSummary, tensorTypeToDType } from '@audiogen/core/tflite';

/**
 * A `Model` that has only the tensor tables of a file (names, dtypes, shapes) and no weights:
 * adapters can bind and check it, but it cannot run. The low-memory pipeline validates a folder
 * with these without keeping any model loaded.
 */
export class UnloadedModel implements Model {
  readonly disposed = false;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];

  constructor(
    readonly label: string,
    readonly signatures: readonly SignatureInfo[],
  ) {
    this.inputs = signatures[0]!.inputs;
    this.outputs = signatures[0]!.outputs;
  }

  async run(): Promise<Record<string, never>> {
    throw new AudiogenError(
      'UNSUPPORTED',
      `${this.label} is not loaded: with residency 'stage' the pipeline loads each model only for its stage ` +
        "of generate(); use generate(), or residency 'all' to call the adapters directly",
    );
  }

  dispose(): void {}
}

function info(t: TensorSummary, input: boolean): TensorInfo {
  // As a runtime reports them: inputs keep open (-1) dims, outputs have the planned static shape.
  const open = input && t.shape_signature?.some((d) => d < 0);
  return {
    name: t.name,
    dtype: tensorTypeToDType(t.type),
    shape: [...(open ? t.shape_signature! : t.shape)],
  };
}

/**
 * Reads a .tflite file's signatures from its tables only (never its weights: a few ms to a second
 * even for a multi-GB model), in the file's order: `inputs`/`outputs` are the first signature's, as a
 * runtime reports them.
 */
export function readModelInfo(path: string, label: string): UnloadedModel {
  const ins = inspectTfliteFile(path);
  let sigs: SignatureInfo[] = ins.signatures.map((s) => ({
    key: s.key,
    inputs: s.inputs.map((t) => info(t, true)),
    outputs: s.outputs.map((t) => info(t, false)),
  }));
  if (sigs.length === 0) {
    sigs = [
      {
        key: 'serving_default',
        inputs: ins.inputs.map((t) => info(t, true)),
        outputs: ins.outputs.map((t) => info(t, false)),
      },
    ];
  }
  return new UnloadedModel(label, sigs);
}

/**
 * The tensor tables of a model file, for checking a folder without keeping models loaded: read
 * from the .tflite tables when core's reader can (no weights touched), otherwise (a file core's reader
 * does not take, e.g. another runtime's format) loaded through the runtime, copied and disposed at once.
 * `onLoad` hears about a fallback load (its milliseconds).
 */
export async function describeModel(
  runtime: Runtime,
  path: string,
  label: string,
  loadOptions: LoadOptions,
  onLoad?: (ms: number | undefined) => void,
): Promise<UnloadedModel> {
  try {
    return readModelInfo(path, label);
  } catch (e) {
    if (!isAudiogenError(e, 'INVALID_TFLITE')) throw e;
  }
  onLoad?.(undefined);
  const t0 = performance.now();
  const m = await runtime.load(path, { ...loadOptions, label });
  try {
    const sigs = m.signatures.length
      ? m.signatures
      : [{ key: 'serving_default', inputs: m.inputs, outputs: m.outputs }];
    return new UnloadedModel(
      label,
      sigs.map((s) => ({
        key: s.key,
        inputs: s.inputs.map((t) => ({ ...t, shape: [...t.shape] })),
        outputs: s.outputs.map((t) => ({ ...t, shape: [...t.shape] })),
      })),
    );
  } finally {
    if (!m.disposed) m.dispose();
    onLoad?.(performance.now() - t0);
  }
}
