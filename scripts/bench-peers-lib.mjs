// The pure parts of `npm run bench:peers` (scripts/bench-peers.mjs): options, statistics and the report.
// Kept apart so test/bench-peers.test.ts checks them without models, Python or minutes of CPU.
import { parseArgs } from 'node:util';
import { AudiogenError } from '@audiogen/core';

export const PEERS = ['torch', 'litert', 'sdk'];
export const PRECISIONS = ['fp32', 'auto', 'fast', 'int8'];
/** Which libLiteRt.so the SDK runs on: its pinned one, or also the Python wheel's (same library as the LiteRT peer). */
export const SDK_LIBRARIES = ['pinned', 'python'];
/** CPU feature masks the run can be made under (scripts/isa-mask.mjs). */
export const ISA_PROFILES = ['avx2'];
export const USAGE = `npm run bench:peers -- [options]

The same clip (prompt, seed, 11.89 s, 8 ping-pong steps, CFG 1) through the PyTorch reference
(stable-audio-tools), Python LiteRT on the SDK's .tflite files and the SDK, interleaved round-robin;
per-stage wall time, process CPU time and peak RSS, as ratios to the reference. Random full-size weights
(made once, seeded): the audio is noise, the timings are real.

  --rounds N          rounds, each running every peer once in its own process (default 2)
  --threads N         CPU threads for every peer (default 2)
  --peers LIST        of torch,litert,sdk (default all three)
  --precisions LIST   of fp32,auto,fast,int8 for the SDK and Python LiteRT (default fp32,auto,fast)
  --sdk-litert LIST   of pinned,python: the SDK on its pinned libLiteRt.so and/or on the Python wheel's
                      (the LiteRT peer's library: the SDK-vs-Python ratio then compares bindings only)
  --models DIR        checkpoint + model folder, made when missing (default models/peers)
  --isa avx2          run every peer with AVX-512, VNNI and AMX hidden from CPUID (scripts/isa-mask.mjs):
                      the AVX2-only kernel paths on this CPU, not a Zen 3 (Linux x86-64, cpuid_fault)
  --seed N            the clip's seed (default 42)
  --weights-seed N    seed of the random weights (default 0)
  --prompt TEXT       (default "warm ambient pads with soft piano, 90 BPM")
  --json FILE         also write everything measured as JSON
  --markdown FILE     also write the report (markdown)
  --tiny              tiny development model (seconds, not minutes; not a benchmark)
  --no-setup          skip scripts/setup-dev.sh and scripts/setup-conformance.sh
  --no-lock           do not take /tmp/audiogen-bench.lock (another full-size job may then overlap)
  -h, --help`;

const fail = (message) => new AudiogenError('INVALID_ARGUMENT', `bench:peers: ${message}`);

function list(value, known, what) {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!items.length) throw fail(`--${what} is empty`);
  for (const i of items) {
    if (!known.includes(i)) throw fail(`--${what}: unknown "${i}" (known: ${known.join(', ')})`);
  }
  return [...new Set(items)];
}

function int(value, name, min) {
  const n = Number(value);
  if (!/^\d+$/.test(String(value)) || !Number.isSafeInteger(n) || n < min) {
    throw fail(`--${name} must be an integer ≥ ${min}, got "${value}"`);
  }
  return n;
}

