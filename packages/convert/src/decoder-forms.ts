/**
 * Graph forms of the Oobleck decoder chosen by measurement (the data behind `buildDecoder`'s defaults), with
 * the evidence next to each choice. The form is fixed at convert time and serves both the float file and the
 * int8 variant `@audiogen/quantize` makes from it (recipe `sao-decoder-fast`), so each layer's choice weighs
 * both precisions. Re-measure with scripts/transpose-conv-bench.mjs (per layer) and scripts/decoder-bench.mjs
 * (whole decoder) on a new CPU class and record it here.
 */

/**
 * How a decoder's transposed conv is written: `'native'` TRANSPOSE_CONV; `'conv3'` CONV_2D (k=3, s·C channels,
 * a third of its taps zero) + RESHAPE; `'conv2'` PAD + CONV_2D (k=2 VALID, s·C channels, every tap used) +
 * RESHAPE + STRIDED_SLICE (two thirds of conv3's multiply-adds).
 */
export type TransposedConvForm = 'native' | 'conv3' | 'conv2';

/**
 * How the Snake between a residual unit's k7 and k1 convs is written: `'5-op'` MUL, SIN, SQUARE, MUL, ADD;
 * `'4-op'` SIN, SQUARE, MUL, ADD on z = α·x, with α folded into the k7 conv and 1/α into the k1 conv (the same
 * function; the folded weights round differently, so equal within float rounding, not bit for bit).
 */
export type SnakeForm = '5-op' | '4-op';

/**
 * How the decoder's last conv (C → 2 audio channels, k7, 'SAME') is written: `'conv'` one CONV_2D (a GEMM 2
 * columns wide, which fills an eighth of XNNPACK's tiles); `'taps'` a 1×1 CONV_2D to 7·2 channels (every tap's
 * products at once), PAD, 7 crops shifting each tap into place and 6 ADDs.
 */
export type OutputConvForm = 'conv' | 'taps';

/** One upsampling layer of the decoder: block (1 = first after the input conv), stride, channels, frames in. */
export interface UpsamplerLayer {
  block: number;
  stride: number;
  cin: number;
  cout: number;
  frames: number;
}

/** Median process CPU ms of one run, per form. */
export interface FormTiming {
  native: number;
  conv3: number;
  conv2: number;
}

export interface MeasuredUpsampler {
  stride: number;
  cin: number;
  cout: number;
  /** frames in at the full clip length (the shape measured) */
  frames: number;
  form: TransposedConvForm;
  fp32: FormTiming;
  /** dynamic int8 weights (sao-decoder-int8 on the layer alone) */
  int8: FormTiming;
  why: string;
}

/** Where and how the numbers below were measured. */
export const UPSAMPLER_EVIDENCE = {
  machine: 'AMD EPYC Zen 4 (family 25 model 17), 2 cores, AVX-512 F/BW/VL + AVX512-VNNI + AVX512-BF16, KVM',
  runtime: 'LiteRT 2.3.0 (the x64 pin of @audiogen/runtime-native since 2026-12-06), XNNPACK, 2 threads',
  method:
    'scripts/transpose-conv-bench.mjs: each layer alone at its real shape, 9 interleaved rounds, median process CPU ms; machine shared with other jobs',
  date: '2026-12-06',
} as const;

/**
 * Stable Audio Open Small's five upsamplers. The rule: the form fastest in fp32 (the decoder of `fp32` and `auto`,
 * and the layer `fast` keeps float) among those not slower than native in int8 (`fast`). conv2 wins both in every
 * layer: it is conv3 without the zero taps. Confirmed on the whole decoder (WHOLE_DECODER_EVIDENCE).
 */
