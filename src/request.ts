import type { SearchParamsOption } from 'ky';
import { bufferBody } from './body.js';
import { requestFingerprint } from './fingerprint.js';
import { formatKey, generateKey, validateKey } from './key.js';
import { isSecretName } from './credentials.js';
import { addHeaders, persistableHeaders, refuseUserinfo, timeLimitOption } from './config.js';
import type { CallOptions } from './options.js';
import type { ClientRuntime } from './runtime.js';
import { normalizeRetry } from './retry.js';
import { intentId } from './stores/store.js';
import type { PreparedCall } from './call-types.js';

/** As ky 2 resolves an input: `prefix` joined with one slash, then `baseUrl` (or the page) resolves it. */
export function resolveUrl(input: string | URL, runtime: ClientRuntime, searchParams?: SearchParamsOption): URL {
  let url: URL;
  if (typeof input === 'string') {
    const joined = runtime.config.prefix ? `${runtime.config.prefix.replace(/\/+$/, '')}/${input.replace(/^\/+/, '')}` : input;
    const page = (globalThis as { location?: { href: string } }).location?.href;
    url = new URL(joined, runtime.config.baseUrl === undefined ? page : new URL(runtime.config.baseUrl, page));
  } else if (input instanceof URL) {
    url = new URL(input.href);
  } else {
    throw new TypeError('`input` must be a string or a URL.');
  }
  for (const params of [runtime.config.searchParams, searchParams]) {
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

/** Later sources win. An invalid header is a TypeError naming it, never repeating its value (see `addHeaders`). */
export function mergeHeaders(...sources: Array<HeadersInit | undefined>): Headers {
  const headers = new Headers();
  for (const source of sources) addHeaders('headers', headers, source);
  return headers;
}

/** `extra`: the client's `secretParams`, held secret as header names too. */
export function pickPersisted(headers: Headers, allowed: ReadonlySet<string>, extra?: ReadonlySet<string>): Record<string, string> {
  const kept: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (allowed.has(name) && !isSecretName(name, extra)) kept[name] = value;
  });
  return kept;
}

/**
 * The names of a call's own headers, which the journal keeps so that `recover()` and `relay()`
 * send the request as the call did (`Stripe-Account`, `X-Tenant`): every one of them but the key
 * header, which recovery sets itself. A credential cannot be kept, so one that differs from the
 * client's — which recovery sends instead — refuses the call before anything is read or journaled:
 * never a silent drop. The rule for what is a credential is `isSecretName`, with the client's `secretParams`.
 */
function recoverableHeaders(callHeaders: HeadersInit | undefined, runtime: ClientRuntime): string[] {
  if (callHeaders === undefined) return [];
  const keyHeader = runtime.config.keyHeader.toLowerCase();
  const names: string[] = [];
  mergeHeaders(callHeaders).forEach((value, name) => {
    if (name === keyHeader) return;
    if (!isSecretName(name, runtime.config.secretParams)) {
      names.push(name);
      return;
    }
    if (runtime.config.headers.get(name) === value) return;
    const whose = runtime.config.headers.has(name) ? 'differs from the client’s' : 'is not among the client’s headers';
    throw new TypeError(
      `The header "${name}" of this call is a credential and ${whose}: recover() and relay() could not send it again, since credentials are never ` +
        'journaled and persistHeaders cannot keep one. Nothing was journaled or sent. Put it in the client’s headers (one client per account or ' +
        'tenant), or, for a value computed per request (a signature), set it in hooks.beforeRequest, which run on every attempt and every recovery.',
    );
  });
  return names;
}

/** `application/json`, `application/merge-patch+json`, `application/problem+json`...: a caller's choice `json` keeps. */
const JSON_FAMILY = /^application\/([\w.-]+\+)?json\b/i;

/** JSON.stringify drops functions and symbols silently (or returns undefined): that would journal a request nobody meant. */
function encodeJson(value: unknown): string {
  const text = JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === 'function' || typeof item === 'symbol') {
      throw new TypeError(`\`json\` holds a ${typeof item}, which JSON cannot encode: nothing was journaled or sent.`);
    }
    return item;
  });
  if (text === undefined) throw new TypeError('`json` cannot be encoded as JSON: nothing was journaled or sent.');
  return text;
}

/**
 * Key first: an invalid key is refused before anything is read, hashed or stored. Then the body
 * is copied once and fingerprinted.
 */
export async function prepareCall(method: string, input: string | URL, call: CallOptions, runtime: ClientRuntime): Promise<PreparedCall> {
  const headers = mergeHeaders(runtime.config.headers, call.headers);
  const idempotencyKey = call.idempotencyKey ?? headers.get(runtime.config.keyHeader) ?? generateKey();
  validateKey(idempotencyKey, runtime.config.maxKeyLength);

  const ownHeaders = recoverableHeaders(call.headers, runtime);
  if (call.json !== undefined && call.body !== undefined) throw new TypeError('Pass either `json` or `body`, not both.');
  const url = resolveUrl(input, runtime, call.searchParams);
  refuseUserinfo('The request URL', url);
  const buffered = await bufferBody(call.json === undefined ? call.body : encodeJson(call.json));
  if (call.json !== undefined) {
    if (!JSON_FAMILY.test(headers.get('content-type') ?? '')) headers.set('content-type', 'application/json');
  } else if (buffered.contentType !== undefined && !headers.has('content-type')) {
    headers.set('content-type', buffered.contentType);
  }
  headers.set(runtime.config.keyHeader, formatKey(idempotencyKey, runtime.config.keyFormat));
  const listed = call.persistHeaders === undefined ? [] : [...persistableHeaders('persistHeaders', call.persistHeaders, [], runtime.config.secretParams)];
  const persist = ownHeaders.length === 0 && listed.length === 0 ? runtime.config.persistHeaders : new Set([...runtime.config.persistHeaders, ...listed, ...ownHeaders]);

  return {
    scope: runtime.config.scope,
    id: intentId(idempotencyKey, method, url),
    idempotencyKey,
    keyHeader: runtime.config.keyHeader,
    keyFormat: runtime.config.keyFormat,
    method,
    url,
    headers,
    persistedHeaders: pickPersisted(headers, persist, runtime.config.secretParams),
    body: buffered.bytes,
    fingerprint: await requestFingerprint(method, url, buffered, runtime.config.sha256),
    timeout: timeLimitOption('timeout', call.timeout, runtime.config.timeout),
    totalTimeout: timeLimitOption('totalTimeout', call.totalTimeout, runtime.config.totalTimeout),
    retry: call.retry === undefined ? runtime.config.retry : normalizeRetry(call.retry),
    throwHttpErrors: call.throwHttpErrors ?? runtime.config.throwHttpErrors,
  };
}
