/**
 * The fetch every Hub request goes through (also handed to @huggingface/hub as its custom fetch): it
 * retries transient failures and turns HTTP and network failures into typed errors that say what to do.
 */
import { AudiogenError } from '@audiogen/core';

export interface HubRequestContext {
  endpoint: string;
  repo: string;
  revision?: string;
  file?: string;
  /** Where the token came from (undefined: none was sent). */
  tokenSource?: string;
}

export interface HubFetchOptions {
  /** Underlying fetch (tests may pass their own). */
  fetch?: typeof fetch;
  /** Retries of 429/5xx answers and connection failures. Default 4. */
  retries?: number;
  /** First retry delay; doubles each time. Default 500 ms. */
  retryDelayMs?: number;
  /** Time to wait for response headers. Default 30 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called before a retry (for a log line). */
  onRetry?: (what: string, attempt: number, delayMs: number) => void;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new AudiogenError('ABORTED', 'download was aborted', { cause: signal.reason }));
      },
      { once: true },
    );
  });

/** The system error code behind a failed fetch (ECONNREFUSED, ENOTFOUND, …), if any. */
export function networkCause(e: unknown): string | undefined {
  let c: unknown = e;
  for (let i = 0; i < 4 && c; i++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    c = (c as { cause?: unknown }).cause;
  }
  return undefined;
}

export function networkError(ctx: HubRequestContext, e: unknown, what?: string): AudiogenError {
  const cause = networkCause(e) ?? (e instanceof Error ? e.message : String(e));
  return new AudiogenError(
    'NETWORK_ERROR',
    `cannot reach ${ctx.endpoint}${what ? ` (${what})` : ''}: ${cause}. Check the connection (and HF_ENDPOINT if set); ` +
      'files already in the cache can be used with HF_HUB_OFFLINE=1',
    { cause: e, details: { endpoint: ctx.endpoint, repo: ctx.repo, cause } },
  );
}

const modelPage = (ctx: HubRequestContext) => `${ctx.endpoint}/${ctx.repo}`;
const TOKENS_PAGE = 'https://huggingface.co/settings/tokens';

/** Maps a Hub error answer to a typed error (the Hub's X-Error-Code header names the case). */
export function hubError(ctx: HubRequestContext, status: number, headers: Headers, body = ''): AudiogenError {
  const code = headers.get('x-error-code') ?? '';
  const message = headers.get('x-error-message') ?? '';
  const details = {
    status,
    hubErrorCode: code || undefined,
    repo: ctx.repo,
    revision: ctx.revision,
    file: ctx.file,
  };
  const what = ctx.file ? `${ctx.repo}/${ctx.file}` : ctx.repo;
  if (code === 'GatedRepo') {
    const how = ctx.tokenSource
      ? `the account of the token from ${ctx.tokenSource} has not been granted access yet: accept the licence at ${modelPage(ctx)} while logged in as that account (some repositories review requests by hand), then try again`
      : `no token was sent: accept the licence at ${modelPage(ctx)}, then set HF_TOKEN to a read token of that account (${TOKENS_PAGE}) or log in with \`hf auth login\``;
    return new AudiogenError('GATED_REPO', `${ctx.repo} is a gated repository: ${how}`, { details });
  }
  if (status === 401 && ctx.tokenSource && (message.includes('Invalid credentials') || !code)) {
    return new AudiogenError(
      'INVALID_TOKEN',
      `the Hub rejected the token from ${ctx.tokenSource} (401): create a new read token at ${TOKENS_PAGE} and set HF_TOKEN to it`,
      { details },
    );
  }
  if (code === 'RevisionNotFound') {
    return new AudiogenError(
      'NOT_FOUND',
      `revision "${ctx.revision}" not found in ${ctx.repo}: use a branch, tag or commit the repository has`,
      { details },
    );
  }
  if (code === 'EntryNotFound' || (status === 404 && ctx.file && code !== 'RepoNotFound')) {
    return new AudiogenError(
      'MISSING_FILE',
      `${ctx.file} is not in ${ctx.repo} at revision ${ctx.revision ?? 'main'} (see ${modelPage(ctx)}/tree/${ctx.revision ?? 'main'})`,
      { details },
    );
  }
  if (code === 'RepoNotFound' || status === 401 || status === 404) {
    return new AudiogenError(
      'NOT_FOUND',
      `repository ${ctx.repo} not found at ${ctx.endpoint}: check the name; a private repository answers the same way when ` +
        (ctx.tokenSource
          ? `the token from ${ctx.tokenSource} has no access to it`
          : 'no token is sent (set HF_TOKEN)'),
      { details },
    );
  }
  if (status === 403) {
    return new AudiogenError(
      'INVALID_TOKEN',
      `access to ${what} was refused (403${message ? `: ${message}` : ''}): ` +
        (ctx.tokenSource
          ? `the token from ${ctx.tokenSource} may lack read permission for this repository (${TOKENS_PAGE})`
          : `set HF_TOKEN to a read token (${TOKENS_PAGE})`),
      { details },
    );
  }
  const text = message || body.slice(0, 200);
  return new AudiogenError(
    'NETWORK_ERROR',
    `${ctx.endpoint} answered ${status} for ${what}${text ? `: ${text}` : ''}`,
    { details },
  );
}

