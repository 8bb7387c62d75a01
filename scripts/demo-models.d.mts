import type { FolderResult, StableAudioConfig } from '@audiogen/convert';

export declare const DEMO_CONFIG: StableAudioConfig;
export declare function writeDemoModels(
  out: string,
  options?: { full?: boolean; onProgress?: (message: string) => void },
): Promise<FolderResult>;
