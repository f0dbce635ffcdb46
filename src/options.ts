import type { Hooks, SearchParamsOption } from 'ky';
import type { Classifier } from './classify.js';
import { isKeyHeaderName, isSecretName, secretNames } from './credentials.js';
import type { DurableEvents } from './events.js';
import type { Sha256 } from './fingerprint.js';
import { normalizeRetry, type RetryOptions, type RetryPolicy } from './retry.js';
import { RetryBudget, type RetryBudgetOptions } from './retry-budget.js';
import { Housekeeping } from './housekeeping.js';
import { Owner } from './owner.js';
import { type IntentStore, type KeyFormat, LONGEST_SPAN_MS } from './stores/store.js';

/** Everything `createClient` accepts. Each option is checked once, here; a bad one is a `TypeError` naming it. */
export interface ClientOptions {
  /**
   * Joined to every string input before it is resolved, as in ky 2 (`prefix: 'https://api.example.com/v1/'`
   * then `api.post('payouts')`). Also the default of `origins`.
   */
  prefix?: string | URL;
  /** Resolves relative inputs by the URL standard, as in ky 2. Also the default of `origins`. */
  baseUrl?: string | URL;
  /** Sent on every attempt and every recovery. Never persisted: credentials live here. */
  headers?: HeadersInit;
  /** Where intents are journaled. Default: `sqliteStore()` in Node, `indexedDbStore()` in browsers. */
  store?: IntentStore;
  /** Retries per call: a number (`limit`) or `RetryOptions`. Default `{ limit: 2 }`. */
  retry?: number | RetryOptions;
  /** Per-attempt time limit in ms, covering the answer's headers and its body, or `false`. Default 10 000. */
  timeout?: number | false;
  /**
   * Time limit of a whole call in ms, every attempt and wait included, or `false` (default). When
   * it runs out the intent stays pending. Set it for a `recover()` at start-up that must not hold
   * the start-up back.
   */
  totalTimeout?: number | false;
  /** How long the server remembers a key, ms. Older unknown outcomes become `expired`. Default 24 h (seed 002: 90 000). */
  keyTtlMs?: number;
  /** Longest key accepted. Default 255 (seed 003: 128). */
  maxKeyLength?: number;
  /**
   * Header carrying the key. Default `Idempotency-Key`. A header the secret rule calls a
   * credential (`X-Api-Key`, `Authorization`) is refused: the key is shown and journaled.
   */
  keyHeader?: string;
  /** `'token'` (default, the bare key) or `'sf-string'` (quoted, as the IETF draft writes it). */
  keyFormat?: KeyFormat;
  /** Partition of the journal (a tenant, an API key). Default `'default'`. */
  scope?: string;
  /**
   * Origins that `recover()` and `relay()` may send to. Default: the origin of `prefix` or
   * `baseUrl`; a client with neither must list them to recover.
   */
  origins?: readonly string[];
  /** Request headers kept with the intent, for recovery; `content-type` always is. Credentials are refused. */
  persistHeaders?: readonly string[];
  /**
   * More names held secret, besides every name the rule calls one (see `src/credentials.ts`: any
   * name containing token, secret, key, auth, code, session, password…): their values are masked
   * wherever a URL is shown (query and fragment), and headers so named are never journaled.
   */
  secretParams?: readonly string[];
  /** How long an owner's claim on an intent lasts, ms; renewed while it works. Default 30 000. */
  leaseMs?: number;
  /**
   * Retries this client may spend per origin, or `false` for no limit but `retry.limit`: a quota
   * as in the AWS SDKs' standard retry mode. Each origin has `capacity` tokens (default 500); a
   * retry takes `retryCost` (5), or `timeoutCost` (10) after an attempt that timed out; a call that
   * succeeds after retries gives back all it took, and one that succeeds without spending earns
   * `successReward` (1), up to the capacity. Waiting out a key in flight (409) is free.
   * `recover()` and `relay()` draw on the same tokens but leave half the capacity to live calls.
   * A call the budget stops rejects with `RetryBudgetError` (event `throttle`); its intent stays
   * pending.
   */
  retryBudget?: RetryBudgetOptions | false;
  /** Teach the client an unusual server's idempotency answers; runs before the built-in rules. */
  classify?: Classifier;
  /** More response headers that mark a replay (value `true`, `1` or `replayed`). */
  replayHeaders?: readonly string[];
  /** The fetch to use. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** ky 2's hooks (each receives ky's state object), run on every attempt. */
  hooks?: Hooks;
  /** Listeners for what each call does. A listener that throws or rejects never changes a call. */
  on?: DurableEvents;
  /** Default query parameters, merged under each call's. */
  searchParams?: SearchParamsOption;
  /** `false` resolves with plain non-2xx answers instead of rejecting with `HTTPError`. Default `true`. */
  throwHttpErrors?: boolean;
  /**
   * Calls `recover()` when the client is created, when the network comes back (`online`) and when
   * the page becomes visible again; one pass at a time, until `close()`. Meant for pages and
   * workers (elsewhere only the pass at creation happens). Needs `prefix`, `baseUrl` or `origins`.
   * Default `false`.
   */
  autoRecover?: boolean;
}