export const MEASURED_UPSAMPLERS: readonly MeasuredUpsampler[] = [
  {
    stride: 8,
    cin: 2048,
    cout: 1024,
    frames: 256,
    form: 'conv2',
    fp32: { native: 744, conv3: 460, conv2: 284 },
    int8: { native: 175, conv3: 111, conv2: 78 },
    why: 'fastest in both (conv2 ÷ native: fp32 0.38×, int8 0.44×; ÷ conv3: 0.62×, 0.70×)',
  },
  {
    stride: 8,
    cin: 1024,
    cout: 512,
    frames: 2048,
    form: 'conv2',
    fp32: { native: 770, conv3: 843, conv2: 570 },
    int8: { native: 248, conv3: 164, conv2: 112 },
    why: 'fastest in both (conv2 ÷ native: fp32 0.74×, int8 0.45×; ÷ conv3: 0.68×, 0.68×)',
  },
  {
    stride: 4,
    cin: 512,
    cout: 256,
    frames: 16384,
    form: 'conv2',
    fp32: { native: 790, conv3: 558, conv2: 380 },
    int8: { native: 217, conv3: 182, conv2: 151 },
    why: 'fastest in both (conv2 ÷ native: fp32 0.48×, int8 0.70×; ÷ conv3: 0.68×, 0.83×)',
  },
  {
    stride: 4,
    cin: 256,
    cout: 128,
    frames: 65536,
    form: 'conv2',
    fp32: { native: 746, conv3: 600, conv2: 437 },
    int8: { native: 283, conv3: 243, conv2: 231 },
    why: 'fastest in both (conv2 ÷ native: fp32 0.59×, int8 0.82×; ÷ conv3: 0.73×, 0.95×)',
  },
  {
    stride: 2,
    cin: 128,
    cout: 128,
    frames: 262144,
    form: 'conv2',
    fp32: { native: 1085, conv3: 974, conv2: 586 },
    int8: { native: 429, conv3: 390, conv2: 354 },
    why: 'fastest in both (conv2 ÷ native: fp32 0.54×, int8 0.83×; ÷ conv3: 0.60×, 0.91×)',
  },
];

/** The measured form of a layer: matched on stride and channels; native for a shape never measured. */
export function measuredUpsamplerForm(
  layer: Pick<UpsamplerLayer, 'stride' | 'cin' | 'cout'>,
): TransposedConvForm {
  const m = MEASURED_UPSAMPLERS.find(
    (x) => x.stride === layer.stride && x.cin === layer.cin && x.cout === layer.cout,
  );
  return m?.form ?? 'native';
}

/**
 * The whole full-size decoder (11.89 s of stereo, open frames) per graph form: scripts/decoder-bench.mjs, interleaved
 * rounds, median process CPU ms of one run, the peak RSS loading and running it adds, the int8 file's output SNR vs
 * the all-native fp32 audio. int8 = the float file quantized with sao-decoder-fast. Same machine as
 * UPSAMPLER_EVIDENCE.
 */
