/**
 * How far the Oobleck decoder (stable-audio-tools' OobleckDecoder) looks across a latent crop's edge. Its
 * layers are: a k7 conv at the latent rate; per block (strides in reverse) SnakeBeta, a ConvTranspose1d
 * (kernel 2s, stride s, padding s/2) and three residual units (k7 convs dilated 1, 3, 9, then k1); SnakeBeta
 * and a last k7 conv. Every conv pads with zeros, so decoding only the first n latent frames changes the
 * samples whose receptive field reaches frame n or past it — and no others.
 */

/** Reach of the three residual units of a block (k7 dilated 1, 3, 9: 3 + 9 + 27 samples at its rate). */
const RESIDUAL_REACH = 3 + 9 + 27;
/** Reach of a k7 conv (pad 3). */
const K7_REACH = 3;

/**
 * Samples at the end of a decode of n latent frames that differ from the full decode (the same on the left
 * edge): the receptive field's half-width in output samples, or undefined for strides this layout does not
 * describe (odd or non-integer). `strides` as in model_config.json (encoder order: [2, 4, 4, 8, 8] for
 * SAO-small); the decoder upsamples by them in reverse. SAO-small: 18,981 samples (9.27 latent frames).
 */
export function oobleckDecoderMargin(strides: readonly number[]): number | undefined {
  if (strides.length === 0 || strides.some((s) => !Number.isInteger(s) || s < 2 || s % 2 !== 0))
    return undefined;
  let reach = K7_REACH; // in frames of the current rate, past the crop edge
  for (const s of [...strides].reverse()) {
    // Input frame i of a ConvTranspose(2s, s, s/2) reaches outputs i·s − s/2 … i·s + 3s/2 − 1.
    reach = reach * s + s / 2 + RESIDUAL_REACH;
  }
  return reach + K7_REACH;
}

/**
 * Latent frames to decode so that the first `frames` output samples equal those of a full decode of `total`
 * latent frames: the frames that hold them plus the margin, at most `total`.
 */
export function latentFramesFor(frames: number, hop: number, margin: number, total: number): number {
  return Math.min(total, Math.max(1, Math.ceil((frames + margin) / hop)));
}

/** One decoder run: latent frames [from, to) in, the samples of frames [keepFrom, keepTo) kept. */
export interface DecodeWindow {
  from: number;
  to: number;
  keepFrom: number;
  keepTo: number;
}

/**
 * The decoder runs that make the first `frames` output samples equal to a full decode of `total` latent frames,
 * with at most `planned` frames per run (the length the model was compiled for: LiteRT allocates activations
 * for it at load, so longer runs cost memory). Each run keeps only samples `margin` or more away from its cut
 * edges. `resizable` false (the runtime only runs the planned length, e.g. LiteRT's GPU): every run is exactly
 * `planned` long. A full or short decode that fits is a single run.
 */
export function decodeWindows(o: {
  frames: number;
  hop: number;
  margin: number;
  total: number;
  planned: number;
  resizable: boolean;
}): DecodeWindow[] {
  const { hop, margin, total: T, planned: P, resizable } = o;
  const frames = Math.min(o.frames, T * hop);
  const need = Math.ceil(frames / hop);
  const a = latentFramesFor(frames, hop, margin, T);
  if (a <= P) return [{ from: 0, to: resizable ? a : P, keepFrom: 0, keepTo: need }];
  const m = Math.ceil(margin / hop);
  if (P <= 2 * m) return [];
  const out: DecodeWindow[] = [];
  for (let covered = 0; covered < need; ) {
    const from = resizable ? Math.max(0, covered - m) : Math.min(Math.max(0, covered - m), T - P);
    const to = resizable ? Math.min(a, from + P) : from + P;
    const keepTo = to >= a ? need : to - m;
    out.push({ from, to, keepFrom: covered, keepTo });
    covered = keepTo;
  }
  return out;
}
