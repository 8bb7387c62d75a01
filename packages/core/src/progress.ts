/** Progress events, in the order a generation emits them. `stage` names are stable. */
export type ProgressEvent =
  | { type: 'load'; model: string; done: boolean; ms?: number }
  | { type: 'encode'; done: boolean; truncated?: boolean; tokens?: number; ms?: number }
  | { type: 'step'; variation: number; step: number; steps: number; t: number; tNext: number; ms: number }
  | { type: 'decode'; variation: number; done: boolean; ms?: number }
  | { type: 'done'; ms: number };

export type ProgressCallback = (event: ProgressEvent) => void;
