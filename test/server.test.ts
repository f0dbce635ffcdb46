/**
 * The fault-injecting server is the ground truth of the SDK's tests, so it is tested on its own,
 * with plain fetch.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DIALECTS,
  REPLAY_HEADER_NAMES,
  faultOnFirstAttempts,
  faultOnce,
  startTestServer,
  type Dialect,
  type Fault,
  type TestServer,
  type TestServerOptions,
} from '../support/server/index.js';

let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: TestServerOptions = {}): Promise<TestServer> {
  server = await startTestServer(options);
  return server;
}

interface CallOptions {
  method?: string;
  key?: string;
  body?: unknown;
  tenant?: string;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: () => any;
}

async function call(s: TestServer, path: string, options: CallOptions = {}): Promise<Reply> {
  const method = options.method ?? 'POST';
  const headers: Record<string, string> = { ...options.headers };
  if (options.key !== undefined) headers['Idempotency-Key'] = options.key;
  if (options.tenant !== undefined) headers.Authorization = options.tenant;
  let body: string | undefined;
  if (method !== 'GET' && method !== 'HEAD') {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.body ?? { amount: 500 });
  }
  const response = await fetch(`${s.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
}

function replayMarkers(headers: Headers): string[] {
  return REPLAY_HEADER_NAMES.filter((name) => headers.has(name)).map(
    (name) => `${name.toLowerCase()}: ${headers.get(name)}`,
  );
}

describe('operations', () => {
  it('applies writes under /v1/, answers reads without applying', async () => {
    const s = await start();
    const created = await call(s, '/v1/payouts?x=1', { key: 'k1', body: { amount: 5 } });
    expect(created.status).toBe(201);
    expect(created.headers.get('content-type')).toBe('application/json');
    expect(created.json()).toEqual({ id: 'op_1', key: 'k1', received: { amount: 5 }, sequence: 1 });

    expect((await call(s, '/v1/payouts/1', { method: 'PUT', key: 'k2' })).status).toBe(200);
    expect((await call(s, '/v1/payouts/1', { method: 'PATCH' })).status).toBe(200);
    expect((await call(s, '/v1/payouts/1', { method: 'DELETE' })).status).toBe(200);
    const read = await call(s, '/v1/payouts', { method: 'GET', key: 'k3' });
    expect(read.json()).toEqual({ ok: true, applied: 4 });
    expect((await call(s, '/v1/payouts', { method: 'HEAD' })).status).toBe(200);
    expect((await call(s, '/elsewhere')).status).toBe(404);

    expect(s.applied('k1')).toBe(1);
    expect(s.applied('k3')).toBe(0);
    expect(s.appliedUnkeyed()).toBe(2);
    expect(s.appliedTotal()).toBe(4);
    expect(s.requests.map((r) => [r.method, r.path, r.key, r.attempt])).toEqual([
      ['POST', '/v1/payouts?x=1', 'k1', 1],
      ['PUT', '/v1/payouts/1', 'k2', 1],
      ['PATCH', '/v1/payouts/1', undefined, 1],
      ['DELETE', '/v1/payouts/1', undefined, 1],
      ['GET', '/v1/payouts', 'k3', 1],
      ['HEAD', '/v1/payouts', undefined, 1],
      ['POST', '/elsewhere', undefined, 1],
    ]);
    expect(s.requests[0]).toMatchObject({ tenant: '', body: '{"amount":5}', outcome: 'applied', status: 201 });
    expect(s.requests[0]!.headers['idempotency-key']).toBe('k1');
  });

  it('keeps tenants apart and counts attempts per tenant and key', async () => {
    const s = await start();
    const a = await call(s, '/v1/payouts', { key: 'same', tenant: 'Bearer a' });
    const b = await call(s, '/v1/payouts', { key: 'same', tenant: 'Bearer b' });
    await call(s, '/v1/payouts', { key: 'same', tenant: 'Bearer a' });
    expect(a.json().id).not.toBe(b.json().id);
    expect(s.applied('same')).toBe(2);
    expect(s.applied('same', 'Bearer a')).toBe(1);
    expect(s.requests.map((r) => r.attempt)).toEqual([1, 1, 2]);
  });

  it('answers the converse cases with ordinary errors, cached like any answer', async () => {
    const s = await start({ dialect: 'seed003' });
    const invalid = await call(s, '/v1/invalid', { key: 'v' });
    expect(invalid.status).toBe(422);
    expect(invalid.json()).toEqual({
      error: { code: 'validation_failed', message: 'amount must be a positive integer' },
    });
    const replay = await call(s, '/v1/invalid', { key: 'v' });
    expect(replay.text).toBe(invalid.text);
    expect(replay.headers.get('Idempotent-Replay')).toBe('true');

    const conflict = await call(s, '/v1/business-conflict', { key: 'c' });
    expect(conflict.status).toBe(409);
    expect(conflict.json().error.code).toBe('already_cancelled');
    expect(s.appliedTotal()).toBe(0);
  });

  it.each(DIALECTS)('%s: ordinary errors never mention idempotency', async (dialect) => {
    const s = await start({ dialect });
    for (const path of ['/v1/invalid', '/v1/business-conflict']) {
      const reply = await call(s, path, { key: `k-${path}` });
      expect(reply.status).toBe(path === '/v1/invalid' ? 422 : 409);
      expect(reply.text.toLowerCase()).not.toContain('idempot');
      expect(reply.headers.get('retry-after')).toBeNull();
    }
  });

  it('handles hundreds of concurrent requests', async () => {
    const s = await start();
    const replies = await Promise.all(
      Array.from({ length: 300 }, (_, i) => call(s, '/v1/payouts', { key: `c${i % 150}`, body: { i: i % 150 } })),
    );
    expect(replies.every((r) => r.status === 201)).toBe(true);
    expect(s.appliedTotal()).toBe(150);
    expect(s.requests.filter((r) => r.outcome === 'replayed' || r.outcome === 'in-flight')).toHaveLength(150);
  });
});

describe('faults', () => {
  it('drop-before: the connection dies and nothing is applied', async () => {
    const s = await start({ faults: faultOnce({ kind: 'drop-before' }) });
    await expect(call(s, '/v1/payouts', { key: 'k' })).rejects.toThrow();
    expect(s.applied('k')).toBe(0);
    const retry = await call(s, '/v1/payouts', { key: 'k' });
    expect(retry.status).toBe(201);
    expect(replayMarkers(retry.headers)).toEqual([]);
    expect(s.applied('k')).toBe(1);
    expect(s.requests.map((r) => [r.attempt, r.outcome])).toEqual([
      [1, 'fault'],
      [2, 'applied'],
    ]);
  });

  it('drop-after: applied and stored, the answer lost; the retry gets it replayed', async () => {
    const s = await start({ faults: faultOnce({ kind: 'drop-after' }) });
    await expect(call(s, '/v1/payouts', { key: 'k' })).rejects.toThrow();
    expect(s.applied('k')).toBe(1);
    const retry = await call(s, '/v1/payouts', { key: 'k' });
    expect(retry.status).toBe(201);
    expect(retry.json()).toMatchObject({ id: 'op_1', sequence: 1 });
    expect(retry.headers.get('idempotency-replayed')).toBe('true');
    expect(s.applied('k')).toBe(1);
  });

  it('status: answers the status with Retry-After, applies and caches nothing', async () => {
    const s = await start({ faults: faultOnce({ kind: 'status', status: 503, retryAfter: '2' }) });
    const failed = await call(s, '/v1/payouts', { key: 'k' });
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('2');
    expect(s.applied('k')).toBe(0);
    const retry = await call(s, '/v1/payouts', { key: 'k' });
    expect(retry.status).toBe(201);
    expect(replayMarkers(retry.headers)).toEqual([]);
    expect(s.applied('k')).toBe(1);
  });

  it('rate-limit: 429 with Retry-After, nothing applied', async () => {
    const s = await start({ faults: faultOnce({ kind: 'rate-limit', retryAfter: '1' }) });
    const limited = await call(s, '/v1/payouts', { key: 'k' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(s.appliedTotal()).toBe(0);
  });

  it('slow: applied at once, answered late; a twin meanwhile is in flight, a retry after is a replay', async () => {
    // Long enough for the twin below to land while the first is still in flight, even on a busy machine.
    const s = await start({ faults: faultOnce({ kind: 'slow', ms: 1_000 }) });
    const gaveUp = new AbortController();
    const first = call(s, '/v1/payouts', { key: 'k', signal: gaveUp.signal });
    await s.waitForRequests(1);
    expect(s.applied('k')).toBe(1);
    gaveUp.abort();
    await expect(first).rejects.toThrow();

    const twin = await call(s, '/v1/payouts', { key: 'k' });
    expect(twin.status).toBe(409);
    expect(twin.json()).toMatchObject({ error: { code: 'idempotency_request_in_progress' } });

    await s.idle();
    const retry = await call(s, '/v1/payouts', { key: 'k' });
    expect(retry.status).toBe(201);
    expect(retry.json().id).toBe('op_1');
    expect(retry.headers.get('idempotency-replayed')).toBe('true');
    expect(s.applied('k')).toBe(1);
  });

  it('slow: the answer arrives once the delay is over', async () => {
    const s = await start({ faults: faultOnce({ kind: 'slow', ms: 50 }) });
    const reply = await call(s, '/v1/payouts', { key: 'k' });
    expect(reply.status).toBe(201);
    expect(s.requests[0]).toMatchObject({ fault: { kind: 'slow', ms: 50 }, outcome: 'applied', status: 201 });
  });

  it('close() ends at once with a slow answer pending', async () => {
    const s = await start({ faults: () => ({ kind: 'slow', ms: 60_000 }) });
    const pending = call(s, '/v1/payouts', { key: 'k' });
    await s.waitForRequests(1);
    // Waiting for the 60 s answer would outlast the test's own timeout.
    await s.close();
    await expect(pending).rejects.toThrow();
    await s.idle();
  });

  it('scripts faults on most first attempts, reproducibly from a seed', async () => {
    const kinds: Fault[] = [
      { kind: 'drop-before' },
      { kind: 'drop-after' },
      { kind: 'status', status: 502 },
      { kind: 'rate-limit', retryAfter: '0' },
      { kind: 'in-flight' },
    ];
    const decide = (seed: number) => {
      const script = faultOnFirstAttempts(kinds, seed);
      return Array.from({ length: 200 }, (_, i) =>
        script({ method: 'POST', path: '/v1/x', key: `k${i}`, tenant: '', attempt: 1, body: '', headers: {} })?.kind,
      );
    };
    const decisions = decide(7);
    expect(decide(7)).toEqual(decisions);
    expect(decide(8)).not.toEqual(decisions);
    const faulted = decisions.filter(Boolean).length;
    expect(faulted).toBeGreaterThan(130);
    expect(faulted).toBeLessThan(195);
    expect(new Set(decisions.filter(Boolean))).toEqual(new Set(kinds.map((k) => k.kind)));

    const script = faultOnFirstAttempts(kinds, 7, { probability: 1 });
    const request = { method: 'POST', path: '/v1/x', key: 'k', tenant: '', body: '', headers: {} };
    expect(script({ ...request, attempt: 1 })).toBeDefined();
    expect(script({ ...request, attempt: 2 })).toBeUndefined();
    expect(script({ ...request, method: 'GET', attempt: 1 })).toBeUndefined();
  });

  it('under scripted faults and concurrency, retrying with the same key applies each operation once', async () => {
    const s = await start({
      faults: faultOnFirstAttempts(
        [{ kind: 'drop-before' }, { kind: 'drop-after' }, { kind: 'status', status: 500 }, { kind: 'in-flight' }],
        42,
      ),
    });
    const operation = async (i: number) => {
      for (;;) {
        const reply = await call(s, '/v1/payouts', { key: `op-${i}`, body: { i } }).catch(() => undefined);
        if (reply?.status === 201) return reply.json().received.i as number;
      }
    };
    const queue = Array.from({ length: 240 }, (_, i) => i);
    const results: number[] = [];
    await Promise.all(
      Array.from({ length: 24 }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) results.push(await operation(i));
      }),
    );
    expect(results.sort((a, b) => a - b)).toEqual(Array.from({ length: 240 }, (_, i) => i));
    expect(s.appliedTotal()).toBe(240);
    expect(s.requests.filter((r) => r.fault).length).toBeGreaterThan(100);
  });
});

interface DialectExpectations {
  replay: [string, string] | undefined;
  mismatch: { status: number; contentType: string; contains: string };
  inFlight: { status: number; contains: string; retryAfter?: string } | 'waits';
  /** A 256-character key is refused. */
  refuses256: boolean;
}

