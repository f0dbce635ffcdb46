/**
 * A client's options, checked once: each option read and validated here, a bad one a `TypeError`
 * naming it; the result a frozen `ClientConfig` of plain data. Nothing downstream reads raw input.
 */
import type { Hooks, SearchParamsOption } from 'ky';
import type { ClientOptions, Platform } from './options.js';
import type { Classifier } from './classify.js';
import { isKeyHeaderName, isSecretName, secretNames } from './credentials.js';
import type { DurableEvents } from './events.js';
import type { Sha256 } from './fingerprint.js';
import { normalizeRetry, type RetryOptions, type RetryPolicy } from './retry.js';
import { type RetryBudgetOptions, retryQuota, type RetryQuota } from './retry-budget.js';
import { type IntentStore, type KeyFormat, LONGEST_SPAN_MS } from './stores/store.js';

/**
 * A client's configuration: its options, checked once (`checkClientOptions`), as plain data —
 * frozen, holding nothing that opens, runs or changes (the store, the budget's state and the owner
 * are the client's runtime, runtime.ts).
 */
export interface ClientConfig {
  readonly sha256: Sha256;
  readonly prefix: string | undefined;
  readonly baseUrl: string | undefined;
  /** The client's headers (its credentials among them): sent on every attempt, never journaled. */
  readonly headers: Headers;
  readonly retry: RetryPolicy;
  readonly timeout: number | false;
  readonly totalTimeout: number | false;
  readonly keyTtlMs: number;
  readonly maxKeyLength: number;
  readonly keyHeader: string;
  readonly keyFormat: KeyFormat;
  readonly scope: string;
  /** Undefined when the client has neither prefix nor baseUrl nor origins: it may not recover. */
  readonly origins: readonly string[] | undefined;
  readonly persistHeaders: ReadonlySet<string>;
  /** The client's own secret names, as `isSecretName` takes them (`secretNames`). */
  readonly secretParams: ReadonlySet<string>;
  readonly leaseMs: number;
  /** The retry budget's rules, or undefined for none. */
  readonly retryBudget: RetryQuota | undefined;
  readonly classify?: Classifier;
  readonly replayHeaders: readonly string[];
  readonly fetch?: typeof fetch;
  readonly hooks?: Hooks;
  readonly on: DurableEvents;
  readonly searchParams?: SearchParamsOption;
  readonly throwHttpErrors: boolean;
  readonly autoRecover: boolean;
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

/** A time limit option: a whole number of milliseconds, or `false` for none. */
export function timeLimitOption(name: string, value: unknown, fallback: number | false): number | false {
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

/** A client's options, read and checked once, here; nothing downstream looks at raw user input. */
export function checkClientOptions(options: ClientOptions, platform: Platform): ClientConfig {
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
  return Object.freeze({
    classify: options.classify,
    fetch: options.fetch,
    hooks: options.hooks,
    searchParams: options.searchParams,
    prefix,
    baseUrl,
    headers: addHeaders('headers', new Headers(), options.headers),
    sha256: platform.sha256,
    retry: normalizeRetry(options.retry),
    timeout: timeLimitOption('timeout', options.timeout, 10_000),
    totalTimeout: timeLimitOption('totalTimeout', options.totalTimeout, false),
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
    retryBudget: options.retryBudget === false ? undefined : retryQuota(options.retryBudget ?? {}),
    replayHeaders: stringList('replayHeaders', options.replayHeaders, []).map((header) => headerName('replayHeaders', header)),
    on: options.on ?? {},
    throwHttpErrors: options.throwHttpErrors ?? true,
    autoRecover: options.autoRecover ?? false,
  });
}
