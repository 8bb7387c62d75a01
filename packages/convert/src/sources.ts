/**
 * Where the converter's inputs for a known model family live on the Hugging Face Hub: exactly the files
 * `convertStableAudioCheckpoint` reads, nothing more (`audiogen pull` downloads these).
 */
export interface HubFiles {
  /** `org/name` of a model repository. */
  repo: string;
  files: string[];
  /** A gated repository: its licence must be accepted on the model page before a download. */
  gated?: boolean;
}

export interface HubSources {
  /** The diffusion checkpoint and its model_config.json. */
  checkpoint: HubFiles & { checkpointFile: string; configFile: string };
  /** The T5 encoder folder (weights, config, SentencePiece model). */
  t5: HubFiles;
}

export const HUB_SOURCES: Record<string, HubSources> = {
  'stable-audio-open-small': {
    checkpoint: {
      repo: 'stabilityai/stable-audio-open-small',
      files: ['model.safetensors', 'model_config.json'],
      checkpointFile: 'model.safetensors',
      configFile: 'model_config.json',
      gated: true,
    },
    t5: { repo: 'google-t5/t5-base', files: ['model.safetensors', 'config.json', 'spiece.model'] },
  },
};
