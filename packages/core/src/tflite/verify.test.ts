import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Builder } from 'flatbuffers';
import { afterAll, describe, expect, it } from 'vitest';
import { readTflite, verifyTflite, verifyTfliteFile } from './read';

const dir = mkdtempSync(join(tmpdir(), 'audiogen-verify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface RawTensor {
  shape: number[];
  type?: number;
  buffer?: number;
  name?: string;
}
interface RawModel {
  opcodes?: { dep?: number; code: number }[];
  buffers?: ({ data: number } | { offset: number; size: number })[];
  tensors: RawTensor[];
  ops?: { opcode: number; inputs: number[]; outputs: number[]; options?: [number, number] }[];
  inputs?: number[];
  outputs?: number[];
  subgraphs?: number;
  ident?: string;
  sigTensor?: number;
}

/** Builds a .tflite flatbuffer directly (bypassing our writer's checks) to test the verifier. */
function raw(m: RawModel): Uint8Array {
  const b = new Builder(1024);
  const ivec = (xs: number[]) => {
    b.startVector(4, xs.length, 4);
    for (let i = xs.length - 1; i >= 0; i--) b.addInt32(xs[i]!);
    return b.endVector();
  };
  const ovec = (xs: number[]) => {
    b.startVector(4, xs.length, 4);
    for (let i = xs.length - 1; i >= 0; i--) b.addOffset(xs[i]!);
    return b.endVector();
  };
  const buffers = ovec(
    [{ data: 0 }, ...(m.buffers ?? [])].map((bf) => {
      if ('data' in bf) {
        const v = bf.data ? b.createByteVector(new Uint8Array(bf.data)) : 0;
        b.startObject(3);
        if (v) b.addFieldOffset(0, v, 0);
        return b.endObject();
      }
      b.startObject(3);
      b.addFieldInt64(1, BigInt(bf.offset), 0n);
      b.addFieldInt64(2, BigInt(bf.size), 0n);
      return b.endObject();
    }),
  );
  const opcodes = ovec(
    (m.opcodes ?? [{ code: 0 }]).map((oc) => {
      b.startObject(4);
      b.addFieldInt8(0, oc.dep ?? Math.min(oc.code, 127), 0);
      b.addFieldInt32(3, oc.code, 0);
      return b.endObject();
    }),
  );
  const sgs: number[] = [];
  for (let s = 0; s < (m.subgraphs ?? 1); s++) {
    const tensors = ovec(
      m.tensors.map((t) => {
        const shape = ivec(t.shape);
        const name = b.createString(t.name ?? 't');
        b.startObject(4);
        b.addFieldOffset(0, shape, 0);
        b.addFieldInt8(1, t.type ?? 0, 0);
        b.addFieldInt32(2, t.buffer ?? 0, 0);
        b.addFieldOffset(3, name, 0);
        return b.endObject();
      }),
    );
    const ops = ovec(
      (m.ops ?? []).map((op) => {
        const ins = ivec(op.inputs);
        const outs = ivec(op.outputs);
        let opt = 0;
        if (op.options) {
          b.startObject(2);
          b.addFieldInt32(0, op.options[1], 0);
          b.addFieldInt32(1, op.options[1], 0);
          opt = b.endObject();
        }
        b.startObject(5);
        b.addFieldInt32(0, op.opcode, 0);
        b.addFieldOffset(1, ins, 0);
        b.addFieldOffset(2, outs, 0);
        if (op.options) {
          b.addFieldInt8(3, op.options[0], 0);
          b.addFieldOffset(4, opt, 0);
        }
        return b.endObject();
      }),
    );
    const ins = ivec(m.inputs ?? [0]);
    const outs = ivec(m.outputs ?? []);
    b.startObject(4);
    b.addFieldOffset(0, tensors, 0);
    b.addFieldOffset(1, ins, 0);
    b.addFieldOffset(2, outs, 0);
    b.addFieldOffset(3, ops, 0);
    sgs.push(b.endObject());
  }
  const subgraphs = ovec(sgs);
  let sigs = 0;
  if (m.sigTensor !== undefined) {
    const name = b.createString('x');
    b.startObject(2);
    b.addFieldOffset(0, name, 0);
    b.addFieldInt32(1, m.sigTensor, 0);
    const tm = b.endObject();
    const inputs = ovec([tm]);
    const key = b.createString('serving_default');
    b.startObject(5);
    b.addFieldOffset(0, inputs, 0);
    b.addFieldOffset(2, key, 0);
    sigs = ovec([b.endObject()]);
  }
  b.startObject(8);
  b.addFieldInt32(0, 3, 0);
  b.addFieldOffset(1, opcodes, 0);
  b.addFieldOffset(2, subgraphs, 0);
  b.addFieldOffset(4, buffers, 0);
  if (sigs) b.addFieldOffset(7, sigs, 0);
  b.finish(b.endObject(), m.ident ?? 'TFL3');
  return b.asUint8Array().slice();
}

// ADD: tensors 0 (input), 1 (constant [2] f32), 2 (output).
const base = (): RawModel => ({
  buffers: [{ data: 8 }],
  tensors: [{ shape: [2] }, { shape: [2], buffer: 1 }, { shape: [2] }],
  ops: [{ opcode: 0, inputs: [0, 1], outputs: [2] }],
  inputs: [0],
  outputs: [2],
});

function rejects(bytes: Uint8Array, message: RegExp) {
  expect(() => verifyTflite(bytes)).toThrow(expect.objectContaining({ code: 'INVALID_TFLITE' }));
  expect(() => verifyTflite(bytes)).toThrow(message);
  expect(() => readTflite(bytes)).toThrow(message);
}

describe('verifyTflite', () => {
  it('accepts the well-formed base model', () => {
    const g = readTflite(raw(base()));
    expect(g.subgraphs[0]!.operators[0]!.op).toBe('ADD');
    expect(g.subgraphs[0]!.tensors[1]!.data?.length).toBe(8);
  });

  it('rejects non-flatbuffers, short files and a wrong identifier', () => {
    rejects(new Uint8Array(0), /too short/);
    rejects(new Uint8Array(7), /too short/);
    rejects(raw({ ...base(), ident: 'TFL2' }), /identifier/);
    rejects(new TextEncoder().encode('PK\u0003\u0004TFL3-not-a-model'), /out of bounds|misaligned|bad/);
    expect(() => verifyTflite('x' as unknown as Uint8Array)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('rejects a constant whose size does not match dtype × shape', () => {
    const m = base();
    m.tensors[1] = { shape: [3], buffer: 1 };
    rejects(raw(m), /buffer has 8 bytes but FLOAT32 \[3\] needs 12/);
    m.tensors[1] = { shape: [2], buffer: 1, type: 4 }; // INT64 [2] needs 16
    rejects(raw(m), /needs 16/);
  });

  it('rejects a rank above LiteRT layouts (8 dimensions), shape or shape_signature', () => {
    const m = base();
    m.tensors[0] = { shape: Array(8).fill(1) };
    m.tensors[2] = { shape: Array(8).fill(1) };
    expect(() => verifyTflite(raw(m))).not.toThrow();
    m.tensors[0] = { shape: Array(9).fill(1) };
    rejects(raw(m), /shape has rank 9; LiteRT supports at most 8 dimensions/);
    m.tensors[0] = { shape: Array(60).fill(1) };
    rejects(raw(m), /rank 60/);
  });

  it('rejects indices out of range', () => {
    rejects(
      raw({ ...base(), ops: [{ opcode: 3, inputs: [0, 1], outputs: [2] }] }),
      /opcode_index 3 out of range/,
    );
    rejects(
      raw({ ...base(), ops: [{ opcode: 0, inputs: [0, 7], outputs: [2] }] }),
      /tensor index 7 out of range/,
    );
    rejects(raw({ ...base(), outputs: [9] }), /tensor index 9 out of range/);
    const m = base();
    m.tensors[1]!.buffer = 5;
    rejects(raw(m), /buffer 5 out of range/);
    rejects(raw({ ...base(), sigTensor: 3 }), /tensor_index 3 out of range/);
    m.tensors[1] = { shape: [2], type: 99 };
    rejects(raw(m), /unknown tensor type 99/);
  });

  it('rejects cycles: ops consuming tensors produced later, and subgraphs calling themselves', () => {
    const m = base();
    m.tensors.push({ shape: [2] });
    m.ops = [
      { opcode: 0, inputs: [0, 3], outputs: [2] },
      { opcode: 0, inputs: [2, 1], outputs: [3] },
    ];
    rejects(raw(m), /produced by operator 1 at or after it \(cycle\)/);
    m.ops = [{ opcode: 0, inputs: [0, 2], outputs: [2] }];
    rejects(raw(m), /cycle/);
    m.ops = [
      { opcode: 0, inputs: [0, 1], outputs: [2] },
      { opcode: 0, inputs: [0, 1], outputs: [2] },
    ];
    rejects(raw(m), /already produced/);
    // WHILE (code 119) with WhileOptions (union 93) whose cond/body subgraph is the main subgraph.
    const w = base();
    w.opcodes = [{ code: 119 }];
    w.ops = [{ opcode: 0, inputs: [0, 1], outputs: [2], options: [93, 0] }];
    rejects(raw(w), /refers back to subgraph 0 \(cycle\)/);
    w.ops = [{ opcode: 0, inputs: [0, 1], outputs: [2], options: [93, 5] }];
    rejects(raw(w), /subgraph_index 5 out of range/);
    // Two subgraphs where 0 calls 1 is fine; 1 calling 1 is not.
    w.subgraphs = 2;
    w.ops = [{ opcode: 0, inputs: [0, 1], outputs: [2], options: [93, 1] }];
    rejects(raw(w), /refers back to subgraph 1/);
  });

  it('rejects tensors whose shape needs more than maxTensorBytes (LiteRT would try to allocate them)', () => {
    const m = base();
    m.tensors[2] = { shape: [268435456, 8] };
    rejects(raw(m), /needs 8589934592 bytes, over the 2147483648-byte limit/);
    m.tensors[2] = { shape: [2] };
    expect(() => verifyTflite(raw(m), { maxTensorBytes: 4 })).toThrow(/over the 4-byte limit/);
  });

  it('rejects a required input omitted with -1 (LiteRT crashes on an FC without weights)', () => {
    const m = base();
    m.opcodes = [{ code: 9 }];
    m.tensors.push({ shape: [2, 2], buffer: 2 });
    m.buffers!.push({ data: 16 });
    m.ops = [{ opcode: 0, inputs: [0, -1, 1], outputs: [2] }];
    rejects(raw(m), /FULLY_CONNECTED input 1 is required but omitted/);
    m.ops = [{ opcode: 0, inputs: [0, 3, -1], outputs: [2] }];
    expect(() => verifyTflite(raw(m))).not.toThrow();
    rejects(
      raw({ ...base(), ops: [{ opcode: 0, inputs: [0, -1], outputs: [2] }] }),
      /ADD input 1 is required/,
    );
  });

  it('rejects builtin ops with too few inputs or no outputs (LiteRT reads operands by position)', () => {
    rejects(
      raw({ ...base(), ops: [{ opcode: 0, inputs: [0], outputs: [2] }] }),
      /ADD needs at least 2 inputs, has 1/,
    );
    rejects(raw({ ...base(), ops: [{ opcode: 0, inputs: [0, 1], outputs: [] }] }), /ADD has no outputs/);
    const m = base();
    m.opcodes = [{ code: 126 }];
    m.ops = [{ opcode: 0, inputs: [], outputs: [2] }];
    rejects(raw(m), /BATCH_MATMUL needs at least 2 inputs, has 0/);
  });

  it('checks the Buffer.offset/size form against the file length', () => {
    const m = base();
    m.buffers = [{ offset: 1_000_000, size: 8 }];
    rejects(raw(m), /past the end of the file/);
    m.buffers = [{ offset: 16, size: 2 ** 40 }];
    rejects(raw(m), /past the end of the file/);
  });

  it('rejects an unknown builtin options type and a constant op output', () => {
    rejects(
      raw({ ...base(), ops: [{ opcode: 0, inputs: [0, 1], outputs: [2], options: [250, 0] }] }),
      /unknown builtin options type 250/,
    );
    rejects(
      raw({ ...base(), ops: [{ opcode: 0, inputs: [0, 2], outputs: [1] }] }),
      /output tensor 1 is a constant/,
    );
    rejects(raw({ ...base(), inputs: [1] }), /input tensor 1 is a constant/);
  });

  it('rejects strings that are not UTF-8 and vectors longer than the file', () => {
    const m = base();
    m.tensors[0]!.name = 'NAMEMARK';
    const bytes = raw(m);
    const at = Buffer.from(bytes).indexOf('NAMEMARK');
    const bad = bytes.slice();
    bad[at] = 0xff;
    rejects(bad, /not valid UTF-8/);
    const long = bytes.slice();
    new DataView(long.buffer).setUint32(at - 4, 0x7fffffff, true);
    rejects(long, /runs past the end of the file/);
  });

  it('verifyTfliteFile checks a file on disk, and reports a missing file', () => {
    const p = join(dir, 'ok.tflite');
    writeFileSync(p, raw(base()));
    expect(() => verifyTfliteFile(p)).not.toThrow();
    const q = join(dir, 'bad.tflite');
    const m = base();
    m.tensors[1] = { shape: [3], buffer: 1 };
    writeFileSync(q, raw(m));
    expect(() => verifyTfliteFile(q)).toThrow(/needs 12/);
    expect(() => verifyTfliteFile(join(dir, 'nope.tflite'))).toThrow(
      expect.objectContaining({ code: 'MISSING_FILE' }),
    );
    expect(() => verifyTfliteFile(dir)).toThrow(expect.objectContaining({ code: 'MISSING_FILE' }));
  });
});
