/**
 * Graph forms of the Oobleck decoder chosen by measurement (the data behind `buildDecoder`'s defaults), with
 * the evidence next to each choice. The form is fixed at convert time and serves both the float file and the
 * int8 variant `@audiogen/quantize` makes from it (recipe `sao-decoder-fast`), so each layer's choice weighs
 * both precisions. Re-measure with scripts/transpose-conv-bench.mjs (per layer) and scripts/decoder-bench.mjs
 * (whole decoder) on a new CPU class and record it here.
 */

/** How a decoder's transposed conv is written: TRANSPOSE_CONV, or CONV_2D (k=3, s·C channels) + RESHAPE. */
export type TransposedConvForm = 'native' | 'conv3';

/**
 * How the Snake between a residual unit's k7 and k1 convs is written: `'5-op'` MUL, SIN, SQUARE, MUL, ADD;
 * `'4-op'` SIN, SQUARE, MUL, ADD on z = α·x, with α folded into the k7 conv and 1/α into the k1 conv (the same
 * function; the folded weights round differently, so equal within float rounding, not bit for bit).
 */
export type SnakeForm = '5-op' | '4-op';

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
  /**
   * conv3's RESHAPE is a copy in XNNPACK: true where that second activation lands at the decoder's peak (the layer
   * that makes the largest activation), raising the whole decoder's peak RSS by its size.
   */
  conv3AtPeak: boolean;
  why: string;
}

/** Where and how the numbers below were measured. */
export const UPSAMPLER_EVIDENCE = {
  machine: 'AMD EPYC Zen 4 (family 25 model 17), 2 cores, AVX-512 F/BW/VL + AVX512-VNNI + AVX512-BF16, KVM',
  runtime: 'LiteRT 2.1.6 (x64 pin of @audiogen/runtime-native), XNNPACK, 2 threads',
  method:
    'scripts/transpose-conv-bench.mjs: each layer alone at its real shape, 7 interleaved rounds (15 for strides 8→512 and 2), median process CPU ms; machine shared with other jobs',
  date: '2026-12-06',
} as const;

/**
 * Stable Audio Open Small's five upsamplers. The rule: conv3 where it is faster in fp32 (the decoder of
 * `fp32` and `auto`), not slower in int8 (`fast`) and its RESHAPE copy does not raise the decoder's peak
 * memory; otherwise native.
 */
export const MEASURED_UPSAMPLERS: readonly MeasuredUpsampler[] = [
  {
    stride: 8,
    cin: 2048,
    cout: 1024,
    frames: 256,
    form: 'conv3',
    fp32: { native: 812, conv3: 466 },
    int8: { native: 180, conv3: 138 },
    conv3AtPeak: false,
    why: 'faster in both (fp32 0.57×, int8 0.77×)',
  },
  {
    stride: 8,
    cin: 1024,
    cout: 512,
    frames: 2048,
    form: 'native',
    fp32: { native: 819, conv3: 929 },
    int8: { native: 252, conv3: 146 },
    conv3AtPeak: false,
    why: 'fp32 conv3 slower in 2 of 3 runs (1.13× here over 15 rounds, 0.95× over 7, 1.19× in an earlier session) though int8 0.58×: the float decoder (fp32, auto) decides',
  },
  {
    stride: 4,
    cin: 512,
    cout: 256,
    frames: 16384,
    form: 'conv3',
    fp32: { native: 806, conv3: 597 },
    int8: { native: 230, conv3: 194 },
    conv3AtPeak: false,
    why: 'faster in both (fp32 0.74×, int8 0.85×)',
  },
  {
    stride: 4,
    cin: 256,
    cout: 128,
    frames: 65536,
    form: 'conv3',
    fp32: { native: 755, conv3: 639 },
    int8: { native: 343, conv3: 250 },
    conv3AtPeak: false,
    why: 'faster in both (fp32 0.85×, int8 0.73×)',
  },
  {
    stride: 2,
    cin: 128,
    cout: 128,
    frames: 262144,
    form: 'native',
    fp32: { native: 896, conv3: 726 },
    int8: { native: 371, conv3: 359 },
    conv3AtPeak: true,
    why: "fp32 0.81× (15 rounds; 0.94× over 7; sao-decoder-fast keeps this layer float), but its RESHAPE is a copy: a second 268 MB activation at the decoder's peak (whole decoder +361 MB peak RSS with blocks 1,3,4,5 rewritten) for −1 % of the decoder's CPU time",
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
 * The whole full-size decoder (11.89 s of stereo, open frames) per graph form: scripts/decoder-bench.mjs, 5
 * interleaved rounds, median process CPU ms of one run, the peak RSS loading and running it adds, the int8 file's
 * output SNR vs the native fp32 audio. Same machine and runtime as UPSAMPLER_EVIDENCE.
 */
export const WHOLE_DECODER_EVIDENCE = {
  method:
    'scripts/decoder-bench.mjs --rounds 5 (seed 1); int8 = the float file quantized with sao-decoder-fast',
  rows: [
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
 * The Snake form `buildDecoder` writes by default. The 4-op form did not win on the whole decoder
 * (WHOLE_DECODER_EVIDENCE: fp32 −0.6 %, within the rounds' spread; int8 +2.6 % and −0.27 dB SNR; an earlier 3-round
 * run: fp32 ±0, int8 +5 %), so the 5-op form stays.
 */
export const MEASURED_SNAKE_FORM: SnakeForm = '5-op';
