import type { Intent, IntentChange, IntentSummary, StoredResponse } from '../store.js';

/**
 * An intent in Redis is one hash: a field per `Intent` field, numbers in decimal, `headers` as
 * JSON, the body as raw bytes (absent when the request had none), `owner` absent when nobody owns
 * it, and the stored answer spread over four `response*` fields. Hash fields are binary-safe, so
 * bodies of any bytes and size go in and come out exactly.
 */

type Value = string | Buffer;

/** The fields `list` reads, in the order its rows hold them: everything but the payloads. */
export const SUMMARY_FIELDS = [
  'scope', 'id', 'idempotencyKey', 'method', 'url', 'origin', 'keyHeader', 'keyFormat', 'fingerprint',
  'createdAt', 'updatedAt', 'expiresAt', 'attempts', 'state', 'owner', 'leaseUntil', 'version',
] as const satisfies readonly (keyof IntentSummary)[];

const NUMBER_FIELDS = new Set<string>(['createdAt', 'updatedAt', 'expiresAt', 'attempts', 'leaseUntil', 'version']);

/** Field, value, … for a new intent's hash; `version` is the script's to set. */
export function intentFields(intent: Intent): Value[] {
  const fields: Value[] = [];
  for (const name of SUMMARY_FIELDS) {
    const value = intent[name];
    if (name !== 'version' && value !== null && value !== undefined) fields.push(name, String(value));
  }
  fields.push('headers', JSON.stringify(intent.headers));
  if (intent.body) fields.push('body', bytesValue(intent.body));
  if (intent.traceparent !== undefined) fields.push('traceparent', intent.traceparent);
  return intent.response ? [...fields, ...responseFields(intent.response)] : fields;
}

/**
 * The fields a compare-and-set write sets, and those it deletes (`owner: null`). Undefined leaves a
 * field as it is; `leaseMs` and `updatedAt` are the script's, on the server's clock.
 */
export function changeFields(change: IntentChange): { set: Value[]; remove: string[] } {
  const set: Value[] = [];
  const remove: string[] = [];
  for (const name of ['state', 'attempts', 'owner'] as const) {
    const value = change[name];
    if (value === null) remove.push(name);
    else if (value !== undefined) set.push(name, String(value));
  }
  if (change.response) set.push(...responseFields(change.response));
  return { set, remove };
}

function responseFields(response: StoredResponse): Value[] {
  return [
    'responseStatus', String(response.status),
    'responseStatusText', response.statusText,
    'responseHeaders', JSON.stringify(response.headers),
    'responseBody', bytesValue(response.body),
  ];
}

/** A copy of the bytes: what the caller does with its array afterwards changes nothing sent. */
function bytesValue(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes);
}

/** The intent in an HGETALL reply (field, value, …), or undefined for an empty one. */
export function intentFromHash(reply: Buffer[]): Intent | undefined {
  if (reply.length === 0) return undefined;
  const hash = new Map<string, Buffer>();
  for (let i = 0; i < reply.length; i += 2) hash.set(reply[i]!.toString(), reply[i + 1]!);
  const summary = summaryFromRow(SUMMARY_FIELDS.map((name) => hash.get(name) ?? null));
  const intent: Intent = { ...summary, headers: parsedJson(text(hash.get('headers')) || '{}') as Intent['headers'] };
  const body = hash.get('body');
  if (body) intent.body = new Uint8Array(body);
  const traceparent = hash.get('traceparent');
  if (traceparent) intent.traceparent = text(traceparent);
  const status = hash.get('responseStatus');
  if (status) {
    intent.response = {
      status: numberOf(text(status)),
      statusText: text(hash.get('responseStatusText')),
      headers: parsedJson(text(hash.get('responseHeaders')) || '{}') as StoredResponse['headers'],
      body: new Uint8Array(hash.get('responseBody') ?? []),
    };
  }
  return intent;
}

/**
 * The summary in a row of SUMMARY_FIELDS values (null where a field is absent). A hash written by
 * hand may hold anything: what cannot be read is handed on as it is (a number that is none as NaN,
 * headers that are no JSON as their text), for store.ts's rule to judge — never thrown.
 */
export function summaryFromRow(row: readonly (Buffer | null)[]): IntentSummary {
  const summary: Record<string, string | number | null> = {};
  SUMMARY_FIELDS.forEach((name, i) => {
    const value = row[i];
    summary[name] = value == null ? null : NUMBER_FIELDS.has(name) ? numberOf(text(value)) : text(value);
  });
  return summary as unknown as IntentSummary;
}

/** A decimal field's number; NaN for empty text, which Number would read as 0. */
function numberOf(value: string): number {
  return value.trim() === '' ? Number.NaN : Number(value);
}

function parsedJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function text(value: Buffer | undefined): string {
  return value?.toString('utf8') ?? '';
}
