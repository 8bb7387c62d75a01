import { AudiogenError, type Model, type ProgressCallback, throwIfAborted } from '@audiogen/core';
import {
  bindingOf,
  checkCrossShapes,
  describeFolder,
  type FolderAdapters,
  type LoadReport,
  type ModelLoader,
  type StageAdapters,
  type StageRole,
} from './load';

/**
 * Which models a pipeline keeps in memory.
 * - `'all'` (default): createStableAudioPipeline loads the conditioner, DiT and decoder and keeps them until
 *   dispose(); repeated generations pay no load time. The encoder (audio-to-audio) is loaded the first time
 *   it is needed and kept (or at creation with `loadEncoder: true`).
 * - `'stage'` (low memory): nothing is kept between generations; generate() loads each model right before
 *   its stage and disposes it right after (encoder for audio-to-audio → conditioner → DiT for all steps and
 *   variations → decoder), so peak memory is about the largest stage instead of the sum of all models, at
 *   the cost of loading every model on every generate(). Results are byte-identical to `'all'`.
 */
export type ModelResidency = 'all' | 'stage';

/** What a stage of one generate() call reports to and is stopped by. */
export interface StageContext extends LoadReport {
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

/** When models are loaded and kept: the only thing the two residencies differ in. */
export interface ResidencyStrategy {
  readonly kind: ModelResidency;
  /** The adapters as the pipeline shows them (loaded ones, or table-bound ones that cannot run). */
  readonly adapters: FolderAdapters;
  /**
   * Variation indices that share one DiT pass and then one decoder pass: one group per variation when models
   * stay loaded (each clip is finished before the next starts), one group of all when each load is paid per stage.
   */
  groups(variations: number): number[][];
  /** Runs `body` with the adapter of `role`, loading it first if this strategy needs to. */
  use<K extends StageRole, R>(
    role: K,
    ctx: StageContext,
    body: (adapter: StageAdapters[K]) => Promise<R>,
  ): Promise<R>;
  dispose(): void;
}

const disposedError = () => new AudiogenError('DISPOSED', 'this pipeline was disposed');

/** A model loaded after creation must still be the file that was checked then. */
function checkUnchanged(loader: ModelLoader, role: StageRole, checked: string, now: string): void {
  if (checked !== now) {
    const path = loader.path(role);
    throw new AudiogenError(
      'MODEL_MISMATCH',
      `${path} changed since the pipeline was created (tensors ${now}, were ${checked}); create the pipeline again`,
      { details: { path } },
    );
  }
}

/**
 * Residency 'all': conditioner, DiT and decoder loaded at creation and kept; the encoder described at creation
 * (tables only) and loaded on first use, unless `encoder` is 'eager' (loaded now) or 'none'.
 */
export async function keepAllResidency(
  loader: ModelLoader,
  encoder: 'eager' | 'lazy' | 'none',
): Promise<ResidencyStrategy> {
  const loaded: Model[] = [];
  const keep = (m: Model) => loaded.push(m);
  let disposed = false;
  let encoderLoaded = encoder === 'eager';
  const disposeAll = () => {
    for (const m of loaded) if (!m.disposed) m.dispose();
  };
  try {
    const adapters: FolderAdapters = {
      conditioners: await loader.load('conditioners', undefined, keep),
      dit: await loader.load('dit', undefined, keep),
      decoder: await loader.load('decoder', undefined, keep),
      encoder:
        encoder === 'eager'
          ? await loader.load('encoder', undefined, keep)
          : encoder === 'lazy'
            ? await loader.describe('encoder')
            : undefined,
    };
    checkCrossShapes(loader.folder.files, adapters);
    return {
      kind: 'all',
      adapters,
      groups: (variations) => Array.from({ length: variations }, (_, v) => [v]),
      async use(role, ctx, body) {
        if (disposed) throw disposedError();
        if (role === 'encoder' && !encoderLoaded) {
          throwIfAborted(ctx.signal, 'generation');
          const checked = bindingOf(adapters.encoder!);
          const enc = await loader.load('encoder', ctx, keep);
          if (disposed) {
            disposeAll();
            throw disposedError();
          }
          checkUnchanged(loader, 'encoder', checked, bindingOf(enc));
          adapters.encoder = enc;
          encoderLoaded = true;
        }
        return body(adapters[role] as StageAdapters[typeof role]);
      },
      dispose() {
        disposed = true;
        disposeAll();
      },
    };
  } catch (e) {
    disposeAll();
    throw e;
  }
}

/**
 * Residency 'stage': every model described at creation (tables only), then loaded for its stage of each
 * generate() and disposed however the stage ends.
 */
export async function perStageResidency(
  loader: ModelLoader,
  withEncoder: boolean,
): Promise<ResidencyStrategy> {
  const checked = await describeFolder(loader, withEncoder);
  const active = new Set<Model>();
  let disposed = false;
  const release = (m: Model) => {
    active.delete(m);
    if (!m.disposed) m.dispose();
  };
  return {
    kind: 'stage',
    adapters: checked,
    groups: (variations) => [Array.from({ length: variations }, (_, v) => v)],
    async use(role, ctx, body) {
      if (disposed) throw disposedError();
      throwIfAborted(ctx.signal, 'generation');
      let model: Model | undefined;
      try {
        const adapter = await loader.load(role, ctx, (m) => {
          model = m;
          active.add(m);
        });
        if (disposed) throw disposedError();
        throwIfAborted(ctx.signal, 'generation');
        checkUnchanged(loader, role, bindingOf(checked[role]!), bindingOf(adapter));
        return await body(adapter);
      } finally {
        if (model) release(model);
      }
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const m of [...active]) release(m);
    },
  };
}
