// LiteRT's own explanation of a failure must reach the AudiogenError (message + details.litert), the
// model must stay usable, and nothing LiteRT prints may be lost from stderr. Every case below makes the
// real LiteRT fail; the expected texts are what LiteRT prints for them on stderr without us (the same in 2.1.6 and 2.3.0).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AudiogenError, isAudiogenError, tensor } from '@audiogen/core';
import { type Graph, writeTflite } from '@audiogen/core/tflite';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAddon } from './native';
import { createNativeRuntime, type LiteRtErrorDetails, litertMessageLines } from './runtime';
import { canSpawnNode } from './test-child';
import { addGraph, blockwiseInt4Fc } from './test-models';

const dir = mkdtempSync(join(tmpdir(), 'audiogen-litert-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const f32 = (a: number[]) => new Uint8Array(Float32Array.from(a).buffer);
const sig = (inputs: [string, number][], outputs: [string, number][]) => [
  {
    signature_key: 'serving_default',
    subgraph_index: 0,
    inputs: inputs.map(([name, tensor_index]) => ({ name, tensor_index })),
    outputs: outputs.map(([name, tensor_index]) => ({ name, tensor_index })),
  },
];

/** ids int32 [2] → EMBEDDING_LOOKUP(table [4,3] = 0..11) → out [2,3]. LiteRT's kernel checks the ids. */
function embeddingModel(): Graph {
  return {
    version: 3,
    description: 'embedding lookup',
    metadata: [],
    subgraphs: [
      {
        name: 'main',
        tensors: [
          { name: 'ids', type: 'INT32', shape: [2] },
          { name: 'table', type: 'FLOAT32', shape: [4, 3], data: f32([...Array(12).keys()]) },
          { name: 'out', type: 'FLOAT32', shape: [2, 3] },
        ],
        inputs: [0],
        outputs: [2],
        operators: [{ op: 'EMBEDDING_LOOKUP', builtin_code: 7, version: 1, inputs: [0, 1], outputs: [2] }],
      },
    ],
    signatures: sig([['ids', 0]], [['out', 2]]),
  };
}

/** x [-1,4] + y [-1,4] → z: both dims open, so shapes that do not broadcast reach LiteRT. */
const dynamicAddModel = (): Graph => addGraph([1, 4], 'dynamic add', [-1, 4]);

// x [1,4] → ADD/MUL(x, x) of an op version LiteRT does not have (shared with scripts/check-fixtures.mjs).
const errorModels = new URL('../scripts/error-models.mjs', import.meta.url).href;
const { unknownVersionModel } = (await import(errorModels)) as {
  unknownVersionModel: (op: 'ADD' | 'MUL', version: number) => Graph;
};

/** The blockwise int4 FC with one block scale of 0: XNNPACK refuses it. */
const zeroScaleModel = (): Graph =>
  blockwiseInt4Fc(Array.from({ length: 16 }, (_, i) => (i === 5 ? 0 : 0.0625)));

/**
 * x [1,4] → STABLEHLO_COMPOSITE 'odml.square' (decomposition: MUL(a, a)) → y. Our runtime options (the
 * buffer error reporter) make LiteRT inline composites; the result must not change. Without
 * composite_attributes LiteRT refuses to build the interpreter.
 */
function compositeModel(withAttributes: boolean): Graph {
  const t = (name: string) => ({ name, type: 'FLOAT32' as const, shape: [1, 4] });
  return {
    version: 3,
    description: 'composite',
    metadata: [],
    subgraphs: [
      {
        name: 'main',
        tensors: [t('x'), t('y')],
        inputs: [0],
        outputs: [1],
        operators: [
          {
            op: 'STABLEHLO_COMPOSITE',
            builtin_code: 206,
            version: 1,
            inputs: [0],
            outputs: [1],
            options2: {
              type: 'StableHLOCompositeOptions',
              name: 'odml.square',
              decomposition_subgraph_index: 1,
              version: 0,
              // a FlexBuffer holding null
              ...(withAttributes ? { composite_attributes: new Uint8Array([0, 0, 1]) } : {}),
            },
          },
        ],
      },
      {
        name: 'decomposition',
        tensors: [t('a'), t('b')],
        inputs: [0],
        outputs: [1],
        operators: [
          {
            op: 'MUL',
            builtin_code: 18,
            version: 1,
            inputs: [0, 0],
            outputs: [1],
            options: { type: 'MulOptions' },
          },
        ],
      },
    ],
    signatures: sig([['x', 0]], [['y', 1]]),
  };
}

const files = {
  emb: join(dir, 'emb.tflite'),
  dynAdd: join(dir, 'dyn_add.tflite'),
  add99: join(dir, 'add_v99.tflite'),
  mul77: join(dir, 'mul_v77.tflite'),
  zeroScale: join(dir, 'zero_scale.tflite'),
  composite: join(dir, 'composite.tflite'),
  compositeNoAttrs: join(dir, 'composite_no_attrs.tflite'),
};
writeFileSync(files.emb, writeTflite(embeddingModel()));
writeFileSync(files.dynAdd, writeTflite(dynamicAddModel()));
writeFileSync(files.add99, writeTflite(unknownVersionModel('ADD', 99)));
writeFileSync(files.mul77, writeTflite(unknownVersionModel('MUL', 77)));
writeFileSync(files.zeroScale, writeTflite(zeroScaleModel()));
writeFileSync(files.composite, writeTflite(compositeModel(true)));
writeFileSync(files.compositeNoAttrs, writeTflite(compositeModel(false)));

const embLines = (id: number) => [
  `Embedding Lookup: index out of bounds. Got ${id}, and bounds are [0, 3]`,
  'Node number 0 (EMBEDDING_LOOKUP) failed to invoke.',
];
const versionLines = (op: string, v: number) => [
  `Didn't find op for builtin opcode '${op}' version '${v}'. An older version of this builtin might be supported. Are you using an old TFLite binary with a newer model?`,
  'Registration failed.',
];

async function failure(
  p: Promise<unknown>,
): Promise<AudiogenError & { details: { litert?: LiteRtErrorDetails } }> {
  try {
    await p;
  } catch (e) {
    if (!isAudiogenError(e)) throw e;
    return e as AudiogenError & { details: { litert?: LiteRtErrorDetails } };
  }
  throw new Error('expected a failure');
}

const rt = createNativeRuntime({ threads: 1 });
const ids = (a: number, b: number) => ({ ids: tensor('int32', [2], Int32Array.from([a, b])) });

describe("LiteRT's error text in AudiogenErrors", () => {
  it('a failed run carries what LiteRT reported; the next run works and starts clean', async () => {
    const m = await rt.load(files.emb);
    expect(m.loadMessages).toEqual([]);
    const e = await failure(m.run(ids(1, 9)));
    expect(e.code).toBe('RUNTIME_ERROR');
    expect(e.message).toBe(
      `${files.emb}: LiteRT RunCompiledModel failed with status 3 (runtime failure); LiteRT says: ` +
        embLines(9).join('; '),
    );
    expect(e.details.litert).toEqual({
      status: 3,
      statusName: 'runtime failure',
      op: 'RunCompiledModel',
      messages: embLines(9),
      source: 'error-reporter',
    });
    // Still usable, and rows 1 and 2 of the table come back.
    const out = await m.run(ids(1, 2));
    expect(Array.from(out.out!.data as Float32Array)).toEqual([3, 4, 5, 6, 7, 8]);
    // The next failure reports only its own text (the buffer was cleared after the first one).
    const e2 = await failure(m.run(ids(0, 5)));
    expect(e2.details.litert!.messages).toEqual(embLines(5));
    m.dispose();
  });

  it('a failed prepare at load carries the text (unresolved custom op; zero quantization scale)', async () => {
    const e = await failure(rt.load(fixture('custom_op.tflite')));
    expect(e.code).toBe('UNSUPPORTED_OPS');
    expect(e.details.litert).toEqual({
      status: 3,
      statusName: 'runtime failure',
      op: 'prepare (allocate tensors)',
      messages: [
        'Encountered unresolved custom op: AudiogenNoSuchOp.',
        'See instructions: https://www.tensorflow.org/lite/guide/ops_custom',
        'Node number 0 (AudiogenNoSuchOp) failed to prepare.',
        'Failed to allocate tensors for execution',
      ],
      source: 'error-reporter',
    });
    const z = await failure(rt.load(files.zeroScale));
    expect(z.code).toBe('UNSUPPORTED');
    expect(z.details.litert!.messages).toEqual([
      'unsupported scale value (0.000000) in channel 5 for INT4 tensor 1 in XNNPACK delegate',
      'unsupported datatype (INT4) of tensor 1 in XNNPACK delegate',
      'failed to create XNNPACK Value for tensor 1',
      'Node number 1 (TfLiteXNNPackDelegate) failed to prepare.',
      'Failed to allocate tensors for execution',
    ]);
    expect(z.message).toContain(
      'LiteRT says: unsupported scale value (0.000000) in channel 5 for INT4 tensor 1 in XNNPACK delegate',
    );
  });

  it('shapes LiteRT rejects after a resize carry its text; compatible shapes then run', async () => {
    const m = await rt.load(files.dynAdd);
    const x = tensor('float32', [2, 4], new Float32Array(8).fill(1));
    const y = tensor('float32', [3, 4], new Float32Array(12).fill(2));
    const e = await failure(m.run({ x, y }));
    expect(e.code).toBe('RUNTIME_ERROR');
    expect(e.details.litert).toMatchObject({
      status: 3,
      op: 'GetCompiledModelOutputTensorLayouts',
      source: 'error-reporter',
      messages: [
        'XNNPack delegate failed to reshape runtime',
        'Node number 1 (TfLiteXNNPackDelegate) failed to prepare.',
        'Failed to allocate tensors for execution',
      ],
    });
    const x3 = tensor(
      'float32',
      [3, 4],
      Float32Array.from({ length: 12 }, (_, i) => i),
    );
    const out = await m.run({ x: x3, y });
    expect(Array.from(out.z!.data as Float32Array)).toEqual(Array.from({ length: 12 }, (_, i) => i + 2));
    m.dispose();
  });

  it('a failed compile: the text LiteRT only prints is captured from stderr', async () => {
    const e = await failure(rt.load(files.add99));
    expect(e.code).toBe('UNSUPPORTED_OPS');
    expect(e.details.litert).toEqual({
      status: 3,
      statusName: 'runtime failure',
      op: 'CreateCompiledModel',
      messages: versionLines('ADD', 99),
      source: 'stderr',
    });
    expect(e.message).toContain(`LiteRT says: ${versionLines('ADD', 99).join('; ')}`);
    // Without the capture the error says what it said before (status only).
    const quiet = createNativeRuntime({ threads: 1, captureStderr: false });
    const q = await failure(quiet.load(files.add99));
    expect(q.details.litert).toMatchObject({ op: 'CreateCompiledModel', messages: [], source: 'none' });
    expect(q.message).not.toContain('LiteRT says');
    expect(() => createNativeRuntime({ captureStderr: 'yes' as unknown as boolean })).toThrow(/boolean/);
    const c = await failure(rt.load(files.compositeNoAttrs));
    expect(c.details.litert).toMatchObject({
      op: 'CreateCompiledModel',
      messages: ["'stablehlo.composite' missing required option 'composite_attributes'."],
      source: 'stderr',
    });
  });

  it('composites still compute what their decomposition says (runtime options inline them)', async () => {
    const m = await rt.load(files.composite);
    expect(m.loadMessages).toEqual([]);
    const out = await m.run({ x: tensor('float32', [1, 4], Float32Array.from([1, 2, 3, -4])) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([1, 4, 9, 16]);
    m.dispose();
  });

  it('concurrent failing loads each get their own text, and a concurrent good load is unaffected', async () => {
    const jobs = [files.add99, files.mul77, files.emb, files.add99, files.mul77, files.add99, files.mul77];
    const settled = await Promise.allSettled(jobs.map((f) => rt.load(f)));
    settled.forEach((r, i) => {
      if (jobs[i] === files.emb) {
        expect(r.status).toBe('fulfilled');
        if (r.status === 'fulfilled') r.value.dispose();
        return;
      }
      expect(r.status).toBe('rejected');
      const e = (r as PromiseRejectedResult).reason as AudiogenError;
      const want = jobs[i] === files.add99 ? versionLines('ADD', 99) : versionLines('MUL', 77);
      expect((e.details.litert as LiteRtErrorDetails).messages).toEqual(want);
    });
  });

  it('parses stderr text as TFLite prints it', () => {
    expect(
      litertMessageLines(
        'INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\nERROR: a\n\nWARNING: b\r\nplain \n',
        'stderr',
      ),
    ).toEqual(['a', 'WARNING: b', 'plain']);
    expect(litertMessageLines('x\n\ny\n', 'error-reporter')).toEqual(['x', 'y']);
    expect(litertMessageLines(undefined, 'stderr')).toEqual([]);
  });
});

// A separate process, so that what reaches the real fd 2 can be checked byte for byte.
const CHILD = `
const fs = require('node:fs');
const addon = require(process.argv[2]);
const [emb, add99] = process.argv.slice(3);
const toml = 'num_threads = 1\\n';
const mark = (s) => fs.writeSync(2, '@@' + s + '\\n');
const report = {};
(async () => {
  mark('good');
  const m = await addon.load({ path: emb, toml });
  report.good = Array.from(new Float32Array((await m.run(0, [Int32Array.from([3, 0])]))[0].data));
  report.loadMessages = m.loadMessages;
  mark('run');
  try { await m.run(0, [Int32Array.from([1, 9])]); } catch (e) { report.run = e.litertMessages; }
  mark('compile');
  try { await addon.load({ path: add99, toml }); } catch (e) { report.compile = e.litertStderr; }
  fs.writeSync(2, 'after the capture\\n');
  mark('quiet');
  const q = await addon.load({ path: emb, toml, echoErrors: false });
  try { await q.run(0, [Int32Array.from([7, 1])]); } catch (e) { report.quiet = e.litertMessages; }
  mark('big');
  report.big = addon._testStderrCapture(2000000);
  mark('end');
  process.stdout.write(JSON.stringify(report));
})();
`;

describe.skipIf(!canSpawnNode)('stderr (in a child process)', () => {
  it('nothing LiteRT prints is lost; a capture forwards everything and restores fd 2', {
    timeout: 60_000,
  }, () => {
    const script = join(dir, 'child.cjs');
    writeFileSync(script, CHILD);
    const r = spawnSync(process.execPath, [script, loadAddon().path, files.emb, files.add99], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      timeout: 50_000,
    });
    expect(r.status, r.stderr.slice(0, 2000)).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    const section = (name: string) => {
      const m = new RegExp(`@@${name}\\n([\\s\\S]*?)@@`).exec(r.stderr);
      return m ? m[1]! : 'missing section';
    };
    // Success path: what LiteRT always prints (XNNPACK's creation line), nothing else.
    expect(report.good).toEqual([9, 10, 11, 0, 1, 2]);
    expect(report.loadMessages).toBe('');
    expect(section('good')).toBe('INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n');
    // A failed run: in the error, and still printed as TFLite's reporter printed it.
    expect(report.run).toBe(`${embLines(9).join('\n')}\n`);
    expect(section('run')).toContain(
      embLines(9)
        .map((l) => `ERROR: ${l}\n`)
        .join(''),
    );
    // A failed compile: captured for the error, and forwarded to the real stderr.
    const printed = versionLines('ADD', 99)
      .map((l) => `ERROR: ${l}\n\n`)
      .join('');
    expect(report.compile).toBe(printed);
    expect(section('compile')).toBe(`${printed}after the capture\n`);
    // echoErrors: false keeps the reported text off stderr, but not out of the error.
    expect(report.quiet).toBe(`${embLines(7).join('\n')}\n`);
    expect(section('quiet')).not.toContain('Embedding Lookup');
    // 2 MB written under one capture (far more than a pipe holds): all of it reaches stderr in order,
    // the error keeps a bounded head and tail.
    const big = report.big as { started: boolean; text: string };
    expect(big.started).toBe(true);
    const lines = section('big').split('\n');
    const want = Math.ceil(2_000_000 / 27);
    expect(lines.length).toBe(want);
    expect(lines[want - 2]).toBe(`capture-test line ${String(want - 2).padStart(8, '0')}`);
    expect(
      lines.slice(0, want - 1).every((l, i) => l === `capture-test line ${String(i).padStart(8, '0')}`),
    ).toBe(true);
    expect(big.text.length).toBeLessThan(70_000);
    expect(big.text.startsWith('capture-test line 00000000\n')).toBe(true);
    expect(big.text).toMatch(/\[\.\.\. \d+ bytes of stderr not kept \.\.\.\]/);
    expect(big.text.endsWith(lines[want - 1]!)).toBe(true);
  });
});
