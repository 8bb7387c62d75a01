#!/usr/bin/env node
// The adversarial suite (issue 12): tries every class of hostile or careless input the SDK reads and
// every way its outputs can fail, against the built packages, the way a user would call them, and counts
// per class: tried / typed error / accepted / untyped error / crash / hang / huge allocation / data lost.
// Everything but the first three must be zero. Each class runs in a child process; the parent restarts it
// after a case that killed it (crash), stalled it (hang: no progress for HANG_MS) or grew it past
// HUGE_MB of RSS (huge allocation), so one bad case never hides the others.
//   node scripts/adversarial.mjs [--fast] [--json out.json] [--only class,class] [--markdown]
// `npm run test:adversarial` runs the whole suite (a few minutes); `--fast` (a subset of every class,
// under a minute) runs inside `npm test` (packages/cli/src/adversarial.test.ts).
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const HANG_MS = Number(process.env.AG_ADV_HANG_MS ?? 30_000);
const HUGE_MB = Number(process.env.AG_ADV_HUGE_MB ?? 3000);
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const fast = process.argv.includes('--fast');

// ------------------------------------------------------------------ helpers shared by the cases

const { xorshift32: rng } = await import('@audiogen/core/test');

/** One byte-level mutation of a file: flips, truncation, zeroed runs, splices, inflated u32 fields. */
function mutate(src, r) {
  const b = Uint8Array.from(src);
  const kind = Math.floor(r() * 5);
  const at = Math.floor(r() * b.length);
  if (kind === 0)
    for (let k = 0; k < 1 + Math.floor(r() * 8); k++)
      b[Math.floor(r() * b.length)] ^= 1 << Math.floor(r() * 8);
  if (kind === 1) return b.subarray(0, at);
  if (kind === 2) b.fill(0, at, Math.min(b.length, at + 1 + Math.floor(r() * 64)));
  if (kind === 3) {
    const from = Math.floor(r() * b.length);
    b.set(src.subarray(from, from + Math.min(64, b.length - at)), at);
  }
  if (kind === 4 && at + 4 <= b.length)
    new DataView(b.buffer).setUint32(
      at & ~3,
      [0xffffffff, 0x7fffffff, 0x10000000, b.length * 4][Math.floor(r() * 4)],
      true,
    );
  return b;
}