/** Parses and checks the command line (before any slow work). Throws AudiogenError INVALID_ARGUMENT. */
export function parsePeersArgs(argv) {
  let v;
  try {
    ({ values: v } = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        rounds: { type: 'string', default: '2' },
        threads: { type: 'string', default: '2' },
        peers: { type: 'string', default: PEERS.join(',') },
        precisions: { type: 'string', default: 'fp32,auto,fast' },
        'sdk-litert': { type: 'string', default: 'pinned' },
        isa: { type: 'string' },
        models: { type: 'string' },
        seed: { type: 'string', default: '42' },
        'weights-seed': { type: 'string', default: '0' },
        prompt: { type: 'string', default: 'warm ambient pads with soft piano, 90 BPM' },
        json: { type: 'string' },
        markdown: { type: 'string' },
        tiny: { type: 'boolean', default: false },
        'no-setup': { type: 'boolean', default: false },
        'no-lock': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    throw fail(e instanceof Error ? e.message : String(e));
  }
  if (!v.prompt.trim()) throw fail('--prompt is empty');
  if (v.isa !== undefined && !ISA_PROFILES.includes(v.isa))
    throw fail(`--isa: unknown "${v.isa}" (known: ${ISA_PROFILES.join(', ')})`);
  const seed = int(v.seed, 'seed', 0);
  if (seed > 0xffffffff) throw fail(`--seed must fit in 32 bits, got ${seed}`);
  return {
    help: v.help,
    rounds: int(v.rounds, 'rounds', 1),
    threads: int(v.threads, 'threads', 1),
    peers: list(v.peers, PEERS, 'peers'),
    precisions: list(v.precisions, PRECISIONS, 'precisions'),
    sdkLitert: list(v['sdk-litert'], SDK_LIBRARIES, 'sdk-litert'),
    isa: v.isa,
    models: v.models,
    seed,
    weightsSeed: int(v['weights-seed'], 'weights-seed', 0),
    prompt: v.prompt,
    json: v.json,
    markdown: v.markdown,
    tiny: v.tiny,
    setup: !v['no-setup'],
    lock: !v['no-lock'],
  };
}

/** The configurations of one round, in a fixed order: the reference, then per precision LiteRT and the SDK. */
export function configsOf(opts) {
  const out = [];
  if (opts.peers.includes('torch')) out.push({ id: 'torch', peer: 'torch', precision: 'fp32' });
  for (const p of opts.precisions) {
    if (opts.peers.includes('litert')) out.push({ id: `litert-${p}`, peer: 'litert', precision: p });
    if (!opts.peers.includes('sdk')) continue;
    if (opts.sdkLitert.includes('pinned'))
      out.push({ id: `sdk-${p}`, peer: 'sdk', precision: p, litert: 'pinned' });
    if (opts.sdkLitert.includes('python')) {
      out.push({ id: `sdkpy-${p}`, peer: 'sdk', precision: p, litert: 'python' });
    }
  }
  return out;
}

/** Round r runs the configurations rotated by r, so none always runs first (or right after another). */
export function roundOrder(configs, round) {
  const k = configs.length ? round % configs.length : 0;
  return [...configs.slice(k), ...configs.slice(0, k)];
}

export function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function cosine(a, b) {
  if (a.length !== b.length) return Number.NaN;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / (Math.sqrt(aa * bb) || 1e-300);
}

/** The measured quantities of one run, per stage: [wall ms, CPU ms]. DiT is per step. */
export const STAGES = [
  { key: 'conditioners', label: 'conditioners' },
  { key: 'step', label: 'DiT per step' },
  { key: 'decoder', label: 'decoder' },
  { key: 'clip', label: 'whole clip' },
];

export function stageOf(run, key) {
  if (key === 'step') {
    const d = run.stages.dit;
    return { ms: d.ms / run.steps, cpuMs: d.cpuMs / run.steps, peakMB: d.peakMB };
  }
  return key === 'clip' ? run.clip : run.stages[key];
}

/** Per configuration and stage, the ratio to `refId`'s run of the same round (paired), wall and CPU. */
export function pairedRatios(runs, refId) {
  const out = {};
  for (const r of runs) {
    const ref = runs.find((x) => x.config.id === refId && x.round === r.round);
    if (!ref || r === ref) continue;
    out[r.config.id] ??= {};
    const o = out[r.config.id];
    for (const { key } of STAGES) {
      const a = stageOf(r, key);
      const b = stageOf(ref, key);
      o[key] ??= { wall: [], cpu: [] };
      const s = o[key];
      s.wall.push(a.ms / b.ms);
      s.cpu.push(a.cpuMs / b.cpuMs);
    }
  }
  return out;
}

const fix = (x, d) => (Number.isFinite(x) ? x.toFixed(d) : '–');

/** "0.17" for one value, "0.17 (0.16–0.18)" for several: the median and the range over rounds. */
export function fmtRange(xs, d = 2) {
  const s = xs.filter((x) => Number.isFinite(x));
  if (!s.length) return '–';
  const m = fix(median(s), d);
  if (s.length === 1) return m;
  const lo = fix(Math.min(...s), d);
  const hi = fix(Math.max(...s), d);
  return lo === hi ? m : `${m} (${lo}–${hi})`;
}

/** A markdown table with padded columns (numbers right-aligned). */
export function mdTable(head, rows, align = []) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length), 3));
  const cell = (s, i) => (align[i] === 'r' ? String(s).padStart(w[i]) : String(s).padEnd(w[i]));
  const line = (r) => `| ${r.map(cell).join(' | ')} |`;
  const sep = `| ${w.map((n, i) => (align[i] === 'r' ? `${'-'.repeat(n - 1)}:` : '-'.repeat(n))).join(' | ')} |`;
  return [line(head), sep, ...rows.map(line)].join('\n');
}