const EXPECTED: Record<Dialect, DialectExpectations> = {
  seed000: {
    replay: undefined,
    mismatch: { status: 422, contentType: 'application/json', contains: '"code":"IDEMPOTENCY_MISMATCH"' },
    inFlight: { status: 409, contains: '"code":"idempotency_request_in_progress"' },
    refuses256: true,
  },
  seed001: {
    replay: undefined,
    mismatch: { status: 409, contentType: 'application/json', contains: '"code":"error_idempotency_key_conflict"' },
    inFlight: { status: 409, contains: '"code":"idempotency_request_in_progress"' },
    refuses256: true,
  },
  seed002: {
    replay: ['X-Idempotent-Replayed', 'true'],
    mismatch: {
      status: 409,
      contentType: 'application/json',
      contains: '"error":"idempotency_error","code":"idempotency_key_reused"',
    },
    inFlight: 'waits',
    refuses256: true,
  },
  seed003: {
    replay: ['Idempotent-Replay', 'true'],
    mismatch: { status: 409, contentType: 'application/json', contains: '{"error":{"code":"idempotency_key_reused"' },
    inFlight: { status: 409, contains: '"code":"idempotency_request_in_progress"' },
    refuses256: true,
  },
  seed004: {
    replay: ['idempotency-replayed', 'true'],
    mismatch: { status: 422, contentType: 'application/json', contains: '{"code":"idempotency_key_mismatch"' },
    inFlight: { status: 409, contains: '"code":"idempotency_request_in_progress"' },
    refuses256: true,
  },
  stripe: {
    replay: ['Idempotent-Replayed', 'true'],
    mismatch: {
      status: 400,
      contentType: 'application/json',
      contains: `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than 'the-key' if you meant to execute a different request."}}`,
    },
    inFlight: { status: 409, contains: '{"error":{"type":"idempotency_error","code":"idempotency_key_in_use"' },
    refuses256: true,
  },
  ietf: {
    replay: undefined,
    mismatch: {
      status: 422,
      contentType: 'application/problem+json',
      contains: '"title":"Idempotency-Key is already used"',
    },
    inFlight: { status: 409, contains: '"title":"A request is outstanding for this Idempotency-Key"' },
    refuses256: true,
  },
  'express-idempotency': {
    replay: undefined,
    mismatch: { status: 417, contentType: 'text/html', contains: 'Misuse of the idempotency key' },
    inFlight: { status: 409, contains: 'still in progress' },
    refuses256: false,
  },
  nestjs: {
    replay: undefined,
    mismatch: {
      status: 422,
      contentType: 'application/json',
      contains: '{"statusCode":422,"message":"Idempotency-Key is already used"}',
    },
    inFlight: { status: 409, contains: '"statusCode":409', retryAfter: '1' },
    refuses256: false,
  },
};