function hasFifo(dir) {
  try {
    execFileSync('mkfifo', [join(dir, '.probe')]);
    rmSync(join(dir, '.probe'));
    return true;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ the classes (run in the child)

/**
 * Each class: `cases(ctx)` → [{ name, run, refuse? }]. `run` resolves (accepted) or throws; `refuse: true`
 * means acceptance is itself a defect (counted as `wrong`). A case returns { dataLost: true } when an
 * output check failed.
 */
async function classes(ctx) {
  const core = await import('@audiogen/core');
  const tfl = await import('@audiogen/core/tflite');
  const { createNativeRuntime } = await import('@audiogen/runtime-native');
  const convert = await import('@audiogen/convert');
  const quantize = await import('@audiogen/quantize');
  const sa = await import('@audiogen/stable-audio');
  const audio = await import('@audiogen/audio-io');
  const rt = createNativeRuntime({ threads: 1, echoLiteRtErrors: false, logLevel: 'error' });
  const { tmp, tiny, n } = ctx;
  const file = (name, bytes) => {
    const p = join(tmp, name);
    writeFileSync(p, bytes);
    return p;
  };
  const fifo = (name) => {
    const p = join(tmp, name);
    if (!existsSync(p)) execFileSync('mkfifo', [p]);
    return p;
  };
  const fifos = hasFifo(tmp);
  // z = x + y (runtime-native's test addGraph is not part of a published package; the script runs on dist).
  const add = (shape) => ({
    version: 3,
    description: 'adversarial',
    metadata: [],
    subgraphs: [
      {
        name: 'main',
        tensors: ['x', 'y', 'z'].map((name) => ({ name, type: 'FLOAT32', shape })),
        inputs: [0, 1],
        outputs: [2],
        operators: [
          {
            op: 'ADD',
            builtin_code: 0,
            version: 1,
            inputs: [0, 1],
            outputs: [2],
            options: { type: 'AddOptions' },
          },
        ],
      },
    ],
    signatures: [
      {
        signature_key: 'serving_default',
        subgraph_index: 0,
        inputs: [
          { name: 'x', tensor_index: 0 },
          { name: 'y', tensor_index: 1 },
        ],
        outputs: [{ name: 'z', tensor_index: 2 }],
      },
    ],
  });
  const loadAndRun = async (src) => {
    const m = await rt.load(src);
    try {
      const inputs = {};
      for (const t of m.inputs) {
        const shape = t.shape.map((d) => Math.max(1, d));
        inputs[t.name] = core.tensor(
          t.dtype,
          shape,
          new (core.typedArrayConstructor(t.dtype))(shape.reduce((a, b) => a * b, 1)),
        );
      }
      await m.run(inputs);
    } finally {
      m.dispose();
    }
  };
  const fixtures = ['mlp', 'conv1d', 'attention', 'attention_int8'].map(
    (f) => new Uint8Array(readFileSync(join(root, 'packages', 'core', 'fixtures', `${f}.tflite`))),
  );
  const { onnx } = (await import('onnx-proto')).default;
  const onnxAdd = (init) =>
    onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 4 }] } } } }],
        output: [{ name: 'y' }],
        initializer: [{ name: 'w', dataType: 1, dims: [4], ...init }],
        node: [{ opType: 'Add', name: 'add', input: ['x', 'w'], output: ['y'] }],
      },
    }).finish();
  const ext = (location, extra = {}) =>
    onnxAdd({
      dataLocation: 1,
      externalData: [
        { key: 'location', value: location },
        ...Object.entries(extra).map(([key, value]) => ({ key, value })),
      ],
    });
  const onnxDir = join(tmp, 'onnx');
  mkdirSync(join(onnxDir, 'sub'), { recursive: true });
  writeFileSync(join(onnxDir, 'w.bin'), new Uint8Array(16));
  writeFileSync(join(tmp, 'secret.bin'), new Uint8Array(64).fill(7));
  if (!existsSync(join(onnxDir, 'out.bin'))) symlinkSync(join(tmp, 'secret.bin'), join(onnxDir, 'out.bin'));
  const wav = audio.encodeWav(
    core.audioClip(44100, [new Float32Array(441).fill(0.1), new Float32Array(441)]),
    { format: 'pcm16' },
  );
  const baseConfig = convert.toModelConfigJson(convert.STABLE_AUDIO_OPEN_SMALL);
  const setPath = (o, path, v) => {
    const keys = path.split('.');
    const last = keys.pop();
    keys.reduce((a, k) => a[k], o)[last] = v;
  };
  const nasty = [1e12, 1e9, -1, 0, 1.5, Number.NaN, null, 'x', [], {}, 2 ** 53, -1e308];
  const configPaths = [
    'sample_size',
    'sample_rate',
    'model.conditioning.configs.0.config.max_length',
    'model.conditioning.cond_dim',
    'model.diffusion.config.depth',
    'model.diffusion.config.embed_dim',
    'model.diffusion.config.num_heads',
    'model.diffusion.config.io_channels',
    'model.pretransform.config.decoder.config.channels',
    'model.pretransform.config.decoder.config.c_mults',
    'model.pretransform.config.decoder.config.strides',
    'model.pretransform.config.decoder.config.latent_dim',
    'model.conditioning.configs.1.config.max_val',
  ];
  const r = rng(12);
  const pick = (xs, k) => (fast ? xs.filter((_, i) => i % k === 0) : xs);

  return {
    'tensor rank (verifier = addon)': [0, 1, 4, 8, 9, 12, 17, 33, 51, 52, 60, 64, 100, 127].map((rank) => ({
      name: `rank ${rank}`,
      refuse: rank > 8,
      run: () => loadAndRun(tfl.writeTflite(add(Array(rank).fill(1)))),
    })),
    'model file changed while loaded': [
      'truncate',
      'replace',
      'delete',
      'truncate during load',
      'replace during load',
    ]
      .flatMap((what) => Array.from({ length: fast ? 2 : 6 }, (_, i) => ({ what, i })))
      .map(({ what, i }) => ({
        name: `${what} #${i}`,
        run: async () => {
          const p = file(`changed-${i}.tflite`, fixtures[0]);
          const x = core.tensor('float32', [1, 16], new Float32Array(16).fill(0.5));
          const inputs = () => ({
            [m.inputs[0].name]: core.tensor(
              'float32',
              m.inputs[0].shape,
              new Float32Array(m.inputs[0].shape.reduce((a, b) => a * b, 1)).fill(0.5),
            ),
          });
          let m;
          if (what.endsWith('during load')) {
            const loading = rt.load(p);
            await new Promise((res) => setTimeout(res, i % 3));
            if (what.startsWith('truncate')) truncateSync(p, 0);
            else writeFileSync(p, fixtures[1].subarray(0, 100));
            m = await loading;
            await m.run(inputs());
            m.dispose();
            return;
          }
          m = await rt.load(p);
          const a = await m.run(inputs());
          if (what === 'truncate') truncateSync(p, 0);
          if (what === 'replace') writeFileSync(p, fixtures[2].subarray(0, 1000));
          if (what === 'delete') unlinkSync(p);
          const b = await m.run(inputs());
          m.dispose();
          const key = Object.keys(a)[0];
          if (Buffer.compare(Buffer.from(a[key].data.buffer), Buffer.from(b[key].data.buffer)) !== 0)
            return { dataLost: true };
          void x;
        },
      })),
    'ONNX external data and initializers': [
      ['../secret.bin', true],
      ['../../../../etc/passwd', true],
      ['/etc/passwd', true],
      [join(tmp, 'secret.bin'), true],
      ['sub/../../secret.bin', true],
      ['out.bin', true],
      ['missing.bin', true],
      ['', true],
      ['w.bin', false],
      ['sub/../w.bin', true],
    ]
      .map(([loc, refuse]) => ({
        name: `location ${loc}`,
        refuse,
        run: () => convert.convertOnnx(ext(loc), { baseDir: onnxDir }),
      }))
      .concat(
        [
          [{ offset: String(2n ** 60n) }, 'offset 2^60'],
          [{ offset: '-4' }, 'negative offset'],
          [{ offset: '8', length: '16' }, 'range past the end'],
          [{ offset: '8' }, 'short data'],
          [{ length: 'abc' }, 'length not a number'],
        ].map(([extra, name]) => ({
          name,
          refuse: true,
          run: () => convert.convertOnnx(ext('w.bin', extra), { baseDir: onnxDir }),
        })),
        [[-1], [2 ** 40], [1e6, 1e6, 1e6], [2 ** 31, 2]].map((dims) => ({
          name: `dims ${JSON.stringify(dims)}`,
          refuse: true,
          run: () => convert.convertOnnx(onnxAdd({ dims, rawData: new Uint8Array(16) })),
        })),
        [
          { rawData: new Uint8Array(7) },
          { floatData: [1] },
          { dataType: 99, rawData: new Uint8Array(16) },
        ].map((init, i) => ({
          name: `bad initializer data ${i}`,
          refuse: true,
          run: () => convert.convertOnnx(onnxAdd(init)),
        })),
      ),
    'inputs that are not regular files': [
      ['/dev/zero as WAV (--init-audio)', () => audio.readWav('/dev/zero')],
      ['/dev/urandom as WAV', () => audio.readWav('/dev/urandom')],
      ['a directory as WAV', () => audio.readWav(tmp)],
      ['/dev/zero as model', () => rt.load('/dev/zero')],
      ['a directory as checkpoint (EISDIR)', () => convert.readSafetensors(tmp)],
      ['/dev/urandom as checkpoint', () => convert.readSafetensors('/dev/urandom')],
      ['a directory as .tflite (inspect)', () => tfl.readTfliteFile(tmp)],
      ['/dev/zero as recipe', () => quantize.loadRecipe('/dev/zero')],
      ['/dev/zero as ONNX', () => convert.convertOnnxFile('/dev/zero')],
      ...(fifos
        ? [
            ['FIFO as .tflite (inspect)', () => tfl.readTfliteFile(fifo('in.tflite'))],
            ['FIFO as model', () => rt.load(fifo('m.tflite'))],
            ['FIFO as checkpoint', () => convert.readSafetensors(fifo('c.safetensors'))],
            ['FIFO as WAV', () => audio.readWav(fifo('a.wav'))],
            ['FIFO as recipe', () => quantize.loadRecipe(fifo('r.json'))],
            ['FIFO as ONNX', () => convert.convertOnnxFile(fifo('m.onnx'))],
            ['FIFO as spiece.model', () => sa.T5Tokenizer.fromFile(fifo('spiece.model'))],
            [
              'FIFO spiece.model in a model folder',
              async () => {
                const d = join(tmp, 'fifo-folder');
                mkdirSync(d, { recursive: true });
                for (const f of ['conditioners.tflite', 'dit_model.tflite', 'autoencoder_model.tflite'])
                  writeFileSync(join(d, f), 'x');
                if (!existsSync(join(d, 'spiece.model'))) execFileSync('mkfifo', [join(d, 'spiece.model')]);
                await sa.loadModelFolder(d);
              },
            ],
          ]
        : []),
    ].map(([name, run]) => ({ name, refuse: true, run })),
    'config values (model_config.json, T5 config.json, audiogen.json)': [
      ...pick(configPaths, 3).flatMap((path) =>
        pick(nasty, 2).map((v) => ({
          name: `${path} = ${JSON.stringify(v)}`,
          run: () => {
            const j = structuredClone(baseConfig);
            setPath(j, path, v);
            convert.configFromModelConfig(j);
          },
        })),
      ),
      ...[
        42,
        'x',
        [1],
        { d_model: '768' },
        { num_layers: 1e9 },
        { vocab_size: -1 },
        { layer_norm_epsilon: 'x' },
      ].map((t5, i) => ({
        name: `T5 config.json #${i}`,
        refuse: true,
        run: () => convert.configFromModelConfig(baseConfig, { t5Config: t5 }),
      })),
      ...['{', 'null', '[]', '{"d_model": 1e999}'].map((text, i) => ({
        name: `T5 config.json text #${i}`,
        run: async () =>
          convert.t5FromHfConfig(await core.readInputJson(file(`t5-${i}.json`, text), 'INVALID_MODEL')),
      })),
      ...[
        { sampleSize: 1e12 },
        { steps: 1e9 },
        { tokenLength: 1e9 },
        { maxSeconds: 1e9 },
        { latentShape: [1, 64, 1e9] },
        { sampleRate: -1 },
      ].map((config, i) => ({
        name: `audiogen.json ${JSON.stringify(config)}`,
        refuse: true,
        run: async () => {
          const d = join(tmp, `manifest-${i}`);
          mkdirSync(d, { recursive: true });
          for (const f of [
            'conditioners.tflite',
            'dit_model.tflite',
            'autoencoder_model.tflite',
            'spiece.model',
          ])
            writeFileSync(join(d, f), 'x');
          writeFileSync(join(d, 'audiogen.json'), JSON.stringify({ config }));
          await sa.loadModelFolder(d);
        },
      })),
    ],
    'recipe regexes': [
      ...['(a+)+$', '(a|aa)*c', '(a*)*b', '(.*a){20}x', '^(\\w+\\s?)*$', '(x+x+)+y'].map((p) => ({
        name: `catastrophic ${p}`,
        run: () => {
          const re = quantize.compileRecipeRegex(p);
          re.test(`${'a'.repeat(fast ? 20_000 : 200_000)}!`);
          re.test(`${'x'.repeat(fast ? 20_000 : 200_000)}`);
        },
      })),
      {
        name: '1 MB regex',
        refuse: true,
        run: () =>
          quantize.parseRecipe([
            { regex: 'a'.repeat(1 << 20), operation: '*', algorithm_key: 'no_quantize' },
          ]),
      },
      {
        name: 'backreference',
        refuse: true,
        run: () => quantize.parseRecipe([{ regex: '(a)\\1', operation: '*', algorithm_key: 'no_quantize' }]),
      },
      {
        name: 'repeat bomb',
        refuse: true,
        run: () => quantize.compileRecipeRegex('((a{1000}){1000}){1000}'),
      },
      ...Array.from({ length: n(200, 40) }, (_, i) => {
        const alphabet = 'ab.*+?|()[]{}^$\\d,1-0';
        const p = Array.from(
          { length: 1 + Math.floor(r() * 24) },
          () => alphabet[Math.floor(r() * alphabet.length)],
        ).join('');
        return {
          name: `random pattern #${i}`,
          run: () => quantize.compileRecipeRegex(p).test('model/dense_1/MatMul;aaab'),
        };
      }),
    ],
    'argument abuse': [
      ['signal: a string', (p) => p.generate({ prompt: 'x', seconds: 1, signal: 'stop' })],
      ['signal: {aborted:false}', (p) => p.generate({ prompt: 'x', seconds: 1, signal: { aborted: false } })],
      ['onProgress: 5', (p) => p.generate({ prompt: 'x', seconds: 1, onProgress: 5 })],
      ['onClip: {}', (p) => p.generate({ prompt: 'x', seconds: 1, onClip: {} })],
      ['seconds NaN', (p) => p.generate({ prompt: 'x', seconds: Number.NaN })],
      ['seconds 1e9', (p) => p.generate({ prompt: 'x', seconds: 1e9 })],
      ['steps -1', (p) => p.generate({ prompt: 'x', steps: -1 })],
      ['steps 1e9', (p) => p.generate({ prompt: 'x', steps: 1e9 })],
      ['variations 1e6', (p) => p.generate({ prompt: 'x', variations: 1e6 })],
      ['seed -1', (p) => p.generate({ prompt: 'x', seed: -1 })],
      ['prompt 42', (p) => p.generate({ prompt: 42 })],
      ['cfgScale Infinity', (p) => p.generate({ prompt: 'x', cfgScale: Number.POSITIVE_INFINITY })],
      ['sampler "rm -rf"', (p) => p.generate({ prompt: 'x', sampler: 'rm -rf' })],
      [
        'initAudio of NaN',
        (p) =>
          p.generate({
            prompt: 'x',
            initAudio: core.audioClip(44100, [new Float32Array(64).fill(Number.NaN)]),
          }),
      ],
      ['initAudio {}', (p) => p.generate({ prompt: 'x', initAudio: {} })],
      ['threads 1e9', () => sa.createStableAudioPipeline({ models: tiny, runtime: rt, threads: 1e9 })],
      [
        'onProgress "x" at creation',
        () => sa.createStableAudioPipeline({ models: tiny, runtime: rt, onProgress: 'x' }),
      ],
      [
        'run() with a string signal',
        async () => {
          const m = await rt.load(tfl.writeTflite(add([2])));
          try {
            const t = core.tensor('float32', [2], new Float32Array(2));
            await m.run({ x: t, y: t }, { signal: 'stop' });
          } finally {
            m.dispose();
          }
        },
      ],
      [
        'run --repeat 1e9 (CLI)',
        () =>
          ctx.cli([
            'run',
            join(root, 'packages/runtime-native/fixtures/add_fc.tflite'),
            '--random-inputs',
            '--repeat',
            '1000000000',
          ]),
      ],
      [
        'convert --checkpoint <directory> (CLI)',
        () =>
          ctx.cli([
            'convert',
            'stable-audio-open-small',
            '--checkpoint',
            tmp,
            '--t5',
            tmp,
            '--out',
            join(tmp, 'conv-out'),
          ]),
      ],
      ['inspect a directory (CLI)', () => ctx.cli(['inspect', tmp])],
      [
        'generate --init-audio /dev/zero (CLI)',
        () =>
          ctx.cli([
            'generate',
            'x',
            '--models',
            tiny,
            '--init-audio',
            '/dev/zero',
            '--out',
            join(tmp, 'x.wav'),
          ]),
      ],
    ].map(([name, call]) => ({
      name,
      refuse: true,
      run: async () => {
        if (call.length === 0) return call();
        const p = await ctx.pipeline();
        return call(p);
      },
    })),
    'NaN in': [
      { name: 'NaN checkpoint', refuse: true, run: () => ctx.nanCheckpoint(convert) },
      {
        name: 'NaN init audio WAV (float)',
        refuse: true,
        run: async () => {
          const p = file(
            'nan.wav',
            audio.encodeWav(core.audioClip(44100, [new Float32Array(4410).fill(0.5)]), { format: 'f32' }),
          );
          const b = readFileSync(p);
          for (let i = b.length - 4 * 4410; i < b.length; i += 4) b.writeFloatLE(Number.NaN, i);
          writeFileSync(p, b);
          const clip = await audio.readWav(p);
          return (await ctx.pipeline()).generate({ prompt: 'x', initAudio: clip });
        },
      },
    ],
    // Bytes and paths alternate: both reach LiteRT through its file loader (a private memfd on Linux).
    '.tflite mutants (verifier, then LiteRT)': Array.from({ length: n(3000, 120) }, (_, i) => ({
      name: `mutant ${i} (${i % 2 ? 'path' : 'bytes'})`,
      run: () => {
        const b = mutate(fixtures[i % fixtures.length], r);
        return loadAndRun(i % 2 ? file('mutant.tflite', b) : b);
      },
    })),
    'checkpoint headers (safetensors)': Array.from({ length: n(300, 60) }, (_, i) => ({
      name: `safetensors mutant ${i}`,
      run: () => {
        const f = convert.readSafetensors(mutate(ctx.safetensors, r));
        try {
          for (const k of f.keys()) f.get(k);
        } finally {
          f.close();
        }
      },
    })),
    'WAV headers': Array.from({ length: n(400, 80) }, (_, i) => ({
      name: `WAV mutant ${i}`,
      run: () => audio.decodeWav(mutate(wav, r)),
    })),
    'model folders': [
      [
        'garbage .tflite files',
        (d) => {
          for (const f of ['conditioners.tflite', 'dit_model.tflite', 'autoencoder_model.tflite'])
            writeFileSync(join(d, f), 'garbage');
        },
      ],
      [
        'models swapped',
        (d) => {
          writeFileSync(join(d, 'dit_model.tflite'), readFileSync(join(tiny, 'autoencoder_model.tflite')));
        },
      ],
      ['decoder missing', (d) => rmSync(join(d, 'autoencoder_model.tflite'))],
      ['spiece.model garbage', (d) => writeFileSync(join(d, 'spiece.model'), 'not a model')],
      ['audiogen.json garbage', (d) => writeFileSync(join(d, 'audiogen.json'), '{{{')],
      ['dit truncated', (d) => truncateSync(join(d, 'dit_model.tflite'), 1000)],
      [
        'a directory named dit_model.tflite',
        (d) => {
          rmSync(join(d, 'dit_model.tflite'));
          mkdirSync(join(d, 'dit_model.tflite'));
        },
      ],
    ].map(([name, spoil], i) => ({
      name,
      refuse: true,
      run: async () => {
        const d = join(tmp, `folder-${i}`);
        execFileSync('cp', ['-r', tiny, d]);
        spoil(d);
        const p = await sa.createStableAudioPipeline({ models: d, runtime: rt });
        try {
          await p.generate({ prompt: 'x', seed: 1 });
        } finally {
          p.dispose();
        }
      },
    })),
    concurrency: [
      {
        name: `${fast ? 8 : 32} concurrent generate() = sequential`,
        run: async () => {
          const p = await ctx.pipeline();
          const seeds = Array.from({ length: fast ? 8 : 32 }, (_, i) => i + 1);
          const seq = [];
          for (const seed of seeds.slice(0, 4))
            seq.push((await p.generate({ prompt: 'rain', seed, steps: 2 })).clips[0].clip.channels[0]);
          const par = await Promise.all(seeds.map((seed) => p.generate({ prompt: 'rain', seed, steps: 2 })));
          for (let k = 0; k < 4; k++)
            if (
              Buffer.compare(
                Buffer.from(seq[k].buffer),
                Buffer.from(par[k].clips[0].clip.channels[0].buffer),
              ) !== 0
            )
              return { dataLost: true };
        },
      },
      {
        name: 'load / generate / dispose cycles',
        run: async () => {
          for (let k = 0; k < (fast ? 3 : 20); k++) {
            const p = await sa.createStableAudioPipeline({ models: tiny, runtime: rt });
            await p.generate({ prompt: 'x', seed: k, steps: 1 });
            p.dispose();
          }
        },
      },
    ],
    'disk full (tmpfs or injected ENOSPC)': ctx.diskCases(core, audio),
    // --selftest: one case of each defect, to show that the suite sees them (run by the CI test).
    ...(process.argv.includes('--selftest')
      ? {
          'self-test (one defect of each kind)': [
            { name: 'typed', run: () => Promise.reject(new core.AudiogenError('INVALID_ARGUMENT', 'x')) },
            { name: 'accepted', run: () => {} },
            { name: 'untyped', run: () => Promise.reject(new TypeError('x is not a function')) },
            { name: 'crash', run: () => process.kill(process.pid, 'SIGSEGV') },
            {
              name: 'hang',
              run: () => {
                for (;;) {}
              },
            },
            {
              name: 'huge',
              run: () => {
                const keep = [];
                for (;;) keep.push(Buffer.alloc(64 << 20, 1));
              },
            },
            { name: 'data lost', run: () => ({ dataLost: true }) },
            { name: 'wrongly accepted', refuse: true, run: () => {} },
          ],
        }
      : {}),
  };
}