export const WHOLE_DECODER_EVIDENCE = {
  method: 'scripts/decoder-bench.mjs, random weights seed 1, one decoder loaded at a time',
  'LiteRT 2.3.0, 3 rounds': [
    {
      forms: 'all native',
      fp32CpuMs: 16021,
      int8CpuMs: 6444,
      fp32PeakMB: 1257,
      int8PeakMB: 1045,
      int8SnrDb: 47.73,
    },
    {
      forms: 'conv3 in blocks 1,3,4',
      fp32CpuMs: 15669,
      int8CpuMs: 6293,
      fp32PeakMB: 1348,
      int8PeakMB: 1067,
      int8SnrDb: 47.65,
    },
    {
      forms: 'conv3 in blocks 1,3,4,5 (default)',
      fp32CpuMs: 15484,
      int8CpuMs: 6180,
      fp32PeakMB: 1346,
      int8PeakMB: 1059,
      int8SnrDb: 47.65,
    },
  ],
  'LiteRT 2.3.0, 3 rounds, session 6, the runtime fusing the Snakes (its default); SNR vs the first row': [
    {
      forms: 'conv3 in blocks 1,3,4,5 (the previous default)',
      fp32CpuMs: 15302,
      int8CpuMs: 5440,
      fp32PeakMB: 1554,
      int8PeakMB: 1344,
      int8SnrDb: 47.65,
    },
    {
      forms: 'conv2 in every block (default)',
      fp32CpuMs: 14249,
      int8CpuMs: 5088,
      fp32PeakMB: 1530,
      int8PeakMB: 1312,
      int8SnrDb: 47.66,
    },
  ],
  'LiteRT 2.3.0, 3 rounds, a second run (heavily loaded machine)': [
    {
      forms: 'all native',
      fp32CpuMs: 16476,
      int8CpuMs: 6575,
      fp32PeakMB: 1261,
      int8PeakMB: 1030,
      int8SnrDb: 47.73,
    },
    {
      forms: 'conv3 in blocks 1,3,4,5 (default)',
      fp32CpuMs: 15676,
      int8CpuMs: 6130,
      fp32PeakMB: 1345,
      int8PeakMB: 1048,
      int8SnrDb: 47.65,
    },
    {
      forms: 'conv3 in every block',
      fp32CpuMs: 15895,
      int8CpuMs: 6158,
      fp32PeakMB: 1339,
      int8PeakMB: 1066,
      int8SnrDb: 47.64,
    },
  ],
  'LiteRT 2.3.0, 3 rounds, the Snake': [
    {
      forms: 'conv3 in blocks 1,3,4,5, 5-op Snake (default)',
      fp32CpuMs: 15642,
      int8CpuMs: 5905,
      fp32PeakMB: 1344,
      int8PeakMB: 1063,
      int8SnrDb: 47.65,
    },
    {
      forms: 'conv3 in blocks 1,3,4,5, 4-op Snake',
      fp32CpuMs: 15459,
      int8CpuMs: 5744,
      fp32PeakMB: 1344,
      int8PeakMB: 1065,
      int8SnrDb: 47.38,
    },
  ],
  'LiteRT 2.1.6, 5 rounds': [
    {
      forms: 'all native, 5-op Snake',
      fp32CpuMs: 16253,
      int8CpuMs: 6307,
      fp32PeakMB: 2093,
      int8PeakMB: 2407,
      int8SnrDb: 47.73,
    },
    {
      forms: 'conv3 in blocks 1,3,4,5, 5-op Snake',
      fp32CpuMs: 15575,
      int8CpuMs: 5770,
      fp32PeakMB: 2454,
      int8PeakMB: 2695,
      int8SnrDb: 47.65,
    },
    {
      forms: 'conv3 in blocks 1,3,4,5, 4-op Snake',
      fp32CpuMs: 15476,
      int8CpuMs: 5919,
      fp32PeakMB: 2454,
      int8PeakMB: 2696,
      int8SnrDb: 47.38,
    },
    {
      forms: 'conv3 in every block, 5-op Snake',
      fp32CpuMs: 15591,
      int8CpuMs: 5952,
      fp32PeakMB: 2485,
      int8PeakMB: 2701,
      int8SnrDb: 47.64,
    },
  ],
} as const;

/**
 * The Snake form `buildDecoder` writes by default: 5-op. The 4-op form is exact in float, and on LiteRT 2.3.0 it is a
 * little faster (WHOLE_DECODER_EVIDENCE: fp32 0.988×, int8 0.973×; on 2.1.6 fp32 0.994×, int8 1.026×), but it
 * scales the k1 conv's input channels by α: in the int8 file (dynamic per-row activation quantization) a channel's
 * error grows with max(α)/α of its row. Random weights (log α with std 0.1: little spread) lose 0.27 dB SNR;
 * trained α could not be checked here (no real weights), so a 1–3 % gain does not justify the risk to `fast`.
 */
export const MEASURED_SNAKE_FORM: SnakeForm = '5-op';

/**
 * The last conv (128 → 2, k7, over all 524288 frames), by LiteRT's own op profile (runtime-native's
 * `profile: true`) and the whole decoder (scripts/decoder-bench.mjs --variants measured-conv,measured-taps,
 * 3 interleaved rounds, seed 1; UPSAMPLER_EVIDENCE's machine and runtime, 2026-12-07). As one CONV_2D it took
 * 69 ms of a 2.5 s int8 decode (fp32 IGEMM two columns wide, ~14 GFLOP/s per core); as taps its 1×1 conv
 * takes ~23 ms (memory-bound: it reads the 268 MB activation once) and the pad, crops and ADDs ~12 ms.
 */
export const OUTPUT_CONV_EVIDENCE = {
  fp32: { convCpuMs: 13977, tapsCpuMs: 13902, ratio: 0.995, peakMB: { conv: 1530, taps: 1501 } },
  int8: { convCpuMs: 4792, tapsCpuMs: 4768, ratio: 0.995, peakMB: { conv: 1304, taps: 1274 }, snrDb: 47.66 },
  equality: 'cosine 1.000000000, max |diff| 9.7e-8 against the one-conv form (float sums in another order)',
} as const;

/** The last conv's form (OutputConvForm): 'taps', by OUTPUT_CONV_EVIDENCE (faster in both precisions, less peak). */
export const MEASURED_OUTPUT_CONV_FORM: OutputConvForm = 'taps';
