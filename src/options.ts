import type { Hooks, SearchParamsOption } from 'ky';
import type { Classifier } from './classify.js';
import { isCredentialHeader } from './credentials.js';
import type { DurableEvents } from './events.js';
import type { Sha256 } from './fingerprint.js';
import type { KeyFormat } from './key.js';
import { normalizeRetry, type RetryOptions, type RetryPolicy } from './retry.js';
import type { IntentStore } from './stores/store.js';

export interface ClientOptions {
  /** Prepended to every relative input, as in ky (input must then not start with `/`). */
  prefixUrl?: string | URL;
  /** Sent on every attempt and every recovery. Never persisted (credentials live here). */
  headers?: HeadersInit;
  /** Where intents are journaled. Default: `fileStore('.idempotency')` in Node, `indexedDbStore()` in browsers. */
  store?: IntentStore;
  /** Retries per call: a number (`limit`) or `RetryOptions`. Default `{ limit: 2 }`. */
  retry?: number | RetryOptions;
  /** Per-attempt timeout in ms, or `false`. Default 10 000. */
  timeout?: number | false;
  /** How long the server remembers a key. Older pending intents are not resent by `recover()`. Default 24 h (seed 002: 90 000). */
  keyTtlMs?: number;
  /** Longest key accepted. Default 255 (seed 003: 128). */
  maxKeyLength?: number;
  /** Header carrying the key. Default `Idempotency-Key`. */
  keyHeader?: string;
  /** `'token'` (default, the bare key) or `'sf-string'` (quoted, as the IETF draft writes it). */
  keyFormat?: KeyFormat;
  /** Partition of the journal (e.g. a tenant). Default: the request origin. */
  scope?: string;
  /** Request headers kept with the intent for `recover()`. Default `['content-type']`. Credentials are refused. */
  persistHeaders?: string[];
  /** Teach the client an unusual server's idempotency answers; runs before the built-in rules. */
  classify?: Classifier;
  /** More response headers that mark a replay (value `true`, `1` or `replayed`). */
  replayHeaders?: string[];
  /** The fetch to use. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** ky's hooks, run on every attempt (`beforeRequest`, `afterResponse`). */
  hooks?: Hooks;
  /** Listeners for what each call does: attempts, retries, replays, journal answers, recoveries. */
  on?: DurableEvents;
  /** Default query parameters, merged under each call's. */
  searchParams?: SearchParamsOption;
  /** `false` resolves with plain non-2xx answers instead of rejecting with `HTTPError`. Default `true`. */
  throwHttpErrors?: boolean;
}

export interface CallOptions {
  /** Serialised with JSON.stringify; sets `content-type: application/json`. */
  json?: unknown;
  body?: BodyInit | null;
  headers?: HeadersInit;
  /** A stable key makes a script re-runnable; default a fresh UUID per call. */
  idempotencyKey?: string;
  /** Aborting stops at once; the intent stays pending for `recover()`. */
  signal?: AbortSignal;
  timeout?: number | false;
  searchParams?: SearchParamsOption;
  throwHttpErrors?: boolean;
  retry?: number | RetryOptions;
}

/** What an entry point supplies for its runtime. */
export interface Platform {
  /** The store a client uses when given none. */
  defaultStore: () => IntentStore;
  sha256: Sha256;
}

export interface NormalizedOptions {
  sha256: Sha256;
  prefixUrl: string | undefined;
  headers: Headers;
  store: IntentStore;
  retry: RetryPolicy;
  timeout: number | false;
  keyTtlMs: number;
  maxKeyLength: number;
  keyHeader: string;
  keyFormat: KeyFormat;
  scope: string | undefined;
  persistHeaders: ReadonlySet<string>;
  classify?: Classifier;
  replayHeaders: readonly string[];
  fetch?: typeof fetch;
  hooks?: Hooks;
  on: DurableEvents;
  searchParams?: SearchParamsOption;
  throwHttpErrors: boolean;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0)) throw new TypeError(`${name} must be a positive number, got ${String(value)}.`);
  return value;
}

export function normalizeTimeout(timeout: number | false | undefined, fallback: number | false): number | false {
  if (timeout === undefined) return fallback;
  if (timeout === false) return false;
  return positive('timeout', timeout, 0);
}

/** Options are read and checked once, here; nothing downstream looks at raw user input. */
export function normalizeOptions(options: ClientOptions, platform: Platform): NormalizedOptions {
  const persistHeaders = new Set((options.persistHeaders ?? ['content-type']).map((name) => name.toLowerCase()));
  for (const name of persistHeaders) {
    if (isCredentialHeader(name)) throw new TypeError(`persistHeaders cannot include "${name}": credentials are never journaled.`);
  }
  const { keyFormat = 'token', scope } = options;
  if (keyFormat !== 'token' && keyFormat !== 'sf-string') throw new TypeError(`keyFormat must be 'token' or 'sf-string', got ${keyFormat}.`);
  if (scope !== undefined && !(typeof scope === 'string' && scope)) throw new TypeError('scope must be a non-empty string.');
  // new URL() throws a TypeError naming a bad prefixUrl.
  const prefix = options.prefixUrl === undefined ? undefined : new URL(options.prefixUrl);
  const prefixUrl = prefix?.href.replace(/\/?$/, '/');
  return {
    ...options,
    prefixUrl,
    headers: new Headers(options.headers),
    store: options.store ?? platform.defaultStore(),
    sha256: platform.sha256,
    retry: normalizeRetry(options.retry),
    timeout: normalizeTimeout(options.timeout, 10_000),
    keyTtlMs: positive('keyTtlMs', options.keyTtlMs, 24 * 60 * 60 * 1000),
    maxKeyLength: positive('maxKeyLength', options.maxKeyLength, 255),
    keyHeader: options.keyHeader ?? 'Idempotency-Key',
    keyFormat,
    scope: scope ?? prefix?.origin,
    persistHeaders,
    replayHeaders: options.replayHeaders ?? [],
    on: options.on ?? {},
    throwHttpErrors: options.throwHttpErrors ?? true,
  };
}