// ------------------------------------------------------------------ child: runs one class

async function child() {
  const cls = process.argv[3];
  const from = Number(process.argv[4]);
  const ctx = JSON.parse(process.env.AG_ADV_CTX);
  const core = await import('@audiogen/core');
  let pipeline;
  Object.assign(ctx, {
    n: (full, small) => (fast ? small : full),
    pipeline: async () => {
      if (!pipeline) {
        const { createStableAudioPipeline } = await import('@audiogen/stable-audio');
        const { createNativeRuntime } = await import('@audiogen/runtime-native');
        pipeline = await createStableAudioPipeline({
          models: ctx.tiny,
          runtime: createNativeRuntime({ threads: 1, echoLiteRtErrors: false }),
        });
      }
      return pipeline;
    },
    safetensors: new Uint8Array(readFileSync(ctx.safetensorsPath)),
    // A CLI call: resolves on exit 0; a typed failure (exit 2 with an AudiogenError code on stderr --json) rejects typed.
    cli: (args) =>
      new Promise((resolve, reject) => {
        const p = spawn(process.execPath, [join(root, 'packages/cli/bin/audiogen.js'), ...args, '--json'], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let err = '';
        p.stderr.on('data', (d) => (err += d));
        p.stdout.on('data', (d) => (err += d));
        p.on('exit', (code, signal) => {
          if (code === 0) return resolve();
          const m = /"code"\s*:\s*"([A-Z_]+)"/.exec(err);
          if (signal) return reject(Object.assign(new Error(`CLI killed by ${signal}`), { crash: true }));
          if (m) return reject(new core.AudiogenError(m[1], err.slice(0, 300)));
          reject(new Error(`CLI exit ${code} without a typed error: ${err.slice(-300)}`));
        });
      }),
    nanCheckpoint: async (convert) => {
      const d = join(ctx.tmp, `nan-${Date.now()}`);
      mkdirSync(join(d, 't5'), { recursive: true });
      const cfg = convert.STABLE_AUDIO_TINY;
      const w = convert.randomStableAudioWeights(cfg, 1);
      const tensors = {};
      for (const [prefix, src] of Object.entries(w.checkpoint))
        for (const k of src.keys())
          tensors[prefix + k] = { shape: src.shape(k), data: () => src.get(k).map(() => Number.NaN) };
      await convert.writeSafetensors(join(d, 'model.safetensors'), tensors);
      const t5 = {};
      for (const k of w.t5.keys()) t5[k] = { shape: w.t5.shape(k), data: () => w.t5.get(k) };
      await convert.writeSafetensors(join(d, 't5', 'model.safetensors'), t5);
      writeFileSync(join(d, 't5', 'config.json'), JSON.stringify(convert.toT5HfConfig(cfg.t5)));
      writeFileSync(join(d, 'model_config.json'), JSON.stringify(convert.toModelConfigJson(cfg)));
      await convert.convertStableAudioCheckpoint({
        checkpoint: join(d, 'model.safetensors'),
        config: join(d, 'model_config.json'),
        t5: join(d, 't5'),
        out: join(d, 'out'),
      });
    },
    diskCases: (coreMod, audio) => diskCases(ctx, coreMod, audio),
  });
  const list = (await classes(ctx))[cls];
  // Synchronous: process.exit() would drop what an async pipe write still holds.
  const say = (o) => writeSync(1, `${JSON.stringify(o)}\n`);
  for (let i = from; i < list.length; i++) {
    const c = list[i];
    say({ i, start: c.name });
    try {
      const r = await c.run();
      say({ i, outcome: 'accepted', wrong: !!c.refuse, dataLost: !!r?.dataLost });
    } catch (e) {
      if (e?.crash) say({ i, outcome: 'crash', message: String(e.message).slice(0, 300) });
      else if (core.isAudiogenError(e)) say({ i, outcome: 'typed', code: e.code, dataLost: !!e.dataLost });
      else say({ i, outcome: 'untyped', message: String(e?.stack ?? e).slice(0, 500) });
    }
  }
  say({ done: true, total: list.length });
  process.exit(0);
}

/** Writers on a full disk: a real tmpfs where this process may mount one, else injected ENOSPC. */
function diskCases(ctx, core, audio) {
  const coreTest = import('@audiogen/core/test');
  const clip = core.audioClip(44100, [new Float32Array(44100 * 2).fill(0.25), new Float32Array(44100 * 2)]);
  const writers = [
    ['writeWav', (p) => audio.writeWav(p, clip, { format: 'f32' })],
    ['writeFileAtomic 1 MB', (p) => core.writeFileAtomic(p, new Uint8Array(1 << 20).fill(3))],
    [
      'writeNpy',
      (p) =>
        core.writeFileAtomic(
          p,
          core.writeNpy(core.tensor('float32', [256, 256], new Float32Array(65536).fill(1))),
        ),
    ],
  ];
  return writers.map(([name, write]) => ({
    name: `${name} on a full disk`,
    refuse: true,
    run: async () => {
      const t = await coreTest;
      const disk = t.mountSmallDisk(256);
      const dir = typeof disk === 'string' ? mkdtempSync(join(ctx.tmp, 'disk-')) : disk.dir;
      const target = join(dir, 'out.bin');
      const old = new Uint8Array(1000).fill(9);
      writeFileSync(target, old);
      let restore = () => {};
      if (typeof disk === 'string') {
        restore = t.injectOutputFaults(async () => {
          throw Object.assign(new Error('injected: no space left on device'), { code: 'ENOSPC' });
        });
      } else disk.fill(4096);
      try {
        await write(target);
      } catch (e) {
        const after = readFileSync(target);
        const temps = (await import('node:fs'))
          .readdirSync(dir)
          .filter((f) => f !== 'out.bin' && !f.startsWith('.filler'));
        if (Buffer.compare(after, Buffer.from(old)) !== 0 || temps.length > 0) e.dataLost = true;
        throw e;
      } finally {
        restore();
        if (typeof disk !== 'string') disk.unmount();
      }
      return { dataLost: true }; // success reported on a full disk: something was lost
    },
  }));
}

// ------------------------------------------------------------------ parent

/** What the suite counts per class (the report's columns). */
const OUTCOMES = ['tried', 'typed', 'accepted', 'untyped', 'crash', 'hang', 'huge', 'dataLost', 'wrong'];
const zeroCounts = () => Object.fromEntries(OUTCOMES.map((k) => [k, 0]));

function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {}
}