const transient = (status: number) => status === 429 || status === 408 || status >= 500;

/**
 * A fetch with the Hub's failure modes made typed: connection failures and 429/5xx are retried with
 * back-off, then thrown as NETWORK_ERROR; other non-2xx answers throw the mapped error (redirects are
 * followed, 206 is success). The request context names the repo/file for messages.
 */
export function hubFetch(ctx: () => HubRequestContext, options: HubFetchOptions = {}): typeof fetch {
  const base = options.fetch ?? globalThis.fetch;
  const retries = options.retries ?? 4;
  const delay0 = options.retryDelayMs ?? 500;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const wrapped = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const c = ctx();
    for (let attempt = 0; ; attempt++) {
      if (options.signal?.aborted) {
        throw new AudiogenError('ABORTED', 'download was aborted', { cause: options.signal.reason });
      }
      // Headers must arrive within timeoutMs; the body is the caller's to time (it may take hours).
      const ctl = new AbortController();
      const timer = setTimeout(
        () => ctl.abort(new Error(`no answer within ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
      const onAbort = () => ctl.abort(options.signal?.reason);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const signals = [ctl.signal, ...(init.signal ? [init.signal] : [])];
      let res: Response | undefined;
      let failure: unknown;
      try {
        res = await base(input, {
          ...init,
          signal: signals.length > 1 ? AbortSignal.any(signals) : ctl.signal,
        });
      } catch (e) {
        failure = ctl.signal.aborted && !options.signal?.aborted ? ctl.signal.reason : e;
      } finally {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      }
      if (options.signal?.aborted) {
        throw new AudiogenError('ABORTED', 'download was aborted', { cause: options.signal.reason });
      }
      if (res && (res.ok || (res.status >= 300 && res.status < 400))) return res;
      const retryable = !res || transient(res.status);
      if (retryable && attempt < retries) {
        await res?.body?.cancel().catch(() => {});
        const retryAfter = Number(res?.headers.get('retry-after'));
        const wait =
          Number.isFinite(retryAfter) && retryAfter > 0
            ? Math.min(retryAfter * 1000, 30_000)
            : delay0 * 2 ** attempt;
        options.onRetry?.(
          res ? `HTTP ${res.status}` : (networkCause(failure) ?? String(failure)),
          attempt + 1,
          wait,
        );
        await sleep(wait, options.signal);
        continue;
      }
      if (!res) throw networkError(c, failure);
      const body = await res.text().catch(() => '');
      throw hubError(c, res.status, res.headers, body);
    }
  };
  return wrapped as typeof fetch;
}
