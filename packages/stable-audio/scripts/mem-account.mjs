#!/usr/bin/env node
// Where the pipeline's memory is, stage by stage (Linux): `node packages/stable-audio/scripts/mem-account.mjs
// --folder DIR [--precision auto] [--threads 2] [--residency all] [--model-files copy|map]`. Run it under
// `flock /tmp/audiogen-bench.lock` at full size. At every stage boundary it reads /proc/self/smaps and sorts
// the resident pages by mapping: the models' private copies (memfds), other shared memory, mapped files
// (.tflite when mapped, XNNPACK weight caches, libraries), the malloc heap and anonymous mappings, plus
// Node's own view (V8 heap, external ArrayBuffers). A worker samples /proc/self/smaps_rollup every 20 ms so
// each segment also reports its peak of anonymous, shmem and file-backed RSS (the peaks need not coincide).
// `--seconds N` asks for N seconds (partial decode with an open-length decoder) instead of the whole output.
// `--release false` loads with releasePackedWeights off; the clip's sha256 shows whether the output changed.
import { createHash } from 'node:crypto';
import { fstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { isMainThread, Worker, workerData } from 'node:worker_threads';

const rollup = (pid) => {
  const o = {};
  for (const l of readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+) kB/.exec(l);
    if (m) o[m[1]] = Number(m[2]) / 1024;
  }
  return o;
};

if (!isMainThread) {
  // Sampler: the maxima since the last reset, for the main thread to read at each boundary.
  const { pid, shared } = workerData;
  const max = new Float64Array(shared);
  for (;;) {
    try {
      const r = rollup(pid);
      const cur = [r.Rss, r.Anonymous, r.Pss_Shmem ?? 0, r.Pss_File ?? 0];
      for (let i = 0; i < cur.length; i++) if (cur[i] > max[i]) max[i] = cur[i];
    } catch {}
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
}

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const folder = arg('folder');
if (!folder) throw new Error('--folder DIR is required');
const precision = arg('precision', 'auto');
const threads = Number(arg('threads', '2'));
const residency = arg('residency', 'all');
const modelFiles = arg('model-files', 'copy');
const releasePackedWeights = arg('release', 'true') !== 'false';
const seconds = arg('seconds'); // default: the decoder's whole output (fullLength)

const smaps = () => {
  const groups = {};
  let name = '';
  let size = 0;
  for (const l of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(l);
    if (head) {
      const [a, b] = l.split(' ')[0].split('-');
      size = (Number.parseInt(b, 16) - Number.parseInt(a, 16)) / 2 ** 20;
      name = head[1];
      continue;
    }
    const m = /^Rss:\s+(\d+) kB/.exec(l);
    if (!m) continue;
    const rss = Number(m[1]) / 1024;
    let key;
    if (name.includes('memfd:audiogen-model')) key = `memfd ${size.toFixed(0)} MB`;
    else if (name.startsWith('/memfd:') || name.startsWith('/dev/shm') || name.startsWith('/SYSV'))
      key = 'other shmem';
    else if (name.endsWith('.tflite')) key = `file ${name.split('/').pop()}`;
    else if (name.includes('xnn') || name.includes('cache')) key = `file ${name.split('/').pop()}`;
    else if (name.startsWith('/')) key = 'libraries/other files';
    else if (name === '[heap]') key = 'brk heap';
    else if (name === '') key = size >= 64 ? 'anon ≥64 MB mappings' : 'anon <64 MB mappings';
    else key = name;
    groups[key] = (groups[key] ?? 0) + rss;
  }
  for (const k of Object.keys(groups)) if (groups[k] < 1) delete groups[k];
  return groups;
};

// What the models' memfds hold in memory (their allocated blocks), mapped or not: shared memory that is not
// mapped is in no RSS figure, so it is counted here too.
const memfdHeld = () => {
  const held = new Map(); // by inode: LiteRT keeps its own descriptor of the same memfd open
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).includes('memfd:audiogen-model')) {
        const st = fstatSync(Number(fd));
        held.set(st.ino, st.blocks * 512);
      }
    } catch {}
  }
  return [...held.values()].reduce((a, b) => a + b, 0) / 2 ** 20;
};

const shared = new SharedArrayBuffer(8 * 4);
const max = new Float64Array(shared);
const worker = new Worker(new URL(import.meta.url), { workerData: { pid: process.pid, shared } });
worker.unref();

const { createNativeRuntime } = await import('@audiogen/runtime-native');
const { createStableAudioPipeline } = await import('@audiogen/stable-audio');
const rows = [];
let current = 'start';
const boundary = (next) => {
  const r = rollup('self');
  const mu = process.memoryUsage();
  rows.push({
    segment: current,
    peak: { rss: max[0], anon: max[1], shmem: max[2], file: max[3] },
    end: { rss: r.Rss, anon: r.Anonymous, shmem: r.Pss_Shmem, file: r.Pss_File },
    groups: smaps(),
    memfdHeld: memfdHeld(),
    node: {
      heapUsed: mu.heapUsed / 2 ** 20,
      external: mu.external / 2 ** 20,
      arrayBuffers: mu.arrayBuffers / 2 ** 20,
    },
  });
  max.fill(0);
  current = next;
};
const onProgress = (e) => {
  if (e.type === 'load' && !e.done) boundary(`load ${e.model}`);
  else if (e.type === 'load' && e.done) boundary(`after load ${e.model}`);
  else if (e.type === 'encode' && !e.done) boundary('T5 run');
  else if (e.type === 'step' && e.step === 0 && e.variation === 0) boundary('DiT run');
  else if (e.type === 'decode' && !e.done && e.variation === 0) boundary('decoder run');
  else if (e.type === 'done') boundary('idle');
};
const p = await createStableAudioPipeline({
  models: folder,
  runtime: createNativeRuntime({ modelFiles, releasePackedWeights }),
  threads,
  loadEncoder: false,
  residency,
  precision,
  onProgress,
});
const res = await p.generate({
  prompt: 'warm ambient pads with soft piano, 90 BPM',
  ...(seconds ? { seconds: Number(seconds) } : { fullLength: true }),
  seed: 42,
  onProgress,
});
boundary('end');
const hash = createHash('sha256');
for (const c of res.clips[0].clip.channels) hash.update(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
p.dispose();
const f = (x) => (x === undefined ? '' : x.toFixed(0));
console.log(
  `precision ${precision}, threads ${threads}, residency ${residency}, modelFiles ${modelFiles}, releasePackedWeights ${releasePackedWeights}, ${seconds ? `${seconds} s` : 'full length'}, decoded frames ${JSON.stringify(res.decodedFrames)}; clip sha256 ${hash.digest('hex').slice(0, 16)}`,
);
console.log(
  'segment | peak RSS / anon / shmem / file | end RSS / anon / shmem / file | memfds held (mapped or not) | end: by mapping (MB) | node heapUsed / external',
);
for (const r of rows.slice(1)) {
  const g = Object.entries(r.groups)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${f(v)}`)
    .join(', ');
  console.log(
    `${r.segment} | ${f(r.peak.rss)} / ${f(r.peak.anon)} / ${f(r.peak.shmem)} / ${f(r.peak.file)} | ${f(r.end.rss)} / ${f(r.end.anon)} / ${f(r.end.shmem)} / ${f(r.end.file)} | ${f(r.memfdHeld)} | ${g} | ${f(r.node.heapUsed)} / ${f(r.node.external)}`,
  );
}
process.exit(0);
