export interface PeersOptions {
  help: boolean;
  rounds: number;
  threads: number;
  peers: string[];
  precisions: string[];
  sdkLitert: string[];
  /** CPU feature mask every peer runs under (scripts/isa-mask.mjs), when given. */
  isa: string | undefined;
  models: string | undefined;
  seed: number;
  weightsSeed: number;
  prompt: string;
  json: string | undefined;
  markdown: string | undefined;
  tiny: boolean;
  setup: boolean;
  lock: boolean;
}
export interface PeerConfig {
  id: string;
  peer: string;
  precision: string;
  litert?: string;
}
export interface StageTime {
  ms: number;
  cpuMs: number;
  peakMB: number;
  endMB?: number;
}
export interface PeerRun {
  config: PeerConfig;
  round: number;
  steps: number;
  stages: Record<string, StageTime>;
  clip: StageTime;
  peakMB: number;
  files?: { dit: string; decoder: string };
}
export type Ratios = Record<string, Record<string, { wall: number[]; cpu: number[] }>>;
export interface Floor {
  text: string;
  measured: string;
  met: boolean;
  metCpu?: boolean;
}

export declare const PEERS: string[];
export declare const PRECISIONS: string[];
export declare const SDK_LIBRARIES: string[];
export declare const ISA_PROFILES: string[];
export declare const USAGE: string;
export declare const STAGES: { key: string; label: string }[];
export declare function parsePeersArgs(argv: string[]): PeersOptions;
export declare function configsOf(opts: PeersOptions): PeerConfig[];
export declare function roundOrder(configs: PeerConfig[], round: number): PeerConfig[];
export declare function median(xs: number[]): number;
export declare function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number;
export declare function stageOf(run: PeerRun, key: string): StageTime;
export declare function pairedRatios(runs: PeerRun[], refId: string): Ratios;
export declare function fmtRange(xs: number[], digits?: number): string;
export declare function mdTable(head: string[], rows: (string | number)[][], align?: string[]): string;
export declare function formatReport(report: unknown): string;
export declare function floorsOf(report: unknown): Floor[];