export interface CallOptions {
  /** Serialised with JSON.stringify; sets `content-type: application/json` unless a JSON-family type is given. */
  json?: unknown;
  body?: BodyInit | null;
  headers?: HeadersInit;
  /** A stable key makes a script re-runnable; default a fresh UUID per call. */
  idempotencyKey?: string;
  /** Aborting stops this caller at once; the intent stays pending for `recover()`. */
  signal?: AbortSignal;
  timeout?: number | false;
  totalTimeout?: number | false;
  searchParams?: SearchParamsOption;
  throwHttpErrors?: boolean;
  retry?: number | RetryOptions;
  /** Headers kept with this intent besides the client's `persistHeaders` (e.g. `stripe-account`). */
  persistHeaders?: readonly string[];
}

/** What an entry point supplies for its runtime. */
export interface Platform {
  /** The store a client uses when given none. */
  defaultStore: () => IntentStore;
  sha256: Sha256;
}

export interface NormalizedOptions {
  sha256: Sha256;
  prefix: string | undefined;
  baseUrl: string | undefined;
  headers: Headers;
  store: IntentStore;
  retry: RetryPolicy;
  timeout: number | false;
  totalTimeout: number | false;
  keyTtlMs: number;
  maxKeyLength: number;
  keyHeader: string;
  keyFormat: KeyFormat;
  scope: string;
  /** Undefined when the client has neither prefix nor baseUrl nor origins: it may not recover. */
  origins: readonly string[] | undefined;
  persistHeaders: ReadonlySet<string>;
  /** The client's own secret names, as `isSecretName` takes them (`secretNames`). */
  secretParams: ReadonlySet<string>;
  leaseMs: number;
  retryBudget: RetryBudget | undefined;
  housekeeping: Housekeeping;
  /** This client as an owner of intents. */
  owner: Owner;
  classify?: Classifier;
  replayHeaders: readonly string[];
  fetch?: typeof fetch;
  hooks?: Hooks;
  on: DurableEvents;
  searchParams?: SearchParamsOption;
  throwHttpErrors: boolean;
  autoRecover: boolean;
}

/** setTimeout's ceiling: a longer delay fires at once, which would turn a timeout into a failure. */
const MAX_TIMER_MS = 2_147_483_647;
/** A key TTL is no timer; its bound is the longest span a store adds to its now (`LONGEST_SPAN_MS`, ten years). */
const TEN_YEARS_MS = LONGEST_SPAN_MS;

function fail(name: string, wanted: string, value: unknown): never {
  throw new TypeError(`${name} must be ${wanted}, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}.`);
}

function positiveInteger(name: string, value: unknown, fallback: number, max: number, unit: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > max) fail(name, `a whole number of ${unit} from 1 to ${max}`, value);
  return value;
}

/** A whole number of milliseconds a timer can wait. */
export function milliseconds(name: string, value: unknown, fallback: number): number {
  return positiveInteger(name, value, fallback, MAX_TIMER_MS, 'milliseconds');
}

export function timeLimit(name: string, value: unknown, fallback: number | false): number | false {
  return value === false ? false : milliseconds(name, value, fallback as number);
}

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function headerName(name: string, value: unknown): string {
  if (typeof value !== 'string' || !HEADER_NAME.test(value)) fail(name, 'an HTTP header name', value);
  return value;
}

function stringList(name: string, value: unknown, fallback: readonly string[]): readonly string[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item === '')) fail(name, 'an array of non-empty strings', value);
  return value;
}