describe.each(DIALECTS)('dialect %s', (dialect) => {
  const expected = EXPECTED[dialect];

  it('replays the stored answer byte-for-byte, with its replay marker if any', async () => {
    const s = await start({ dialect });
    const first = await call(s, '/v1/things?q=1', { key: 'the-key', body: { a: 1 } });
    const again = await call(s, '/v1/things?q=1', { key: 'the-key', body: { a: 1 } });
    expect(again.status).toBe(first.status);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(replayMarkers(first.headers)).toEqual([]);
    expect(replayMarkers(again.headers)).toEqual(
      expected.replay ? [`${expected.replay[0].toLowerCase()}: ${expected.replay[1]}`] : [],
    );
    expect(s.applied('the-key')).toBe(1);
  });

  it('answers a reused key with another body as a mismatch', async () => {
    const s = await start({ dialect });
    await call(s, '/v1/things', { key: 'the-key', body: { a: 1 } });
    const reused = await call(s, '/v1/things', { key: 'the-key', body: { a: 2 } });
    expect(reused.status).toBe(expected.mismatch.status);
    expect(reused.headers.get('content-type')).toContain(expected.mismatch.contentType);
    expect(reused.text).toContain(expected.mismatch.contains);
    expect(replayMarkers(reused.headers)).toEqual([]);
    expect(s.applied('the-key')).toBe(1);
    expect(s.requests[1]!.outcome).toBe('mismatch');
  });

  it('answers a twin of an in-flight request as the API does', async () => {
    // Where the twin is refused at once, the first may stay slow until close(); where it waits, not too long.
    const ms = expected.inFlight === 'waits' ? 200 : 30_000;
    const s = await start({ dialect, faults: faultOnce({ kind: 'slow', ms }) });
    const first = call(s, '/v1/things', { key: 'the-key' });
    await s.waitForRequests(1);
    const twin = await call(s, '/v1/things', { key: 'the-key' });
    if (expected.inFlight === 'waits') {
      const original = await first;
      expect(twin.status).toBe(201);
      expect(twin.text).toBe(original.text);
      expect(twin.headers.get(expected.replay![0])).toBe('true');
    } else {
      expect(twin.status).toBe(expected.inFlight.status);
      expect(twin.text).toContain(expected.inFlight.contains);
      expect(twin.headers.get('retry-after')).toBe(expected.inFlight.retryAfter ?? null);
      expect(s.requests[1]!.outcome).toBe('in-flight');
      await s.close();
      await first.catch(() => undefined);
    }
    expect(s.applied('the-key')).toBe(1);
  });

  it('answers the in-flight fault on demand, applying nothing', async () => {
    const s = await start({ dialect, faults: faultOnce({ kind: 'in-flight' }) });
    const reply = await call(s, '/v1/things', { key: 'the-key' });
    expect(reply.status).toBe(409);
    const inFlight = expected.inFlight === 'waits' ? EXPECTED.seed004.inFlight : expected.inFlight;
    if (inFlight !== 'waits') {
      expect(reply.text).toContain(inFlight.contains);
      expect(reply.headers.get('retry-after')).toBe(inFlight.retryAfter ?? null);
    }
    expect(s.appliedTotal()).toBe(0);
    expect((await call(s, '/v1/things', { key: 'the-key' })).status).toBe(201);
  });

  it('accepts keys up to its limit and refuses longer ones', async () => {
    const s = await start({ dialect });
    const limit = dialect === 'seed003' ? 128 : 255;
    expect((await call(s, '/v1/things', { key: 'a'.repeat(limit) })).status).toBe(201);
    const long = await call(s, '/v1/things', { key: 'b'.repeat(256) });
    expect(long.status).toBe(expected.refuses256 ? 400 : 201);
    if (expected.refuses256) {
      expect(long.text.toLowerCase()).toContain('idempot');
      expect(s.applied('b'.repeat(256))).toBe(0);
    }
  });
});