async function runClass(name, ctx) {
  const counts = zeroCounts();
  const notes = [];
  const cases = [];
  let from = 0;
  for (;;) {
    const res = await new Promise((resolve) => {
      const flags = ['--fast', '--selftest'].filter((f) => process.argv.includes(f));
      const p = spawn(
        process.execPath,
        [fileURLToPath(import.meta.url), '--child', name, String(from), ...flags],
        {
          env: { ...process.env, AG_ADV_CTX: JSON.stringify(ctx) },
          stdio: ['ignore', 'pipe', 'pipe'],
          // Its own process group: a hung case is killed with everything it spawned (a CLI child would
          // otherwise outlive it and keep a core busy).
          detached: true,
        },
      );
      let current;
      let last = Date.now();
      let buf = '';
      let done = false;
      let killed;
      p.stdout.on('data', (d) => {
        buf += d;
        let k = buf.indexOf('\n');
        while (k >= 0) {
          const o = JSON.parse(buf.slice(0, k));
          buf = buf.slice(k + 1);
          k = buf.indexOf('\n');
          last = Date.now();
          if (o.done) done = true;
          else if (o.start !== undefined) current = o;
          else {
            counts.tried++;
            counts[o.outcome]++;
            cases.push(`${current.start}: ${o.outcome}${o.code ? ` ${o.code}` : ''}`);
            if (o.wrong) {
              counts.wrong++;
              notes.push(`accepted, should be refused: ${current.start}`);
            }
            if (o.dataLost) {
              counts.dataLost++;
              notes.push(`data lost: ${current.start}`);
            }
            if (o.outcome === 'untyped' || o.outcome === 'crash')
              notes.push(`${o.outcome}: ${current.start}: ${o.message}`);
            current = undefined;
          }
        }
      });
      p.stderr.on('data', () => {});
      const watch = setInterval(() => {
        let rss = 0;
        try {
          rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
        } catch {}
        if (rss > HUGE_MB) killed = 'huge';
        else if (Date.now() - last > HANG_MS) killed = 'hang';
        if (killed) killGroup(p.pid);
      }, 50);
      p.on('exit', (code, signal) => {
        clearInterval(watch);
        killGroup(p.pid); // whatever the child left running
        resolve({ done, current, killed, code, signal });
      });
    });
    if (res.done) break;
    if (!res.current) {
      notes.push(`the child for '${name}' failed outside any case (exit ${res.code}, ${res.signal})`);
      counts.crash++;
      break;
    }
    const why = res.killed ?? 'crash';
    counts.tried++;
    counts[why]++;
    notes.push(`${why}: ${res.current.start} (exit ${res.code}, ${res.signal})`);
    cases.push(`${res.current.start}: ${why}`);
    from = res.current.i + 1;
  }
  return { counts, notes, cases };
}

