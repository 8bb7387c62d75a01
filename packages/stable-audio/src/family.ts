/** Defaults of the Stable Audio Open family (facts: stable-audio-tools 0.0.19 and Arm's audiogen sample). */
export interface StableAudioFamilyConfig {
  readonly family: string;
  /** Output sample rate in Hz. */
  readonly sampleRate: number;
  /** Output channels. */
  readonly channels: number;
  /** Frames the decoder writes per clip (524,288 for SAO-small ≈ 11.89 s). */
  readonly sampleSize: number;
  /** Latent shape [batch, channels, frames]. */
  readonly latentShape: readonly number[];
  /** The seconds conditioner's clamp range (NumberConditioner min_val/max_val). */
  readonly secondsMin: number;
  readonly secondsMax: number;
  /** Default sampler and steps for the diffusion objective (rf_denoiser → ping-pong, 8 steps, CFG 1). */
  readonly sampler: string;
  readonly steps: number;
  readonly cfgScale: number;
  /** Padded token length of the T5 conditioner input (Arm's graph: 128). */
  readonly tokenLength: number;
  /**
   * Most prompt tokens (EOS included) the model was trained with: the reference's T5 max_length (64). Longer
   * prompts are cut there, as the reference does, even when the conditioner takes more positions (Arm's 128):
   * T5's outputs at the kept positions would otherwise see tokens the reference never shows it.
   */
  readonly promptTokens: number;
  /**
   * The autoencoder's strides as in model_config.json (encoder order; the decoder upsamples by them in
   * reverse): they give the decoder's receptive field, so a decoder with an open frame dimension decodes only
   * the latent frames a shorter clip needs (see receptive-field.ts).
   */
  readonly decoderStrides: readonly number[];
}

export const STABLE_AUDIO_OPEN_SMALL_FAMILY: StableAudioFamilyConfig = {
  family: 'stable-audio-open-small',
  sampleRate: 44100,
  channels: 2,
  sampleSize: 524288,
  latentShape: [1, 64, 256],
  secondsMin: 0,
  secondsMax: 256,
  sampler: 'pingpong',
  steps: 8,
  cfgScale: 1,
  tokenLength: 128,
  promptTokens: 64,
  decoderStrides: [2, 4, 4, 8, 8],
};

/**
 * How prompts are tokenized for a conditioner taking `tokenLength` ids: as the reference, at most
 * `promptTokens` ids (EOS included), padded to what the conditioner takes.
 */
export function promptTokenizerOptions(
  config: Pick<StableAudioFamilyConfig, 'promptTokens'>,
  tokenLength: number,
): { maxLength: number; padTo: number } {
  return { maxLength: Math.min(config.promptTokens, tokenLength), padTo: tokenLength };
}

/** Seconds the Arm sample conditions on; our default duration. */
export const DEFAULT_SECONDS = 10;
