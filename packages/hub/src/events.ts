/** What a pull reports while it works (the CLI renders these; apps may log them). */
/** A repository resolved at a revision. */
export interface ResolvedRepo {
  repo: string;
  revision: string;
  /** The commit the revision pointed at. */
  commit: string;
  /** SPDX id or the card's licence name (e.g. `apache-2.0`, `stabilityai-ai-community`); undefined when unknown. */
  licence?: string;
  gated: boolean;
}

export type HubEvent =
  /** Repository resolved (offline: from the cache alone). */
  | ({ type: 'repo'; offline: boolean } & ResolvedRepo)
  /** A file is already in the cache (ours or Python's). */
  | { type: 'cached'; file: string; size: number }
  | { type: 'file-start'; file: string; size: number; resumeFrom: number }
  | {
      type: 'progress';
      file: string;
      bytes: number;
      total: number;
      /** Bytes per second over this run. */
      rate: number;
      etaSeconds?: number;
    }
  | { type: 'file-done'; file: string; size: number; ms: number; verified: 'sha256' | 'git-sha1' }
  /** A transient failure; the transfer resumes after delayMs. */
  | { type: 'retry'; file?: string; reason: string; attempt: number; delayMs: number }
  /** A partial download was unusable and starts again from byte 0. */
  | { type: 'restart'; file: string; reason: string }
  /** The Hub could not be reached, but everything asked for is cached: the cache is used. */
  | { type: 'offline-fallback'; reason: string };

export type HubEventHandler = (e: HubEvent) => void;