describe('dialect details', () => {
  it('seed004 refuses keys over 255 characters or outside printable ASCII', async () => {
    const s = await start({ dialect: 'seed004' });
    for (const key of ['x'.repeat(256), 'clé-1']) {
      const refused = await call(s, '/v1/keys', { key });
      expect(refused.status).toBe(400);
      expect(refused.json()).toMatchObject({ code: 'invalid_idempotency_key' });
    }
    expect(s.requests.map((r) => r.outcome)).toEqual(['invalid-key', 'invalid-key']);
    expect(s.appliedTotal()).toBe(0);
  });

  it('seed003 refuses keys over 128 characters', async () => {
    const s = await start({ dialect: 'seed003' });
    const refused = await call(s, '/v1/economy/adjust', { key: 'x'.repeat(129) });
    expect(refused.status).toBe(400);
    expect(refused.json()).toMatchObject({ error: { code: 'idempotency_key_invalid' } });
  });

  it('seed001 scopes keys by route; seed000 does not', async () => {
    const s = await start({ dialect: 'seed001' });
    expect((await call(s, '/v1/matches', { key: 'k' })).status).toBe(201);
    expect((await call(s, '/v1/chat', { key: 'k' })).status).toBe(201);
    expect(s.applied('k')).toBe(2);
    // seed001 compares bodies only: the route is already part of the key's scope.
    expect((await call(s, '/v1/chat', { key: 'k', body: { other: true } })).status).toBe(409);

    s.setDialect('seed000');
    s.reset();
    await call(s, '/v1/matches', { key: 'k' });
    expect((await call(s, '/v1/chat', { key: 'k' })).status).toBe(422);
    expect((await call(s, '/v1/matches?page=2', { key: 'k' })).status).toBe(422);
  });

  it('seed002 twins that differ from the first are a mismatch once it finishes', async () => {
    const s = await start({ dialect: 'seed002', faults: faultOnce({ kind: 'slow', ms: 100 }) });
    const first = call(s, '/v1/bookings/spa', { key: 'k', body: { a: 1 } });
    await s.waitForRequests(1);
    const twin = await call(s, '/v1/bookings/spa', { key: 'k', body: { a: 2 } });
    expect(twin.status).toBe(409);
    expect(twin.json()).toMatchObject({ code: 'idempotency_key_reused' });
    expect((await first).status).toBe(201);
  });

  it('ietf reads the key as a structured-field string or a bare token alike', async () => {
    const s = await start({ dialect: 'ietf' });
    const quoted = await call(s, '/v1/orders', { key: '"abc-1"' });
    const bare = await call(s, '/v1/orders', { key: 'abc-1' });
    expect(bare.text).toBe(quoted.text);
    expect(quoted.json().key).toBe('abc-1');
    expect(s.applied('abc-1')).toBe(1);
    expect(s.requests.map((r) => [r.key, r.attempt])).toEqual([
      ['"abc-1"', 1],
      ['abc-1', 2],
    ]);
  });
});