/** The methods every store has (the IntentStore contract); `watch` is optional. */
const STORE_METHODS = ['get', 'create', 'update', 'claim', 'list', 'compact', 'close'] as const;

/** The `on` listeners there are. */
const EVENT_NAMES = [
  'start', 'attempt', 'attemptEnd', 'retry', 'throttle', 'replay', 'journalAnswer', 'ownerWait', 'unstoredAnswer', 'damaged', 'end', 'recovery', 'error', 'traceparent',
] as const satisfies ReadonlyArray<keyof DurableEvents>;

/**
 * Adds `source` to `headers`, one header at a time. The Headers class's own error repeats the
 * value it refuses, which may be a token: ours names the header and says what is wrong, and
 * repeats no value — nor a name that is no header name (a value pasted in its place, maybe).
 */
export function addHeaders(option: string, headers: Headers, source: HeadersInit | undefined): Headers {
  if (source === undefined) return headers;
  if (source instanceof Headers) {
    source.forEach((value, name) => headers.set(name, value));
    return headers;
  }
  if (typeof source !== 'object' || source === null) throw new TypeError(`${option} must be a Headers, an array of [name, value] pairs or a record.`);
  const pairs: Iterable<unknown> = Symbol.iterator in source ? (source as Iterable<unknown>) : Object.entries(source);
  for (const pair of pairs) {
    if (!Array.isArray(pair) || pair.length !== 2) throw new TypeError(`${option}: each header must be a [name, value] pair.`);
    const [name, value] = pair as [unknown, unknown];
    if (typeof name !== 'string' || !HEADER_NAME.test(name)) {
      throw new TypeError(`${option}: a header name is not an HTTP token (letters, digits and !#$%&'*+.^_\`|~-); it is not repeated here.`);
    }
    try {
      headers.set(name, value as string);
    } catch {
      throw new TypeError(
        `${option}: the value of header "${name}" is not a valid HTTP header value (a line break, a NUL or another character fetch refuses); the value is not repeated here.`,
      );
    }
  }
  return headers;
}

/** Header names for the journal: lower-cased, never one the secret rule calls a credential (`extra`: the client's `secretParams`). */
export function persistableHeaders(name: string, value: unknown, fallback: readonly string[], extra?: ReadonlySet<string>): Set<string> {
  const names = new Set(stringList(name, value, fallback).map((header) => headerName(name, header).toLowerCase()));
  for (const header of names) {
    if (isSecretName(header, extra)) throw new TypeError(`${name} cannot include "${header}": credentials are never journaled.`);
  }
  return names;
}

/** The key header: a header name, and no credential's — the key is journaled and shown (`isKeyHeaderName`). */
function keyHeaderOption(value: unknown): string {
  const header = headerName('keyHeader', value ?? 'Idempotency-Key');
  if (!isKeyHeaderName(header)) {
    throw new TypeError(
      `keyHeader cannot be "${header}": that header may carry a credential, and the idempotency key is journaled and shown in errors, events, pending() and the CLI. ` +
        'Name the header your API reads the key from (Idempotency-Key, X-Idempotency-Key…).',
    );
  }
  return header;
}

/** An absolute http(s) URL without userinfo, as a string; undefined stays undefined. */
function baseOption(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' && !(value instanceof URL)) fail(name, 'a string or URL', value);
  const url = absoluteUrl(String(value));
  if (url === undefined) return String(value);
  refuseUserinfo(name, url);
  return url.href;
}

function absoluteUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** A URL's user:password would be journaled with the intent and shown in every error: refused. */
export function refuseUserinfo(name: string, url: URL): void {
  if (url.username !== '' || url.password !== '') {
    throw new TypeError(`${name} must not carry credentials in the URL (user:password@): pass them in headers, which are never stored.`);
  }
}

function originList(value: unknown, prefix: string | undefined, baseUrl: string | undefined): readonly string[] | undefined {
  if (value !== undefined) {
    return stringList('origins', value, []).map((origin) => {
      const url = absoluteUrl(origin);
      if (url === undefined || url.origin === 'null') fail('origins', 'a list of origins such as "https://api.example.com"', origin);
      return url.origin;
    });
  }
  const base = [prefix, baseUrl].map((candidate) => candidate && absoluteUrl(candidate)).find((url) => url instanceof URL);
  return base ? [base.origin] : undefined;
}

