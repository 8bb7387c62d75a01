import { AudiogenError } from '@audiogen/core';
import type { Graph, Subgraph, TensorTypeName } from './graph';
import { type BufferLayout, readTflite, readTfliteStructure } from './read';

export interface TensorSummary {
  /** Signature name for signature entries, else the tensor name. */
  name: string;
  /** The subgraph tensor's own name (differs from `name` in signatures). */
  tensor: string;
  index: number;
  type: TensorTypeName;
  shape: number[];
  /** With -1 for dynamic dims, when it differs from shape. */
  shape_signature?: number[];
}

export interface TfliteInspection {
  version: number;
  description: string;
  subgraphs: { name: string; tensors: number; operators: number }[];
  /** Operator name → count over all subgraphs (custom ops as `CUSTOM:<code>`). */
  ops: Record<string, number>;
  /** Tensor type → number of tensors over all subgraphs. */
  tensorTypes: Record<string, number>;
  /** Constant data (each shared buffer counted once): elements and bytes per type, and totals. */
  parameters: { count: number; bytes: number; byType: Record<string, { count: number; bytes: number }> };
  inputs: TensorSummary[];
  outputs: TensorSummary[];
  signatures: { key: string; subgraph: number; inputs: TensorSummary[]; outputs: TensorSummary[] }[];
  metadata: { name: string; bytes: number; text?: string }[];
}

function summary(sg: Subgraph, index: number, name?: string): TensorSummary {
  const t = sg.tensors[index];
  if (!t) throw new AudiogenError('INVALID_ARGUMENT', `tensor index ${index} out of range`);
  const s: TensorSummary = { name: name ?? t.name, tensor: t.name, index, type: t.type, shape: [...t.shape] };
  if (t.shape_signature) s.shape_signature = [...t.shape_signature];
  return s;
}

function elementCount(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= Math.max(d, 0);
  return n;
}

/** Summarises a model: op histogram, tensor types, parameters per dtype, inputs/outputs/signatures. */
export function inspectTflite(model: Uint8Array | Graph): TfliteInspection {
  const g = model instanceof Uint8Array ? readTflite(model) : model;
  if (!g || !Array.isArray(g.subgraphs)) {
    throw new AudiogenError('INVALID_ARGUMENT', 'inspectTflite needs .tflite bytes or a Graph');
  }
  return summarise(g);
}

/** Inspects a .tflite file on disk without loading its constant data (fine for multi-GB models). */
export function inspectTfliteFile(path: string): TfliteInspection {
  const { graph, layout } = readTfliteStructure(path);
  return summarise(graph, layout);
}

