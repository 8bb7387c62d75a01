export interface IsaMask {
  /** The Linux flag names the mask hides. */
  hides: string[];
  /** glibc's matching GLIBC_TUNABLES setting. */
  glibc: string;
  describe: string;
}
export declare const ISA_MASKS: Record<string, IsaMask>;
/** Why this machine cannot run a mask ('' when it can). */
export declare function isaMaskUnavailable(): string;
/** Builds the preload library (once per source version); returns its path. */
export declare function buildIsaMask(): string;
/** The environment that runs a child (and its children) under `profile`. */
export declare function isaMaskEnv(profile: string, base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
