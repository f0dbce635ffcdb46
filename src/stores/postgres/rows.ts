import type { Intent, IntentChange, IntentSummary, KeyFormat, IntentState, StoredResponse } from '../store.js';

/** A row as `SELECT *` returns it. node-postgres hands `bigint` back as a string (it may exceed 2^53). */
interface IntentRow {
  scope: string;
  id: string;
  idempotency_key: string;
  method: string;
  url: string;
  origin: string;
  headers: Record<string, string>;
  key_header: string;
  key_format: string;
  body: Uint8Array | null;
  fingerprint: string;
  created_at: string;
  updated_at: string;
  expires_at: string;
  attempts: number;
  state: string;
  owner: string | null;
  lease_until: string;
  version: number;
  response_status: number | null;
  response_status_text: string | null;
  response_headers: Record<string, string> | null;
  response_body: Uint8Array | null;
  traceparent: string | null;
}

/** The columns `list` reads: everything but the payloads, which stay in the table. */
export const SUMMARY_COLUMNS =
  'scope, id, idempotency_key, method, url, origin, key_header, key_format, fingerprint, created_at, updated_at, expires_at, attempts, state, owner, lease_until, version';

/** Columns of an INSERT, in the order of `insertValues`. */
export const INSERT_COLUMNS = [
  'scope', 'id', 'idempotency_key', 'method', 'url', 'origin', 'headers', 'key_header', 'key_format', 'body',
  'fingerprint', 'created_at', 'updated_at', 'expires_at', 'attempts', 'state', 'owner', 'lease_until', 'version',
  'response_status', 'response_status_text', 'response_headers', 'response_body', 'traceparent',
] as const;

/**
 * The whole intent as INSERT values, stored at version 1. Its times come re-based on 0 (`rebased`):
 * the statement adds the database's now to them (intent-table.ts).
 */
export function insertValues(intent: Intent): unknown[] {
  return [
    intent.scope, intent.id, intent.idempotencyKey, intent.method, intent.url, intent.origin, intent.headers,
    intent.keyHeader, intent.keyFormat, intent.body ?? null, intent.fingerprint, intent.createdAt, intent.updatedAt,
    intent.expiresAt, intent.attempts, intent.state, intent.owner, intent.leaseUntil, 1,
    ...responseValues(intent.response), intent.traceparent ?? null,
  ];
}

/** The plain fields a compare-and-set write may set, and their columns: only these names reach SQL text. */
const CHANGE_COLUMNS = { state: 'state', attempts: 'attempts', owner: 'owner' } as const;
const RESPONSE_COLUMNS = ['response_status', 'response_status_text', 'response_headers', 'response_body'] as const;

/**
 * The columns a compare-and-set write sets, with their values, and `leaseMs` when it gives one
 * (the statement adds it to the database's now). A field given as undefined is left as it is (the
 * memory store does the same).
 */
export function changeColumns(change: IntentChange): { columns: string[]; values: unknown[]; leaseMs: number | undefined } {
  const columns: string[] = [];
  const values: unknown[] = [];
  for (const [field, column] of Object.entries(CHANGE_COLUMNS)) {
    const value = change[field as keyof typeof CHANGE_COLUMNS];
    if (value !== undefined) columns.push(column), values.push(value);
  }
  if (change.response) columns.push(...RESPONSE_COLUMNS), values.push(...responseValues(change.response));
  return { columns, values, leaseMs: change.leaseMs };
}

function responseValues(response: StoredResponse | undefined): unknown[] {
  return response ? [response.status, response.statusText, response.headers, response.body] : [null, null, null, null];
}

/** The intent a `SELECT *` row holds; absent payloads stay absent rather than null. */
export function intentFromRow(row: unknown): Intent {
  const { headers, body, traceparent, response_status, response_status_text, response_headers, response_body } = row as IntentRow;
  const intent: Intent = { ...summaryFromRow(row), headers };
  if (body) intent.body = bytes(body);
  if (traceparent !== null) intent.traceparent = traceparent;
  if (response_status !== null) {
    intent.response = {
      status: response_status,
      statusText: response_status_text ?? '',
      headers: response_headers ?? {},
      body: response_body ? bytes(response_body) : new Uint8Array(),
    };
  }
  return intent;
}

/** The summary a `SELECT ${SUMMARY_COLUMNS}` (or `*`) row holds. */
export function summaryFromRow(row: unknown): IntentSummary {
  const r = row as IntentRow;
  return {
    scope: r.scope,
    id: r.id,
    idempotencyKey: r.idempotency_key,
    method: r.method,
    url: r.url,
    origin: r.origin,
    keyHeader: r.key_header,
    keyFormat: r.key_format as KeyFormat,
    fingerprint: r.fingerprint,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    expiresAt: Number(r.expires_at),
    attempts: r.attempts,
    state: r.state as IntentState,
    owner: r.owner,
    leaseUntil: Number(r.lease_until),
    version: r.version,
  };
}

/**
 * node-postgres returns a Buffer, often a slice of a shared pool; callers get a plain Uint8Array of
 * their own, as the other stores hand out.
 */
function bytes(buffer: Uint8Array): Uint8Array {
  return new Uint8Array(buffer);
}