function summarise(g: Graph, layout?: BufferLayout): TfliteInspection {
  const ops: Record<string, number> = {};
  const tensorTypes: Record<string, number> = {};
  const byType: Record<string, { count: number; bytes: number }> = {};
  const seen = new Set<unknown>();
  let count = 0;
  let bytes = 0;
  g.subgraphs.forEach((sg, si) => {
    for (const op of sg.operators) {
      const k = op.op === 'CUSTOM' && op.custom_code ? `CUSTOM:${op.custom_code}` : op.op;
      ops[k] = (ops[k] ?? 0) + 1;
    }
    sg.tensors.forEach((t, ti) => {
      tensorTypes[t.type] = (tensorTypes[t.type] ?? 0) + 1;
      let key: unknown = t.data;
      let size = t.data?.length ?? 0;
      if (layout) {
        key = layout.tensorBuffers[si]?.[ti] ?? 0;
        size = key ? (layout.bufferSizes[key as number] ?? 0) : 0;
      }
      if (!key || size === 0 || seen.has(key)) return;
      seen.add(key);
      const n = elementCount(t.shape);
      const e = byType[t.type] ?? { count: 0, bytes: 0 };
      e.count += n;
      e.bytes += size;
      byType[t.type] = e;
      count += n;
      bytes += size;
    });
  });
  const main = g.subgraphs[0] as Subgraph;
  const dec = new TextDecoder();
  return {
    version: g.version,
    description: g.description,
    subgraphs: g.subgraphs.map((s) => ({
      name: s.name,
      tensors: s.tensors.length,
      operators: s.operators.length,
    })),
    ops: Object.fromEntries(Object.entries(ops).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
    tensorTypes,
    parameters: { count, bytes, byType },
    inputs: main.inputs.map((i) => summary(main, i)),
    outputs: main.outputs.map((i) => summary(main, i)),
    signatures: g.signatures.map((s) => {
      const sg = g.subgraphs[s.subgraph_index] as Subgraph;
      return {
        key: s.signature_key,
        subgraph: s.subgraph_index,
        inputs: s.inputs.map((m) => summary(sg, m.tensor_index, m.name)),
        outputs: s.outputs.map((m) => summary(sg, m.tensor_index, m.name)),
      };
    }),
    metadata: g.metadata.map((m) => {
      const e: { name: string; bytes: number; text?: string } = { name: m.name, bytes: m.data.length };
      if (m.name === 'min_runtime_version') e.text = dec.decode(m.data).replace(/\0+$/, '');
      return e;
    }),
  };
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

function fmtTensor(t: TensorSummary): string {
  const shape = `[${(t.shape_signature ?? t.shape).join(',')}]`;
  const tn = t.tensor && t.tensor !== t.name ? `  (${t.tensor})` : '';
  return `    ${t.name.padEnd(32)} ${t.type.padEnd(8)} ${shape}${tn}`;
}

/** A human-readable report of an inspection (what `audiogen inspect` prints). */
export function formatInspection(ins: TfliteInspection): string {
  const lines: string[] = [];
  lines.push(`schema version ${ins.version}${ins.description ? `, "${ins.description}"` : ''}`);
  lines.push(
    `subgraphs: ${ins.subgraphs.length} (${ins.subgraphs.map((s, i) => `#${i}${s.name ? ` ${s.name}` : ''}: ${s.operators} ops, ${s.tensors} tensors`).join('; ')})`,
  );
  lines.push(
    `parameters: ${ins.parameters.count.toLocaleString('en-US')} in ${fmtBytes(ins.parameters.bytes)}`,
  );
  for (const [t, e] of Object.entries(ins.parameters.byType)) {
    lines.push(`    ${t.padEnd(10)} ${e.count.toLocaleString('en-US').padStart(16)}  ${fmtBytes(e.bytes)}`);
  }
  lines.push('operators:');
  for (const [op, n] of Object.entries(ins.ops)) lines.push(`    ${op.padEnd(32)} ${String(n).padStart(6)}`);
  lines.push(
    `tensor types: ${Object.entries(ins.tensorTypes)
      .map(([t, n]) => `${t} ${n}`)
      .join(', ')}`,
  );
  lines.push('inputs:');
  for (const t of ins.inputs) lines.push(fmtTensor(t));
  lines.push('outputs:');
  for (const t of ins.outputs) lines.push(fmtTensor(t));
  for (const s of ins.signatures) {
    lines.push(`signature "${s.key}" (subgraph ${s.subgraph}):`);
    lines.push('  inputs:');
    for (const t of s.inputs) lines.push(`  ${fmtTensor(t)}`);
    lines.push('  outputs:');
    for (const t of s.outputs) lines.push(`  ${fmtTensor(t)}`);
  }
  if (ins.metadata.length) {
    lines.push(
      `metadata: ${ins.metadata.map((m) => `${m.name} (${m.text ?? fmtBytes(m.bytes)})`).join(', ')}`,
    );
  }
  return lines.join('\n');
}

/**
 * How a model stores its weights: the constant type holding the most bytes among FLOAT32, FLOAT16 and
 * INT8 (INT4 counted as int8); `undefined` when it has no float or integer weights.
 */
export function weightPrecision(ins: TfliteInspection): 'fp32' | 'fp16' | 'int8' | undefined {
  const b = (k: string) => ins.parameters.byType[k]?.bytes ?? 0;
  const cands: ['fp32' | 'fp16' | 'int8', number][] = [
    ['fp32', b('FLOAT32')],
    ['fp16', b('FLOAT16')],
    ['int8', b('INT8') + b('INT4')],
  ];
  cands.sort((x, y) => y[1] - x[1]);
  return cands[0]![1] > 0 ? cands[0]![0] : undefined;
}