export function labelOf(config, builds) {
  if (config.peer === 'torch') return `PyTorch ${builds.torch?.torch ?? ''} (reference)`.replace('  ', ' ');
  if (config.peer === 'litert')
    return `Python LiteRT ${builds.litert?.aiEdgeLitert ?? ''} · ${config.precision}`;
  if (config.litert === 'python')
    return `SDK on Python's LiteRT ${builds.litert?.aiEdgeLitert ?? '?'} · ${config.precision}`;
  return `SDK (LiteRT ${builds.sdk?.version ?? '?'}) · ${config.precision}`;
}

/**
 * The report: machine and builds, per-stage medians, paired ratios to the reference and to each other,
 * the floors of issue 14, and the sanity check (same token ids, cosine of the decoded audio).
 */
export function formatReport(report) {
  const { host, builds, runs, configs, sanity, opts } = report;
  const L = [];
  const rounds = Math.max(0, ...runs.map((r) => r.round));
  L.push(
    `Machine: ${host.cpuModel} (${host.cpus} logical CPUs; ${host.flags.join(', ') || 'no AVX-512/VNNI flags'}${host.isa ? `; ${host.isa.describe}: ${host.isa.hidden.join(', ')} hidden from every peer by CPUID masking (scripts/isa-mask.mjs) — this CPU's core, clocks and caches with an AVX2-only CPU's kernels, not a measurement of such a CPU` : ''}), ` +
      `${opts.threads} threads per peer, ${rounds} round${rounds === 1 ? '' : 's'} round-robin, load average ` +
      `${host.loadStart} at the start, ${host.loadEnd ?? '?'} at the end${host.busy ? ' — the machine was busy: compare the CPU-time ratios' : ''}.`,
  );
  L.push(
    `Builds: SDK on LiteRT ${builds.sdk?.version ?? '?'} (libLiteRt.so sha256 ${String(builds.sdk?.librarySha256 ?? '?').slice(0, 12)}…${builds.sdk?.libraryPinned === false ? ', not the pinned one' : ''}); ` +
      `Python ai-edge-litert ${builds.litert?.aiEdgeLitert ?? '–'} (CompiledModel API)` +
      (builds.sdkPython
        ? `, whose libLiteRt.so (sha256 ${builds.sdkPython.sha256.slice(0, 12)}…) the SDK also ran; `
        : '; ') +
      `PyTorch ${builds.torch?.torch ?? '–'} (CPU capability ${builds.torch?.cpuCapability ?? '–'}), stable-audio-tools ${builds.torch?.stableAudioTools ?? '–'}.`,
  );
  L.push(
    `Clip: "${opts.prompt}", seed ${opts.seed}, ${report.clip.seconds.toFixed(2)} s stereo (${report.clip.frames} frames), ` +
      `${report.clip.steps} ping-pong steps, CFG ${report.clip.cfgScale}; ${opts.tiny ? 'TINY development model (not a benchmark)' : 'full-size'} random weights (seed ${opts.weightsSeed}).`,
  );
  L.push('');
  const med = (id, key, f) => median(runs.filter((r) => r.config.id === id).map((r) => f(stageOf(r, key))));
  const s = (ms) => fix(ms / 1000, 2);
  const head = [
    'peer · precision',
    'DiT / decoder',
    'conditioners ms',
    'DiT/step ms',
    'decoder s',
    'clip s',
    'peak RSS GB clip / process',
    'audio cos vs ref',
  ];
  const rows = configs
    .filter((c) => runs.some((r) => r.config.id === c.id))
    .map((c) => {
      const one = runs.find((r) => r.config.id === c.id);
      const pair = (key, f) => `${f(med(c.id, key, (x) => x.ms))} / ${f(med(c.id, key, (x) => x.cpuMs))}`;
      const peak = median(runs.filter((r) => r.config.id === c.id).map((r) => r.clip.peakMB));
      const proc = median(runs.filter((r) => r.config.id === c.id).map((r) => r.peakMB));
      return [
        labelOf(c, builds),
        one.files ? `${one.files.dit} / ${one.files.decoder}` : 'fp32 / fp32',
        pair('conditioners', (x) => fix(x, 0)),
        pair('step', (x) => fix(x, 0)),
        pair('decoder', s),
        pair('clip', s),
        `${fix(peak / 1024, 2)} / ${fix(proc / 1024, 2)}`,
        c.peer === 'torch' ? '1' : fix(sanity.audioCosine?.[c.id], 6),
      ];
    });
  L.push('Per stage, median over rounds, wall / process CPU time (CPU time counts every thread):');
  L.push('');
  L.push(mdTable(head, rows, ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r']));
  const ratioTable = (refId, title) => {
    const rt = pairedRatios(runs, refId);
    const ids = configs.map((c) => c.id).filter((id) => rt[id]);
    if (!ids.length) return;
    L.push('');
    L.push(title);
    L.push('');
    L.push(
      mdTable(
        ['peer · precision', ...STAGES.map((x) => `${x.label} wall`), ...STAGES.map((x) => `${x.label} CPU`)],
        ids.map((id) => [
          labelOf(
            configs.find((c) => c.id === id),
            builds,
          ),
          ...STAGES.map((x) => fmtRange(rt[id][x.key].wall)),
          ...STAGES.map((x) => fmtRange(rt[id][x.key].cpu)),
        ]),
        ['l', ...STAGES.map(() => 'r'), ...STAGES.map(() => 'r')],
      ),
    );
  };
  ratioTable(
    'torch',
    'Ratio to the PyTorch reference, paired per round (median, range over rounds in brackets); below 1 is faster:',
  );
  // SDK ÷ Python LiteRT on the same files: what the SDK's binding and loop cost or save.
  const pairs = [];
  const paired = (id, ref) =>
    pairedRatios(
      runs.filter((r) => r.config.id === id || r.config.id === ref),
      ref,
    )[id];
  for (const p of opts.precisions) {
    for (const [id, name] of [
      [`sdk-${p}`, `SDK ÷ Python LiteRT · ${p}`],
      [`sdkpy-${p}`, `SDK ÷ Python LiteRT, same libLiteRt.so · ${p}`],
    ]) {
      const rt = paired(id, `litert-${p}`);
      if (rt) pairs.push([name, rt]);
    }
  }
  for (const p of opts.precisions.filter((x) => x !== 'fp32')) {
    const rt = paired(`sdk-${p}`, 'sdk-fp32');
    if (rt) pairs.push([`SDK ${p} ÷ SDK fp32`, rt]);
  }
  if (pairs.length) {
    L.push('');
    L.push('Ratios to each other, paired per round:');
    L.push('');
    L.push(
      mdTable(
        ['ratio', ...STAGES.map((x) => `${x.label} wall`), ...STAGES.map((x) => `${x.label} CPU`)],
        pairs.map(([name, rt]) => [
          name,
          ...STAGES.map((x) => fmtRange(rt[x.key].wall)),
          ...STAGES.map((x) => fmtRange(rt[x.key].cpu)),
        ]),
        ['l', ...STAGES.map(() => 'r'), ...STAGES.map(() => 'r')],
      ),
    );
  }
  const floors = floorsOf(report);
  if (floors.length) {
    L.push('');
    L.push('Floors of issue 14 (whole clip; ratios paired per round, median):');
    for (const f of floors) {
      const verdict = f.met ? 'met' : f.metCpu ? 'met in CPU time, not in wall time' : 'NOT met';
      L.push(`- ${f.text}: ${f.measured} → ${verdict}`);
    }
  }
  L.push('');
  L.push(
    `Same model everywhere: token ids ${sanity.tokensEqual ? 'equal in every peer' : `DIFFER (${sanity.tokensNote})`}; ` +
      `decoded audio cosine to the reference: ${Object.entries(sanity.audioCosine ?? {})
        .map(([id, c]) => `${id} ${fix(c, 7)}`)
        .join(', ')}` +
      (sanity.crossCosine != null
        ? `; conditioning (LiteRT vs reference) ${fix(sanity.crossCosine, 9)}`
        : '') +
      '.',
  );
  return L.join('\n');
}

/** The floors of issue 14 this run can show (only those whose configurations ran). */
export function floorsOf(report) {
  const { runs } = report;
  const out = [];
  const clipWall = (id) => median(runs.filter((r) => r.config.id === id).map((r) => r.clip.ms));
  const ratio = (id, ref) => {
    const rt = pairedRatios(
      runs.filter((r) => r.config.id === id || r.config.id === ref),
      ref,
    )[id];
    return rt ? { wall: median(rt.clip.wall), cpu: median(rt.clip.cpu) } : undefined;
  };
  const has = (id) => runs.some((r) => r.config.id === id);
  const ratioFloor = (id, ref, text, limit) => {
    if (!has(id) || !has(ref)) return;
    const r = ratio(id, ref);
    out.push({
      text,
      measured: `${fix(r.wall, 3)}× wall, ${fix(r.cpu, 3)}× CPU`,
      met: r.wall <= limit && r.cpu <= limit,
      metCpu: r.cpu <= limit,
    });
  };
  // Issue 14 sets the speed floors for hosts with an int8 dot-product instruction (VNNI); on an AVX2-only
  // host `auto` must only never be slower than fp32. The peak floor holds everywhere.
  const vnni = (report.host?.flags ?? []).some((f) => f === 'avx512_vnni' || f === 'avx_vnni');
  if (vnni) {
    ratioFloor('sdk-fast', 'torch', '`fast` ≤ 0.18× the PyTorch reference clip', 0.18);
    if (has('sdk-fast')) {
      const w = clipWall('sdk-fast');
      out.push({ text: '`fast` clip ≤ 6 s wall', measured: `${fix(w / 1000, 2)} s`, met: w <= 6000 });
    }
    ratioFloor('sdk-fast', 'sdk-fp32', '`fast` ≤ 0.40× the fp32 path', 0.4);
    ratioFloor('sdk-auto', 'sdk-fp32', '`auto` ≤ 0.75× fp32', 0.75);
  } else {
    ratioFloor('sdk-auto', 'sdk-fp32', '`auto` never slower than fp32 (no VNNI)', 1);
  }
  if (has('sdk-auto')) {
    const peak = Math.max(...runs.filter((r) => r.config.id === 'sdk-auto').map((r) => r.peakMB));
    out.push({
      text: '`auto` peak RSS ≤ 2.5 GB, every model resident',
      measured: `${fix(peak / 1024, 2)} GB`,
      met: peak <= 2560,
    });
  }
  return out;
}
