/** Fake Runtime/Model objects for unit tests (not exported from the package). */
import { basename } from 'node:path';
import {
  AudiogenError,
  type LoadOptions,
  type Model,
  type Runtime,
  type Tensor,
  type TensorInfo,
  tensor,
  throwIfAborted,
  toFloat32,
} from '@audiogen/core';

export interface FakeDims {
  tokens: number;
  crossLen: number;
  dim: number;
  latentC: number;
  latentT: number;
  frames: number;
  /** Use Arm-style generic names (args_0…, output_0) and shuffled input order. */
  generic?: boolean;
}

export const FAKE_DIMS: FakeDims = { tokens: 16, crossLen: 9, dim: 8, latentC: 4, latentT: 6, frames: 48 };

class FakeModel implements Model {
  disposed = false;
  readonly signatures;
  runs = 0;
  constructor(
    readonly label: string,
    readonly inputs: TensorInfo[],
    readonly outputs: TensorInfo[],
    private readonly fn: (inp: Record<string, Tensor>) => Record<string, Tensor>,
  ) {
    this.signatures = [{ key: 'serving_default', inputs, outputs }];
  }
  async run(inputs: Readonly<Record<string, Tensor>>, options: { signal?: AbortSignal } = {}) {
    if (this.disposed) throw new AudiogenError('DISPOSED', `${this.label} is disposed`);
    throwIfAborted(options.signal, this.label);
    for (const i of this.inputs) {
      const t = inputs[i.name];
      if (!t) throw new AudiogenError('MISSING_INPUT', `${this.label}: missing ${i.name}`);
      if (t.dtype !== i.dtype || t.shape.join() !== i.shape.join()) {
        throw new AudiogenError('MODEL_MISMATCH', `${this.label}: ${i.name} got ${t.dtype} [${t.shape}]`);
      }
    }
    this.runs++;
    await new Promise((r) => setImmediate(r));
    return this.fn(inputs as Record<string, Tensor>);
  }
  dispose() {
    this.disposed = true;
  }
}

const info = (name: string, dtype: TensorInfo['dtype'], shape: number[]): TensorInfo => ({
  name,
  dtype,
  shape,
});