async function main() {
  const tmp = mkdtempSync(join(tmpdir(), 'ag-adversarial-'));
  try {
    const convert = await import('@audiogen/convert');
    const tiny = join(tmp, 'tiny');
    await convert.writeRandomStableAudioFolder({ out: tiny, tiny: true, seed: 1 });
    const safetensorsPath = join(tmp, 'small.safetensors');
    await convert.writeSafetensors(safetensorsPath, {
      a: { shape: [4, 4], data: () => new Float32Array(16).fill(1) },
      b: { shape: [8], data: () => new Float32Array(8).fill(2) },
    });
    const ctx = { tmp, tiny, safetensorsPath };
    const probe = await classes({
      ...ctx,
      n: (a, b) => (fast ? b : a),
      pipeline: () => {},
      cli: () => {},
      diskCases: () => [],
    });
    const only = arg('only')?.split(',');
    const results = {};
    const t0 = Date.now();
    for (const name of Object.keys(probe)) {
      if (only && !only.some((o) => name.includes(o))) continue;
      const t = Date.now();
      results[name] = await runClass(name, ctx);
      results[name].seconds = (Date.now() - t) / 1000;
      const c = results[name].counts;
      console.error(
        `[adversarial] ${name}: ${c.tried} tried, ${c.typed} typed, ${c.accepted} accepted, ${c.untyped} untyped, ${c.crash} crash, ${c.hang} hang, ${c.huge} huge, ${c.dataLost} data lost, ${c.wrong} wrongly accepted (${results[name].seconds.toFixed(1)} s)`,
      );
      for (const n of results[name].notes.slice(0, 10)) console.error(`    ${n}`);
    }
    const total = zeroCounts();
    for (const r of Object.values(results)) for (const k of Object.keys(total)) total[k] += r.counts[k];
    const table = [
      '| class | tried | typed error | accepted | untyped error | crash | hang | huge allocation | data lost |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...Object.entries(results).map(
        ([name, { counts: c }]) =>
          `| ${name} | ${c.tried} | ${c.typed} | ${c.accepted} | ${c.untyped} | ${c.crash} | ${c.hang} | ${c.huge} | ${c.dataLost} |`,
      ),
      `| **all** | **${total.tried}** | **${total.typed}** | **${total.accepted}** | **${total.untyped}** | **${total.crash}** | **${total.hang}** | **${total.huge}** | **${total.dataLost}** |`,
    ].join('\n');
    if (process.argv.includes('--markdown')) console.log(table);
    console.error(
      `[adversarial] ${fast ? 'fast subset' : 'whole suite'}: ${total.tried} cases in ${((Date.now() - t0) / 1000).toFixed(0)} s; accepted where a refusal was required: ${total.wrong}`,
    );
    if (arg('json')) writeFileSync(arg('json'), JSON.stringify({ fast, total, results, table }, null, 1));
    const bad = total.untyped + total.crash + total.hang + total.huge + total.dataLost + total.wrong;
    process.exitCode = bad > 0 ? 1 : 0;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child();
else await main();