describe('key memory', () => {
  it('forgets a key after keyTtlMs, and the same key runs again', async () => {
    let clock = 1_000_000;
    const s = await start({ keyTtlMs: 60_000, now: () => clock });
    await call(s, '/v1/payouts', { key: 'k' });
    clock += 59_999;
    expect((await call(s, '/v1/payouts', { key: 'k' })).headers.get('idempotency-replayed')).toBe('true');
    clock += 1;
    const fresh = await call(s, '/v1/payouts', { key: 'k', body: { other: 'body' } });
    expect(fresh.status).toBe(201);
    expect(replayMarkers(fresh.headers)).toEqual([]);
    expect(s.applied('k')).toBe(2);
  });

  it("seed002 remembers keys 90 s, as its document says", async () => {
    let clock = 0;
    const s = await start({ dialect: 'seed002', now: () => clock });
    await call(s, '/v1/credit_purchases', { key: 'k' });
    clock += 89_999;
    await call(s, '/v1/credit_purchases', { key: 'k' });
    expect(s.applied('k')).toBe(1);
    clock += 1;
    await call(s, '/v1/credit_purchases', { key: 'k' });
    expect(s.applied('k')).toBe(2);
  });

  it('forgetKeys() forgets keys only; reset() forgets everything', async () => {
    const s = await start();
    await call(s, '/v1/payouts', { key: 'k' });
    s.forgetKeys();
    await call(s, '/v1/payouts', { key: 'k', body: { other: 1 } });
    expect(s.applied('k')).toBe(2);
    expect(s.requests).toHaveLength(2);
    const requests = s.requests;
    s.reset();
    expect(requests).toHaveLength(0);
    expect(s.appliedTotal()).toBe(0);
    const again = await call(s, '/v1/payouts', { key: 'k' });
    expect(again.json()).toMatchObject({ id: 'op_1', sequence: 1 });
    expect(s.requests[0]!.attempt).toBe(1);
  });
});

