import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClient, memoryStore } from '../src/index.js';
import { HTTPError, type NormalizedOptions } from 'ky';
import { kyRetry, MAX_RETRY_AFTER_MS, normalizeRetry, parseRetryAfter } from '../src/retry.js';

afterEach(() => vi.restoreAllMocks());

describe('backoff', () => {
  it('is exponential with full jitter: anywhere from 0 up to 300 ms × 2^(retry-1)', () => {
    const { delay } = normalizeRetry({ limit: 5 });
    vi.spyOn(Math, 'random').mockReturnValue(0.999_999);
    expect([1, 2, 3, 4].map((retry) => Math.round(delay(retry)))).toEqual([300, 600, 1200, 2400]);
    vi.spyOn(Math, 'random').mockReturnValue(0);
    expect(delay(4)).toBe(0);
  });

  it('is capped by backoffLimit', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999_999);
    expect(Math.round(normalizeRetry({ backoffLimit: 1000 }).delay(10))).toBe(1000);
  });

  it('a retry.delay function replaces it, and a number is the retry limit', () => {
    expect(normalizeRetry({ delay: (attempt) => attempt * 7 }).delay(3)).toBe(21);
    expect(normalizeRetry(4).limit).toBe(4);
    expect(normalizeRetry(undefined).limit).toBe(2);
  });
});

describe('plain reads get the policy as ky retry options', () => {
  const answered = (status: number, headers: Record<string, string> = {}) =>
    new HTTPError(new Response(null, { status, headers }), new Request('https://api.test/v1/x'), {} as NormalizedOptions);

  it('the same delay, its bound, and maxRetryAfter', () => {
    const policy = normalizeRetry({ limit: 4, backoffLimit: 1000, maxRetryAfter: 5000 });
    expect(kyRetry(policy)).toMatchObject({ limit: 4, delay: policy.delay, backoffLimit: 1000, maxRetryAfter: 5000 });
  });

  it('a retry.delay of the caller is not bounded by backoffLimit, as for keyed calls', () => {
    expect(kyRetry(normalizeRetry({ delay: () => 45_000 })).backoffLimit).toBe(Infinity);
  });

  it('stops at a Retry-After beyond maxRetryAfter, and leaves everything else to ky', () => {
    const { shouldRetry } = kyRetry(normalizeRetry({ maxRetryAfter: 5000 }));
    expect(shouldRetry?.({ error: answered(429, { 'retry-after': '3600' }), retryCount: 1 })).toBe(false);
    expect(shouldRetry?.({ error: answered(429, { 'retry-after': '5' }), retryCount: 1 })).toBeUndefined();
    expect(shouldRetry?.({ error: answered(503), retryCount: 1 })).toBeUndefined();
  });
});

describe('Retry-After', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('0')).toBe(0);
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    expect(parseRetryAfter(inTenSeconds)).toBeGreaterThan(8000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('reads a fraction as whole ms, rounded up, and a date in the past as 0', () => {
    expect(parseRetryAfter('1.5')).toBe(1500);
    expect(parseRetryAfter('0.0001')).toBe(1);
    expect(parseRetryAfter(' 7 ')).toBe(7000);
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(0);
  });

  it('reads any wait longer than a week, however absurd, as a week (MAX_RETRY_AFTER_MS)', () => {
    const now = Date.UTC(2030, 0, 1);
    expect(MAX_RETRY_AFTER_MS).toBe(7 * 24 * 60 * 60 * 1000);
    for (const value of ['1e9', '1e13', '1e308', '1e400', '9'.repeat(400), '604801', 'Fri, 31 Dec 9999 23:59:59 GMT', 'Sat, 01 Jan 275760 00:00:00 GMT']) {
      expect(parseRetryAfter(value, now), value).toBe(MAX_RETRY_AFTER_MS);
    }
    expect(parseRetryAfter('604800', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter(new Date(now + 3_600_000).toUTCString(), now)).toBe(3_600_000);
  });

  it('reads a negative number, NaN, Infinity and other text as no Retry-After at all', () => {
    for (const value of ['-5', '+5', 'NaN', 'Infinity', '-Infinity', 'abc', '0x10', '5 s', '5s', '2030-01-01', '1e', 'e5', '.5', '']) {
      expect(parseRetryAfter(value), value).toBeUndefined();
    }
  });
});

describe('bodies', () => {
  it('a ReadableStream body is a clear TypeError, not a silent single attempt', async () => {
    let fetched = 0;
    const store = memoryStore();
    const client = createClient({ prefix: 'https://api.test', store, fetch: async () => (fetched++, new Response('{}')) });
    const stream = new ReadableStream({ start: (controller) => (controller.enqueue(new TextEncoder().encode('x')), controller.close()) });
    await expect(client.post('v1/upload', { body: stream })).rejects.toThrow(/ReadableStream body cannot be replayed/);
    expect(fetched).toBe(0);
    expect(await store.list()).toEqual([]);
  });

  it('json and body together are refused', async () => {
    const client = createClient({ prefix: 'https://api.test', store: memoryStore() });
    await expect(client.post('v1/x', { json: {}, body: 'x' })).rejects.toThrow(TypeError);
  });
});