export function fakeModel(kind: string, d: FakeDims = FAKE_DIMS): FakeModel {
  const g = d.generic;
  const lat = [1, d.latentC, d.latentT];
  const nLat = d.latentC * d.latentT;
  switch (kind) {
    case 'conditioners': {
      const ins = [
        info(g ? 'args_0' : 'input_ids', 'int64', [1, d.tokens]),
        info(g ? 'args_1' : 'attention_mask', 'int64', [1, d.tokens]),
        info(g ? 'args_2' : 'seconds_total', 'float32', [1]),
      ];
      const outs = [
        info(g ? 'output_1' : 'global_cond', 'float32', [1, d.dim]),
        info(g ? 'output_0' : 'cross_attention_input', 'float32', [1, d.crossLen, d.dim]),
        info(g ? 'output_2' : 'cross_attention_masks', 'float32', [1, d.crossLen]),
      ];
      return new FakeModel('conditioners', ins, outs, (inp) => {
        const ids = toFloat32(inp[ins[0]!.name]!);
        const mask = toFloat32(inp[ins[1]!.name]!);
        const sec = toFloat32(inp[ins[2]!.name]!)[0]!;
        const cross = new Float32Array(d.crossLen * d.dim);
        for (let s = 0; s < d.crossLen - 1; s++)
          for (let k = 0; k < d.dim; k++)
            cross[s * d.dim + k] = ((ids[s] ?? 0) * (k + 1) * (mask[s] ?? 0)) / 1000;
        const glob = new Float32Array(d.dim).fill(sec / 256);
        cross.set(glob, (d.crossLen - 1) * d.dim);
        const m = new Float32Array(d.crossLen);
        for (let s = 0; s < d.crossLen - 1; s++) m[s] = mask[s] ?? 0;
        m[d.crossLen - 1] = 1;
        return {
          [outs[0]!.name]: tensor('float32', outs[0]!.shape, glob),
          [outs[1]!.name]: tensor('float32', outs[1]!.shape, cross),
          [outs[2]!.name]: tensor('float32', outs[2]!.shape, m),
        };
      });
    }
    case 'dit': {
      const all = [
        info(g ? 'args_0' : 'x', 'float32', lat),
        info(g ? 'args_1' : 't', 'float32', [1]),
        info(g ? 'args_2' : 'cross_attn_cond', 'float32', [1, d.crossLen, d.dim]),
        info(g ? 'args_3' : 'global_cond', 'float32', [1, d.dim]),
      ];
      // Arm's app reads the DiT inputs in the order cross, global, x, t.
      const ins = g ? [all[2]!, all[3]!, all[0]!, all[1]!] : all;
      const out = info(g ? 'output_0' : 'v', 'float32', lat);
      return new FakeModel('dit', ins, [out], (inp) => {
        const x = toFloat32(inp[all[0]!.name]!);
        const t = toFloat32(inp[all[1]!.name]!)[0]!;
        const c = toFloat32(inp[all[2]!.name]!);
        let mean = 0;
        for (const v of c) mean += v;
        mean /= c.length;
        const v = new Float32Array(nLat);
        for (let i = 0; i < nLat; i++) v[i] = 0.5 * x[i]! + mean - 0.1 * t + 0.01 * i;
        return { [out.name]: tensor('float32', lat, v) };
      });
    }
    case 'decoder': {
      const inp = info(g ? 'args_0' : 'latents', 'float32', lat);
      const out = info(g ? 'output_0' : 'audio', 'float32', [2, d.frames]);
      return new FakeModel('decoder', [inp], [out], (i) => {
        const z = toFloat32(i[inp.name]!);
        const a = new Float32Array(2 * d.frames);
        for (let k = 0; k < a.length; k++) a[k] = Math.tanh(z[k % nLat]! + (k >= d.frames ? 0.25 : 0));
        return { [out.name]: tensor('float32', [2, d.frames], a) };
      });
    }
    case 'encoder': {
      const inp = info('audio', 'float32', [1, 2, d.frames]);
      const out = info('latents', 'float32', lat);
      return new FakeModel('encoder', [inp], [out], (i) => {
        const a = toFloat32(i[inp.name]!);
        const z = new Float32Array(nLat);
        for (let k = 0; k < nLat; k++) z[k] = a[k]! * 2;
        return { [out.name]: tensor('float32', lat, z) };
      });
    }
    default:
      throw new Error(`no fake for ${kind}`);
  }
}

const KIND_BY_FILE: Record<string, string> = {
  'conditioners.tflite': 'conditioners',
  'conditioners_float32.tflite': 'conditioners',
  'dit_model.tflite': 'dit',
  'autoencoder_model.tflite': 'decoder',
  'autoencoder_encoder.tflite': 'encoder',
};

export interface FakeRuntime extends Runtime {
  loads: { path: string; options: LoadOptions | undefined }[];
  models: FakeModel[];
}

/** A Runtime whose models are picked by file name; file contents are ignored. */
export function fakeRuntime(
  dims: FakeDims = FAKE_DIMS,
  overrides: Record<string, FakeDims> = {},
): FakeRuntime {
  const rt: FakeRuntime = {
    name: 'fake',
    loads: [],
    models: [],
    async load(source, options) {
      if (typeof source !== 'string') throw new Error('fake runtime loads paths only');
      const kind = KIND_BY_FILE[basename(source)];
      if (!kind) throw new AudiogenError('INVALID_MODEL', `fake runtime cannot load ${source}`);
      rt.loads.push({ path: source, options });
      const m = fakeModel(kind, overrides[kind] ?? dims);
      rt.models.push(m);
      return m;
    },
  };
  return rt;
}
