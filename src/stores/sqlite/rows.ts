import type { SQLInputValue } from 'node:sqlite';
import type { Intent, IntentChange, IntentSummary, StoredResponse } from '../store.ts';

/** A row as `SELECT *` returns it: the `Intent` fields, with the answer spread over four columns. */
type IntentRow = Omit<Intent, 'headers' | 'body' | 'response' | 'keyFormat' | 'traceparent'> & {
  headers: string;
  traceparent: string | null;
  keyFormat: string;
  body: Uint8Array | null;
  responseStatus: number | null;
  responseStatusText: string | null;
  responseHeaders: string | null;
  responseBody: Uint8Array | null;
};

/** The columns `list` reads: everything but the payloads, which stay on disk. */
export const SUMMARY_COLUMNS =
  'scope, id, idempotencyKey, method, url, origin, keyHeader, keyFormat, fingerprint, createdAt, updatedAt, expiresAt, attempts, state, owner, leaseUntil, version';

/** Named parameters for an INSERT of the whole intent. */
export function intentParams(intent: Intent): Record<string, SQLInputValue> {
  return {
    scope: intent.scope,
    id: intent.id,
    idempotencyKey: intent.idempotencyKey,
    method: intent.method,
    url: intent.url,
    origin: intent.origin,
    headers: JSON.stringify(intent.headers),
    keyHeader: intent.keyHeader,
    keyFormat: intent.keyFormat,
    body: intent.body ?? null,
    fingerprint: intent.fingerprint,
    createdAt: intent.createdAt,
    updatedAt: intent.updatedAt,
    expiresAt: intent.expiresAt,
    attempts: intent.attempts,
    state: intent.state,
    owner: intent.owner,
    leaseUntil: intent.leaseUntil,
    traceparent: intent.traceparent ?? null,
    ...responseParams(intent.response),
  };
}

/** The plain fields a compare-and-set write may set; only these names ever reach the SQL text. */
const CHANGE_FIELDS = ['state', 'attempts', 'owner'] as const;

/**
 * The columns a compare-and-set write sets at the store's `now`, as named parameters: a lease
 * given as a duration becomes an instant, and `updatedAt` is always set. A field given as
 * undefined is left as it is (the memory store does the same).
 */
export function changeParams(change: IntentChange, now: number): Record<string, SQLInputValue> {
  const params: Record<string, SQLInputValue> = {};
  for (const field of CHANGE_FIELDS) if (change[field] !== undefined) params[field] = change[field];
  if (change.leaseMs !== undefined) params.leaseUntil = now + change.leaseMs;
  params.updatedAt = now;
  return change.response ? { ...params, ...responseParams(change.response) } : params;
}

function responseParams(response: StoredResponse | undefined): Record<string, SQLInputValue> {
  return {
    responseStatus: response?.status ?? null,
    responseStatusText: response?.statusText ?? null,
    responseHeaders: response ? JSON.stringify(response.headers) : null,
    responseBody: response?.body ?? null,
  };
}

/**
 * The intent a `SELECT *` row holds; absent payloads stay absent rather than null. A row written by
 * hand or by a damaged file may hold anything: what cannot be read is handed on as it is (headers
 * that are no JSON as their text), for store.ts's rule to judge — never thrown.
 */
export function intentFromRow(row: unknown): Intent {
  const { headers, body, traceparent, responseStatus, responseStatusText, responseHeaders, responseBody, ...summary } = plain(row) as IntentRow;
  const intent: Intent = { ...summaryFromRow(summary), headers: parsedJson(headers) as Intent['headers'] };
  if (body) intent.body = body;
  if (traceparent !== null) intent.traceparent = traceparent;
  if (responseStatus !== null) {
    intent.response = {
      status: responseStatus,
      statusText: responseStatusText ?? '',
      headers: parsedJson(responseHeaders ?? '{}') as StoredResponse['headers'],
      body: responseBody ?? new Uint8Array(),
    };
  }
  return intent;
}

/** The summary a `SELECT ${SUMMARY_COLUMNS}` row holds. */
export function summaryFromRow(row: unknown): IntentSummary {
  // node:sqlite returns rows with a null prototype; a plain object compares and clones as callers expect.
  return plain(row) as IntentSummary;
}

/**
 * A row as a plain object, its integers as numbers. Statements that read intents read integers
 * as BigInts (`setReadBigInts`), since node:sqlite refuses to read one beyond 2^53 as a number and
 * would fail the whole statement for one damaged row; converted here, such a value is a number out
 * of range, which the reading rule tells apart.
 */
function plain(row: unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(row as object)) copy[name] = typeof value === 'bigint' ? Number(value) : value;
  return copy;
}

function parsedJson(text: unknown): unknown {
  try {
    return JSON.parse(String(text));
  } catch {
    return text;
  }
}
