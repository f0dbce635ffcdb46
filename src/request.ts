import type { SearchParamsOption } from 'ky';
import { bufferBody, fingerprint } from './fingerprint.js';
import { formatKey, generateKey, validateKey } from './key.js';
import { isCredentialHeader } from './credentials.js';
import { type CallOptions, type NormalizedOptions, normalizeTimeout } from './options.js';
import { normalizeRetry, type RetryPolicy } from './retry.js';
import { intentId } from './stores/store.js';

/** One keyed call, fully resolved: the exact bytes and headers every attempt will send. */
export interface PreparedCall {
  scope: string;
  /** The intent's identity within its scope (key + method + path). */
  id: string;
  idempotencyKey: string;
  method: string;
  url: URL;
  /** Everything sent, the key header included. Held in memory only. */
  headers: Headers;
  /** The allow-listed subset kept with the intent. */
  persistedHeaders: Record<string, string>;
  body: Uint8Array | undefined;
  fingerprint: string;
  /** A fresh UUID of this call: no journal can hold it yet, so there is nothing to look up. */
  generatedKey: boolean;
  signal: AbortSignal | undefined;
  timeout: number | false;
  retry: RetryPolicy;
  throwHttpErrors: boolean;
}

export function resolveUrl(input: string | URL, options: NormalizedOptions, searchParams?: SearchParamsOption): URL {
  let url: URL;
  if (options.prefixUrl !== undefined && !(input instanceof URL)) {
    if (input.startsWith('/')) {
      throw new TypeError('`input` must not begin with a slash when using `prefixUrl`.');
    }
    url = new URL(options.prefixUrl + input);
  } else {
    url = new URL(input, (globalThis as { location?: { href: string } }).location?.href);
  }
  for (const params of [options.searchParams, searchParams]) {
    if (params === undefined) continue;
    for (const [name, value] of toEntries(params)) url.searchParams.append(name, value);
  }
  return url;
}

/** As ky reads searchParams: a record's undefined values are left out. */
function toEntries(params: SearchParamsOption): Iterable<[string, string]> {
  if (typeof params !== 'object' || Array.isArray(params) || params instanceof URLSearchParams) {
    return new URLSearchParams(params as string | string[][] | URLSearchParams);
  }
  return Object.entries(params)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => [name, String(value)]);
}

export function mergeHeaders(...sources: Array<HeadersInit | undefined>): Headers {
  const headers = new Headers();
  for (const source of sources) new Headers(source).forEach((value, name) => headers.set(name, value));
  return headers;
}

export function pickPersisted(headers: Headers, allowed: ReadonlySet<string>): Record<string, string> {
  const kept: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (allowed.has(name) && !isCredentialHeader(name)) kept[name] = value;
  });
  return kept;
}

/**
 * Key first: an invalid key is refused before anything is read, hashed or stored. Then the body
 * is buffered once and fingerprinted.
 */
export async function prepareCall(
  method: string,
  input: string | URL,
  call: CallOptions,
  options: NormalizedOptions,
): Promise<PreparedCall> {
  const headers = mergeHeaders(options.headers, call.headers);
  const givenKey = call.idempotencyKey ?? headers.get(options.keyHeader) ?? undefined;
  const generatedKey = givenKey === undefined;
  const idempotencyKey = givenKey ?? generateKey();
  validateKey(idempotencyKey, options.maxKeyLength);

  if (call.json !== undefined && call.body !== undefined) {
    throw new TypeError('Pass either `json` or `body`, not both.');
  }
  const url = resolveUrl(input, options, call.searchParams);
  const buffered = await bufferBody(call.json === undefined ? call.body : JSON.stringify(call.json));
  if (call.json !== undefined) headers.set('content-type', 'application/json');
  else if (buffered.contentType !== undefined && !headers.has('content-type')) headers.set('content-type', buffered.contentType);
  headers.set(options.keyHeader, formatKey(idempotencyKey, options.keyFormat));

  return {
    scope: options.scope ?? url.origin,
    id: intentId({ idempotencyKey, method, url: url.href }),
    idempotencyKey,
    method,
    url,
    headers,
    persistedHeaders: pickPersisted(headers, options.persistHeaders),
    body: buffered.bytes,
    fingerprint: await fingerprint(method, url, buffered.bytes, options.sha256),
    generatedKey,
    signal: call.signal,
    timeout: normalizeTimeout(call.timeout, options.timeout),
    retry: call.retry === undefined ? options.retry : normalizeRetry(call.retry),
    throwHttpErrors: call.throwHttpErrors ?? options.throwHttpErrors,
  };
}
