/**
 * Where the Hub is, where its cache lives and which token to send: the environment variables
 * huggingface_hub reads (HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_TOKEN, HF_TOKEN_PATH, HF_HUB_OFFLINE),
 * so Python and this package share one cache and one login.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AudiogenError } from '@audiogen/core';
import { getHFHubCachePath } from '@huggingface/hub';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

export interface HubSettings {
  /** Hub base URL without a trailing slash. */
  endpoint: string;
  /** The shared cache folder (`models--org--name/…` lives here). */
  cacheDir: string;
  token?: string;
  /** Where the token came from, for error messages ("HF_TOKEN", a file path, or "option"). */
  tokenSource?: string;
  /** No network: only cached files are used. */
  offline: boolean;
}

export interface HubSettingsOptions {
  endpoint?: string;
  cacheDir?: string;
  /** A token, or `false` to send none even if the environment has one. */
  token?: string | false;
  offline?: boolean;
}

const TRUE_VALUES = new Set(['1', 'ON', 'YES', 'TRUE']);

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p;
}

/** `$HF_HOME` (default `$XDG_CACHE_HOME/huggingface`, then `~/.cache/huggingface`). */
export function hfHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HOME) return expandHome(env.HF_HOME);
  return join(env.XDG_CACHE_HOME ? expandHome(env.XDG_CACHE_HOME) : join(homedir(), '.cache'), 'huggingface');
}

/** The token file huggingface_hub's login writes: `$HF_TOKEN_PATH`, else `$HF_HOME/token`. */
export function tokenPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.HF_TOKEN_PATH ? expandHome(env.HF_TOKEN_PATH) : join(hfHome(env), 'token');
}

function readToken(env: NodeJS.ProcessEnv): { token?: string; tokenSource?: string } {
  for (const name of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN']) {
    const t = env[name]?.trim();
    if (t) return { token: t, tokenSource: name };
  }
  const file = tokenPath(env);
  try {
    const t = readFileSync(file, 'utf8').trim();
    if (t) return { token: t, tokenSource: file };
  } catch {
    // No token file: anonymous access (enough for public repositories).
  }
  return {};
}

/** Reads the settings from the environment; options override it. */
export function hubSettings(
  options: HubSettingsOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): HubSettings {
  const endpoint = (options.endpoint ?? env.HF_ENDPOINT ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new AudiogenError('INVALID_ARGUMENT', `the Hub endpoint "${endpoint}" (HF_ENDPOINT) is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AudiogenError('INVALID_ARGUMENT', `the Hub endpoint "${endpoint}" must be an http(s) URL`);
  }
  // The client reads HF_HUB_CACHE / HUGGINGFACE_HUB_CACHE / HF_HOME from process.env itself.
  const cacheDir =
    options.cacheDir ??
    (env === process.env
      ? expandHome(getHFHubCachePath())
      : expandHome(env.HF_HUB_CACHE ?? env.HUGGINGFACE_HUB_CACHE ?? join(hfHome(env), 'hub')));
  const offline =
    options.offline ?? TRUE_VALUES.has((env.HF_HUB_OFFLINE ?? env.TRANSFORMERS_OFFLINE ?? '').toUpperCase());
  const tok =
    options.token === false
      ? {}
      : options.token !== undefined
        ? { token: options.token, tokenSource: 'option' }
        : readToken(env);
  if (tok.token !== undefined && !/^hf_[A-Za-z0-9_-]+$/.test(tok.token)) {
    throw new AudiogenError(
      'INVALID_TOKEN',
      `the token from ${tok.tokenSource} does not look like a Hugging Face token (they start with "hf_"): ` +
        'create a read token at https://huggingface.co/settings/tokens',
      { details: { tokenSource: tok.tokenSource } },
    );
  }
  return { endpoint, cacheDir, offline, ...tok };
}
