import { describe, expect, it } from 'vitest';
import {
  createClient,
  HTTPError,
  IdempotencyConflictError,
  IdempotencyError,
  IdempotencyKeyInvalidError,
  IdempotencyMismatchError,
  memoryStore,
} from '../src/index.js';
import { answering, ORIGIN, useMsw } from './support/msw.js';

const server = useMsw();
const client = (extra = {}) =>
  createClient({ prefix: ORIGIN, store: memoryStore(), retry: { limit: 2, delay: () => 0 }, ...extra });

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => () =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const text = (status: number, body: string, headers: Record<string, string> = {}) => () =>
  new Response(body, { status, headers: { 'content-type': 'text/html', ...headers } });

type ErrorClass = new (...args: never[]) => Error;
interface Row {
  source: string;
  answer: () => Response;
  raises: ErrorClass;
  code?: string;
  retried?: boolean;
}

// SPEC's classification table, one row per server dialect, with default options.
const rows: Row[] = [
  { source: 'seed 000', answer: json(422, { error: { code: 'IDEMPOTENCY_MISMATCH', message: 'This idempotency key was already used with a different request' } }), raises: IdempotencyMismatchError, code: 'IDEMPOTENCY_MISMATCH' },
  { source: 'seed 001', answer: json(409, { error: { code: 'error_idempotency_key_conflict', message: 'The key was already used with a different request body.' } }), raises: IdempotencyMismatchError, code: 'error_idempotency_key_conflict' },
  { source: 'seed 002', answer: json(409, { error: 'idempotency_error', code: 'idempotency_key_reused' }), raises: IdempotencyMismatchError, code: 'idempotency_key_reused' },
  { source: 'seed 002 (nested)', answer: json(409, { error: { type: 'idempotency_error', code: 'idempotency_key_reused' } }), raises: IdempotencyMismatchError, code: 'idempotency_key_reused' },
  { source: 'seed 003', answer: json(409, { error: 'idempotency_key_reused' }), raises: IdempotencyMismatchError, code: 'idempotency_key_reused' },
  { source: 'seed 004 (invalid key)', answer: json(400, { code: 'invalid_idempotency_key', message: 'Idempotency-Key must be 1-255 ASCII characters' }), raises: IdempotencyKeyInvalidError, code: 'invalid_idempotency_key' },
  { source: 'Stripe (other parameters)', answer: json(400, { error: { type: 'idempotency_error', message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.' } }), raises: IdempotencyMismatchError, code: 'idempotency_error' },
  { source: 'IETF draft (problem+json)', answer: () => new Response(JSON.stringify({ type: 'https://developer.example.com/idempotency', title: 'Idempotency-Key is already used', detail: 'This operation is idempotent and it requires correct usage of Idempotency Key. Idempotency Key MUST not be reused across different payloads of this operation.' }), { status: 422, headers: { 'content-type': 'application/problem+json' } }), raises: IdempotencyMismatchError, code: 'idempotency' },
  { source: 'Whop', answer: json(400, { error: { code: 'idempotency_key_mismatch' } }), raises: IdempotencyMismatchError, code: 'idempotency_key_mismatch' },
  { source: 'Increase', answer: json(409, { type: 'idempotency_key_already_used_error', title: 'The idempotency key was already used.' }), raises: IdempotencyMismatchError, code: 'idempotency_key_already_used_error' },
  { source: 'hono-idempotency', answer: () => new Response(JSON.stringify({ type: 'https://hono-idempotency.dev/errors/fingerprint-mismatch', title: 'Idempotency-Key reused with a different request' }), { status: 422, headers: { 'content-type': 'application/problem+json' } }), raises: IdempotencyMismatchError, code: 'fingerprint-mismatch' },
  { source: 'idempotency_key_invalid', answer: json(400, { error: { code: 'idempotency_key_invalid' } }), raises: IdempotencyKeyInvalidError, code: 'idempotency_key_invalid' },
  { source: 'key-too-long', answer: () => new Response(JSON.stringify({ type: 'https://example.com/errors/key-too-long' }), { status: 400, headers: { 'content-type': 'application/problem+json' } }), raises: IdempotencyKeyInvalidError, code: 'key-too-long' },
  { source: 'Stripe (in use)', answer: json(409, { error: { type: 'idempotency_error', code: 'idempotency_key_in_use', message: 'There is currently another in-progress request using this Idempotent Key.' } }), raises: IdempotencyConflictError, code: 'idempotency_key_in_use', retried: true },
  { source: 'Whop (in progress)', answer: json(409, { error: { code: 'idempotency_request_in_progress' } }), raises: IdempotencyConflictError, code: 'idempotency_request_in_progress', retried: true },
  { source: 'IETF draft (outstanding)', answer: () => new Response(JSON.stringify({ type: 'https://developer.example.com/idempotency', title: 'A request is outstanding for this Idempotency-Key' }), { status: 409, headers: { 'content-type': 'application/problem+json' } }), raises: IdempotencyConflictError, code: 'idempotency', retried: true },
  { source: 'express-idempotency 1.0 (misuse)', answer: text(417, '<!DOCTYPE html><html><body><pre>Misuse of the idempotency key. Please check your request.</pre></body></html>'), raises: IdempotencyMismatchError },
  { source: 'express-idempotency 1.0 (in progress)', answer: text(409, '<!DOCTYPE html><html><body><pre>Request with the same idempotency key is still in progress.</pre></body></html>'), raises: IdempotencyConflictError, retried: true },
  { source: '@node-idempotency/nestjs 1.0 (reused)', answer: json(422, { statusCode: 422, message: 'Idempotency-Key is already used' }), raises: IdempotencyMismatchError },
  { source: '@node-idempotency/nestjs 1.0 (in flight)', answer: json(409, { statusCode: 409, message: 'Conflict' }, { 'retry-after': '0' }), raises: HTTPError, retried: true },
];

describe('every row of the classification table is recognised with default options', () => {
  for (const row of rows) {
    it(`${row.source}: raises ${row.raises.name}${row.code ? ` with code ${row.code}` : ''}`, async () => {
      const { handler, seen } = answering('/v1/ops', row.answer);
      server.use(handler);
      const error = await client().post('v1/ops', { json: { amount: 1 } }).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(row.raises);
      const fields = error as IdempotencyError;
      expect(fields.idempotencyKey).toBe(seen[0]?.key);
      if (row.raises !== HTTPError) {
        expect(error).toBeInstanceOf(IdempotencyError);
        expect(fields.status).toBe(row.answer().status);
        expect(fields.code).toBe(row.code);
        expect(fields.response?.status).toBe(row.answer().status);
      }
      expect(seen).toHaveLength(row.retried ? 3 : 1);
      expect(new Set(seen.map((request) => request.key)).size).toBe(1);
    });
  }
});

describe('ordinary errors stay plain HTTPErrors', () => {
  const plain: Array<[string, () => Response, number]> = [
    ['a validation 422', json(422, { error: { code: 'validation_failed', message: 'amount must be a positive integer' } }), 1],
    ['a 400 without an idempotency signal', json(400, { error: 'bad_request', message: 'name is required' }), 1],
    ['a 404', json(404, { error: 'not_found' }), 1],
    ['a business 409 (retried as possibly in flight, then plain)', json(409, { error: { code: 'already_cancelled', message: 'booking is already cancelled' } }), 3],
    ['a 403', json(403, { error: 'forbidden' }), 1],
  ];
  for (const [what, answer, requests] of plain) {
    it(`${what} is an HTTPError carrying the key and the answer`, async () => {
      const { handler, seen } = answering('/v1/ops', answer);
      server.use(handler);
      const error = await client().post('v1/ops', { json: {} }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(HTTPError);
      expect(error).not.toBeInstanceOf(IdempotencyError);
      expect((error as HTTPError & { idempotencyKey: string }).idempotencyKey).toBe(seen[0]?.key);
      expect((error as HTTPError).response.status).toBe(answer().status);
      expect(await (error as HTTPError).response.json()).toEqual(await answer().json());
      expect(seen).toHaveLength(requests);
    });
  }
});

describe('replay markers', () => {
  const markers: Array<[string, string]> = [
    ['Idempotent-Replayed', 'true'],
    ['X-Idempotent-Replayed', 'true'],
    ['Idempotent-Replay', 'TRUE'],
    ['idempotency-replayed', '1'],
    ['X-Idempotency-Replayed', 'true'],
    ['Idempotency-Replay', 'true'],
    ['X-Idempotency-Status', 'Replayed'],
    ['Idempotency-Status', 'replayed'],
  ];
  for (const [name, value] of markers) {
    it(`${name}: ${value} sets replayed`, async () => {
      server.use(answering('/v1/ops', json(201, { id: 1 }, { [name]: value })).handler);
      const response = await client().post('v1/ops', { json: {} });
      expect(response.replayed).toBe(true);
      expect(response.attempts).toBe(1);
    });
  }

  it('an answer without a marker is not marked replayed', async () => {
    server.use(answering('/v1/ops', json(201, { id: 1 }, { 'idempotent-replayed': 'false' })).handler);
    expect((await client().post('v1/ops', { json: {} })).replayed).toBe(false);
  });

  it('replayHeaders teaches another marker', async () => {
    server.use(answering('/v1/ops', json(201, { id: 1 }, { 'X-My-Replayed': 'true' })).handler);
    expect((await client().post('v1/ops', { json: {} })).replayed).toBe(false);
    expect((await client({ replayHeaders: ['x-my-replayed'] }).post('v1/ops', { json: {} })).replayed).toBe(true);
  });
});

describe('teaching an unusual server', () => {
  it('classify runs before the built-in rules', async () => {
    const { handler, seen } = answering('/v1/ops', json(418, { oops: 'key used twice' }));
    server.use(handler);
    const taught = client({ classify: (response: Response, body: unknown) => (response.status === 418 && (body as { oops?: string }).oops ? 'mismatch' : undefined) });
    await expect(taught.post('v1/ops', { json: {} })).rejects.toBeInstanceOf(IdempotencyMismatchError);
    await expect(client().post('v1/ops', { json: {} })).rejects.toBeInstanceOf(HTTPError);
    expect(seen).toHaveLength(2);
  });

  it('classify can declare an answer in flight, which is retried and then a conflict', async () => {
    const { handler, seen } = answering('/v1/ops', json(425, { state: 'busy' }));
    server.use(handler);
    const taught = client({ classify: (response: Response) => (response.status === 425 ? 'conflict' : undefined) });
    await expect(taught.post('v1/ops', { json: {} })).rejects.toBeInstanceOf(IdempotencyConflictError);
    expect(seen).toHaveLength(3);
  });

  it("keyFormat 'sf-string' sends the key quoted as the IETF draft writes it", async () => {
    const { handler, seen } = answering('/v1/ops', json(201, {}));
    server.use(handler);
    await client({ keyFormat: 'sf-string' }).post('v1/ops', { json: {}, idempotencyKey: 'abc-1' });
    await client().post('v1/ops', { json: {}, idempotencyKey: 'abc-2' });
    expect(seen.map((request) => request.key)).toEqual(['"abc-1"', 'abc-2']);
  });

  it('keyHeader renames the header', async () => {
    let received: string | null = null;
    const { handler } = answering('/v1/ops', json(201, {}));
    server.use(handler);
    const custom = client({ keyHeader: 'X-Request-Key', fetch: (input: RequestInfo | URL, init?: RequestInit) => {
      received = (input instanceof Request ? input : new Request(input, init)).headers.get('x-request-key');
      return fetch(input, init);
    } });
    const response = await custom.post('v1/ops', { json: {} });
    expect(received).toBe(response.idempotencyKey);
  });
});