describe('cross-origin and out-of-process use', () => {
  it('answers CORS preflights and exposes the replay headers', async () => {
    const s = await start();
    const preflight = await fetch(`${s.url}/v1/payouts`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'http://localhost:5173',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type,idempotency-key,authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('PATCH');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('content-type,idempotency-key,authorization');
    expect(s.requests).toHaveLength(0);

    const reply = await call(s, '/v1/payouts', { key: 'k', headers: { Origin: 'http://localhost:5173' } });
    expect(reply.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    const exposed = reply.headers.get('access-control-expose-headers')!.toLowerCase();
    for (const name of ['idempotency-replayed', 'x-idempotent-replayed', 'idempotent-replay', 'idempotent-replayed', 'retry-after']) {
      expect(exposed).toContain(name);
    }
  });

  it('takes orders over /__control/ without counting them as requests', async () => {
    const s = await start();
    const control = (path: string, body?: unknown) =>
      fetch(`${s.url}/__control/${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
    expect((await control('dialect', { dialect: 'stripe' })).status).toBe(200);
    expect((await control('faults', { once: { kind: 'drop-before' } })).status).toBe(200);
    await expect(call(s, '/v1/payouts', { key: 'k' })).rejects.toThrow();
    await call(s, '/v1/payouts', { key: 'k' });
    expect(await (await control('applied?key=k')).json()).toEqual({ applied: 1 });
    const state = await (await control('state')).json();
    expect(state).toMatchObject({ dialect: 'stripe', appliedTotal: 1, requests: [{ outcome: 'fault' }, { outcome: 'applied' }] });
    expect((await control('faults', { firstAttempts: [{ kind: 'nonsense' }] })).status).toBe(400);
    expect(s.requests).toHaveLength(2);
  });

  it('runs as a child process that prints its URL', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'support/server/main.ts', '--dialect', 'stripe', '--port', '0'], {
      cwd: new URL('..', import.meta.url),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const lines = createInterface({ input: child.stdout! });
      const [line] = await new Promise<string[]>((resolve, reject) => {
        lines.once('line', (l) => resolve([l]));
        child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
      });
      const { url } = JSON.parse(line!) as { url: string };
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const reply = await fetch(`${url}/v1/payouts`, { method: 'POST', headers: { 'Idempotency-Key': 'k' }, body: '{}' });
      expect(reply.status).toBe(201);
      const again = await fetch(`${url}/v1/payouts`, { method: 'POST', headers: { 'Idempotency-Key': 'k' }, body: '{}' });
      expect(again.headers.get('idempotent-replayed')).toBe('true');
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });
});