/** Options are read and checked once, here; nothing downstream looks at raw user input. */
export function normalizeOptions(options: ClientOptions, platform: Platform): NormalizedOptions {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  // ky 1's name: ignored, it would leave the client without a prefix and recovery without an origin.
  if ('prefixUrl' in options) throw new TypeError('prefixUrl is named prefix in ky 2 and durable-fetch 2: pass prefix (joined to inputs) or baseUrl (URL resolution).');
  const { keyFormat = 'token', scope = 'default' } = options;
  if (keyFormat !== 'token' && keyFormat !== 'sf-string') fail('keyFormat', "'token' or 'sf-string'", keyFormat);
  if (typeof scope !== 'string' || scope === '') fail('scope', 'a non-empty string', scope);
  for (const name of ['fetch', 'classify'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') fail(name, 'a function', options[name]);
  }
  for (const name of ['on', 'hooks'] as const) {
    if (options[name] !== undefined && (typeof options[name] !== 'object' || options[name] === null)) fail(name, 'an object', options[name]);
  }
  if (options.store !== undefined && STORE_METHODS.some((method) => typeof (options.store as Partial<IntentStore> | null)?.[method] !== 'function')) {
    fail('store', `an IntentStore (with ${STORE_METHODS.join(', ')})`, options.store);
  }
  if (options.retryBudget !== undefined && options.retryBudget !== false && (typeof options.retryBudget !== 'object' || options.retryBudget === null)) {
    fail('retryBudget', 'an object or false', options.retryBudget);
  }
  for (const name of EVENT_NAMES) {
    const listener = options.on?.[name];
    if (listener !== undefined && typeof listener !== 'function') fail(`on.${name}`, 'a function', listener);
  }
  if (options.throwHttpErrors !== undefined && typeof options.throwHttpErrors !== 'boolean') fail('throwHttpErrors', 'a boolean', options.throwHttpErrors);
  if (options.autoRecover !== undefined && typeof options.autoRecover !== 'boolean') fail('autoRecover', 'a boolean', options.autoRecover);
  const prefix = baseOption('prefix', options.prefix);
  const baseUrl = baseOption('baseUrl', options.baseUrl);
  const origins = originList(options.origins, prefix, baseUrl);
  if (options.autoRecover && origins === undefined) throw new TypeError('autoRecover needs to know where recovery may send: give the client `prefix`, `baseUrl` or `origins`.');
  const maxKeyLength = positiveInteger('maxKeyLength', options.maxKeyLength, 255, 65_536, 'characters');
  const secretParams = secretNames(stringList('secretParams', options.secretParams, []));
  const checked = {
    ...options,
    prefix,
    baseUrl,
    headers: addHeaders('headers', new Headers(), options.headers),
    sha256: platform.sha256,
    retry: normalizeRetry(options.retry),
    timeout: timeLimit('timeout', options.timeout, 10_000),
    totalTimeout: timeLimit('totalTimeout', options.totalTimeout, false),
    keyTtlMs: positiveInteger('keyTtlMs', options.keyTtlMs, 24 * 60 * 60 * 1000, TEN_YEARS_MS, 'milliseconds'),
    maxKeyLength,
    keyHeader: keyHeaderOption(options.keyHeader),
    keyFormat,
    scope,
    origins,
    // The content type describes the stored bytes (a FormData's boundary is written in them): kept
    // whatever the list says, or a resent body could not be read.
    persistHeaders: persistableHeaders('persistHeaders', options.persistHeaders, [], secretParams).add('content-type'),
    // Added to the rule, never instead of it: naming one more secret must not unmask `token`.
    secretParams,
    leaseMs: milliseconds('leaseMs', options.leaseMs, 30_000),
    retryBudget: options.retryBudget === false ? undefined : new RetryBudget(options.retryBudget ?? {}),
    replayHeaders: stringList('replayHeaders', options.replayHeaders, []).map((header) => headerName('replayHeaders', header)),
    on: options.on ?? {},
    throwHttpErrors: options.throwHttpErrors ?? true,
    autoRecover: options.autoRecover ?? false,
  };
  // Opened last: an invalid option must not leave a journal open behind its TypeError.
  const store = options.store ?? platform.defaultStore();
  return { ...checked, store, housekeeping: new Housekeeping(store), owner: new Owner(store) };
}
