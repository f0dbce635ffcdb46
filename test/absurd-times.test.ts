/**
 * Absurd times, end to end: real servers on 127.0.0.1 answering with absurd `Retry-After` values,
 * and journals holding rows with absurd times, on SQLite, PostgreSQL and Redis. Whatever a server
 * says or a row holds, no intent is parked past the ceiling (a week), and pending(), recover(),
 * resolve(), a repeat of the key and the CLI all go on working.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { createClient as createRedisClient } from 'redis';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { main } from '../src/cli/main.js';
import {
  createClient,
  type DurableEvents,
  HTTPError,
  IdempotencyError,
  IdempotencyIntegrityError,
  IdempotencyStoreError,
  type IntentStore,
  MAX_RETRY_AFTER_MS,
} from '../src/index.js';
import { postgresStore, type PostgresStore } from '../src/stores/postgres.js';
import { redisStore, type RedisStore } from '../src/stores/redis.js';
import { sqliteStore, type SqliteStore } from '../src/stores/sqlite.js';
import { freshTable } from './support/postgres-tables.js';
import { freshKeyPrefix, useRedisServer } from './support/redis.js';
import { tempDir, withRawDatabase } from './support/sqlite.js';

const redis = useRedisServer();

/**
 * What the server answers each request with, by the `case` in its query: 503 and that case's
 * Retry-After, until `healed` — then 201, applying the payout once per key.
 */
interface PayoutServer {
  url: string;
  healed: boolean;
  /** Requests seen, by case. */
  seen: Map<string, number>;
  applied: Map<string, number>;
}

let server: PayoutServer;
let http: Server;

beforeAll(async () => {
  const state: PayoutServer = { url: '', healed: false, seen: new Map(), applied: new Map() };
  http = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const which = url.searchParams.get('case') ?? '';
      state.seen.set(which, (state.seen.get(which) ?? 0) + 1);
      if (!state.healed) {
        res.writeHead(503, { 'retry-after': which, 'content-type': 'application/json' }).end('{"error":"busy"}');
        return;
      }
      const key = String(req.headers['idempotency-key']);
      state.applied.set(key, (state.applied.get(key) ?? 0) + 1);
      res.writeHead(201, { 'content-type': 'application/json' }).end('{"id":"payout"}');
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  server = state;
});
afterAll(() => new Promise<void>((resolve) => http.close(() => resolve())));

const WEEK = MAX_RETRY_AFTER_MS;
/** A far-future HTTP date: the last second of the year 9999. */
const YEAR_9999 = 'Fri, 31 Dec 9999 23:59:59 GMT';

/** Each Retry-After, and whether it parks (for the ceiling, a week) or reads as no Retry-After (the backoff, then free). */
const RETRY_AFTERS: readonly { value: string; parks: boolean }[] = [
  { value: '1e13', parks: true },
  { value: '1e9', parks: true },
  { value: '1e308', parks: true },
  { value: YEAR_9999, parks: true },
  { value: '-5', parks: false },
  { value: 'abc', parks: false },
];

/** One journal of each kind, fresh, closed when the test ends; `cli` lists it with the CLI. */
interface Journal {
  store: IntentStore;
  cli: string[];
  /** Writes `value` into the time `field` of the intent of `key`'s row, behind the store's back. */
  plant(id: string, field: 'createdAt' | 'updatedAt' | 'expiresAt' | 'leaseUntil', value: number | bigint | string): Promise<void>;
}

const JOURNALS: Record<string, () => Promise<Journal>> = {
  async sqlite() {
    const path = join(await tempDir(), 'intents.db');
    const store = sqliteStore(path);
    onTestFinished(() => store.close());
    return {
      store,
      cli: ['list', (store as SqliteStore).path],
      async plant(id, field, value) {
        // A whole number an INTEGER holds goes in as one (past 2^53 too); anything else as it is (a REAL, text).
        const stored = typeof value === 'number' && Number.isInteger(value) && Math.abs(value) < 2 ** 63 ? BigInt(value) : value;
        withRawDatabase(path, (db) => db.prepare(`UPDATE intents SET "${field}" = ? WHERE id = ?`).run(stored, id));
      },
    };
  },
  async postgres() {
    const table = freshTable();
    const store = postgresStore({ connectionString: inject('postgresUrl'), table });
    onTestFinished(() => store.close());
    const columns = { createdAt: 'created_at', updatedAt: 'updated_at', expiresAt: 'expires_at', leaseUntil: 'lease_until' };
    return {
      store,
      cli: ['list', '--postgres', inject('postgresUrl'), '--table', (store as PostgresStore).table],
      async plant(id, field, value) {
        const client = new pg.Client({ connectionString: inject('postgresUrl') });
        await client.connect();
        try {
          await client.query(`UPDATE "${table}" SET ${columns[field]} = $1::bigint WHERE id = $2`, [typeof value === 'string' ? value : BigInt(value).toString(), id]);
        } finally {
          await client.end();
        }
      },
    };
  },
  async redis() {
    const keyPrefix = freshKeyPrefix();
    const store = redisStore({ url: redis().url, keyPrefix });
    onTestFinished(() => store.close());
    return {
      store,
      cli: ['list', '--redis', redis().url, '--key-prefix', (store as RedisStore).keyPrefix],
      async plant(id, field, value) {
        const client = await createRedisClient({ url: redis().url }).on('error', () => {}).connect();
        try {
          const scope = 'default';
          await client.hSet(`${keyPrefix}intent:${Buffer.byteLength(scope)}:${scope}:${id}`, field, typeof value === 'string' ? value : BigInt(value).toString());
        } finally {
          client.destroy();
        }
      },
    };
  },
};

/** The CLI in-process: the exit code and what it printed. */
async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, (text) => (stdout += `${text}\n`), (text) => (stderr += `${text}\n`));
  return { code, stdout, stderr };
}

/** A client on the journal, with quick retries and the default maxRetryAfter (a minute); events collected. */
function clientOn(journal: Journal) {
  const events: { name: string; event: { idempotencyKey: string; error?: unknown } }[] = [];
  const on: DurableEvents = {
    damaged: (event) => void events.push({ name: 'damaged', event }),
    recovery: (event) => void events.push({ name: 'recovery', event }),
  };
  const client = createClient({ prefix: server.url, store: journal.store, retry: { limit: 2, delay: () => 5 }, on });
  return { client, events };
}

for (const [kind, open] of Object.entries(JOURNALS)) {
  describe(`${kind}: absurd Retry-After values`, () => {
    it('parks within a week (or not at all), and pending(), recover(), resolve(), a repeat of the key and the CLI all work afterwards', async () => {
      server.healed = false;
      server.seen.clear();
      const journal = await open();
      const { client } = clientOn(journal);
      const keys = new Map<string, string>();
      for (const { value } of RETRY_AFTERS) {
        const key = `retry-after-${kind}-${RETRY_AFTERS.findIndex((entry) => entry.value === value)}`;
        keys.set(value, key);
        const error = await client.post(`v1/payouts?case=${encodeURIComponent(value)}`, { json: { value }, idempotencyKey: key }).catch((caught: unknown) => caught);
        expect(error, value).toBeInstanceOf(HTTPError);
        expect((error as HTTPError).response.status, value).toBe(503);
      }
      // A wait past maxRetryAfter is not waited for: one request. An unreadable one is the backoff's: every retry.
      for (const { value, parks } of RETRY_AFTERS) expect(server.seen.get(value), value).toBe(parks ? 1 : 3);

      const pending = await client.pending();
      expect(pending.map((intent) => intent.idempotencyKey).sort()).toEqual([...keys.values()].sort());
      const now = Date.now();
      for (const { value, parks } of RETRY_AFTERS) {
        const intent = pending.find((candidate) => candidate.idempotencyKey === keys.get(value))!;
        for (const time of [intent.createdAt, intent.updatedAt, intent.expiresAt, intent.leaseUntil]) expect(Number.isSafeInteger(time), value).toBe(true);
        if (parks) {
          // Parked a week from when it was given up, on the store's clock (this machine's).
          expect(intent.parkedUntil! - now, value).toBeLessThanOrEqual(WEEK + 1_000);
          expect(intent.parkedUntil! - now, value).toBeGreaterThan(WEEK - 60_000);
        } else expect(intent.parkedUntil, value).toBeUndefined();
      }

      // A repeat of a parked key is told it is parked, until when, and sends nothing — no store error.
      const before = server.seen.get('1e13');
      const repeat = await client.post('v1/payouts?case=1e13', { json: { value: '1e13' }, idempotencyKey: keys.get('1e13') }).catch((caught: unknown) => caught);
      expect(repeat).toBeInstanceOf(IdempotencyError);
      expect(repeat).not.toBeInstanceOf(IdempotencyStoreError);
      const until = new Date(/parked until about (\S+):/.exec((repeat as Error).message)![1]!).getTime();
      expect(until - now).toBeLessThanOrEqual(WEEK + 1_000);
      expect(server.seen.get('1e13')).toBe(before);

      // The CLI lists every one, parked for a week at most, and never prints Infinity or NaN.
      const listed = await cli(journal.cli);
      expect(listed.code).toBe(0);
      expect(listed.stdout).not.toMatch(/Infinity|NaN/);
      expect(listed.stdout.match(/parked (7d0h|6d23h)/g)).toHaveLength(4);
      expect(listed.stdout).toContain('6 intent(s), 6 pending, 0 expired.');

      // recover() sends what is not parked, now that the server answers, and leaves the parked ones.
      server.healed = true;
      const outcomes = await client.recover();
      expect(outcomes.map((outcome) => [outcome.idempotencyKey, outcome.state]).sort()).toEqual([
        [keys.get('-5'), 'succeeded'],
        [keys.get('abc'), 'succeeded'],
      ]);

      // resolve() settles a parked one at once: an operator's verdict sends nothing, so it need not wait.
      for (const intent of await client.pending()) await client.resolve(intent, 'failed');
      await expect(client.pending()).resolves.toEqual([]);
      const states = (await journal.store.list()).map((intent) => intent.state).sort();
      expect(states).toEqual(['failed', 'failed', 'failed', 'failed', 'succeeded', 'succeeded']);
      expect((await cli(journal.cli)).stdout).toContain('6 intent(s), 0 pending, 0 expired.');
    });
  });

  describe(`${kind}: a row with an absurd time among good ones`, () => {
    it('is skipped and reported by pending(), recover() and the CLI, which list the others; its key is refused, nothing sent', async () => {
      server.healed = false;
      const journal = await open();
      const { client, events } = clientOn(journal);
      const keys = ['good-1', 'damaged', 'good-2'].map((name) => `${kind}-among-${name}`);
      // Pending intents, as calls that gave up leave them (an unreadable Retry-After: not parked).
      for (const key of keys) await expect(client.post('v1/payouts?case=abc', { json: {}, idempotencyKey: key })).rejects.toBeInstanceOf(HTTPError);
      const damaged = (await journal.store.list()).find((intent) => intent.idempotencyKey === keys[1])!;
      // Where Retry-After: 1e13 once put a lease: past 2^53.
      await journal.plant(damaged.id, 'leaseUntil', 1e16);

      const pending = await client.pending();
      expect(pending.map((intent) => intent.idempotencyKey)).toEqual([keys[0], keys[2]]);
      expect(events).toEqual([{ name: 'damaged', event: expect.objectContaining({ idempotencyKey: keys[1], reason: expect.stringMatching(/leaseUntil is out of range/) }) }]);
      expect((events[0]!.event as { error: unknown }).error).toBeInstanceOf(IdempotencyIntegrityError);

      const listed = await cli(journal.cli);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain('2 intent(s), 2 pending, 0 expired.');
      expect(listed.stdout).toContain(keys[0]);
      expect(listed.stdout).toMatch(new RegExp(`Skipped 1 damaged record[^\\n]*\\n  intent "POST ${server.url}/v1/payouts ${keys[1]}" in scope "default": its leaseUntil is out of range`));
      expect(listed.stdout).not.toMatch(/Infinity|NaN/);

      // The same key: nothing sent, and the error says the record is damaged.
      const seen = server.seen.get('abc');
      const repeat = await client.post('v1/payouts?case=abc', { json: {}, idempotencyKey: keys[1] }).catch((caught: unknown) => caught);
      expect(repeat).toBeInstanceOf(IdempotencyStoreError);
      expect((repeat as Error).message).toMatch(/is damaged: its leaseUntil is out of range/);
      expect(server.seen.get('abc')).toBe(seen);

      // recover() resends the good ones and reports the damaged one as skipped, sending nothing of it.
      server.healed = true;
      events.length = 0;
      const outcomes = await client.recover();
      expect(outcomes.map((outcome) => [outcome.idempotencyKey, outcome.state])).toEqual([
        [keys[1], 'skipped'],
        [keys[0], 'succeeded'],
        [keys[2], 'succeeded'],
      ]);
      expect(outcomes[0]!.error).toBeInstanceOf(IdempotencyIntegrityError);
      expect(server.applied.get(keys[1]!)).toBeUndefined();
      expect(events.filter((entry) => entry.name === 'damaged')).toHaveLength(1);
      // Still there, untouched, for an operator.
      expect((await cli(journal.cli)).stdout).toContain('Skipped 1 damaged record');
    });

    it('skips rows whose times are no numbers, or numbers past what the storage keeps exactly, in the CLI as JSON too', async () => {
      server.healed = false;
      const journal = await open();
      const { client, events } = clientOn(journal);
      // Values each storage can hold: any text in SQLite and Redis; PostgreSQL's bigint, to its end.
      const absurd: Record<string, (number | bigint | string)[]> = {
        sqlite: ['abc', 1e308, 9_223_372_036_854_775_807n, -5],
        postgres: ['9223372036854775807', '-9223372036854775808', 1e16, -5],
        redis: ['abc', 'inf', '1e308', ''],
      };
      const values = absurd[kind]!;
      const keys = ['good', ...values.map((_, i) => `bad-${i}`)].map((name) => `${kind}-no-number-${name}`);
      for (const key of keys) await expect(client.post('v1/payouts?case=abc', { json: {}, idempotencyKey: key })).rejects.toBeInstanceOf(HTTPError);
      const intents = await journal.store.list();
      const fields = ['createdAt', 'updatedAt', 'expiresAt', 'leaseUntil'] as const;
      for (const [i, value] of values.entries()) await journal.plant(intents.find((intent) => intent.idempotencyKey === keys[i + 1])!.id, fields[i]!, value);

      await expect(client.pending()).resolves.toMatchObject([{ idempotencyKey: keys[0] }]);
      expect(events.map((entry) => entry.event.idempotencyKey).sort()).toEqual(keys.slice(1).sort());
      const json = await cli([...journal.cli, '--json']);
      expect(json.code).toBe(0);
      expect((JSON.parse(json.stdout) as { idempotencyKey: string }[]).map((row) => row.idempotencyKey)).toEqual([keys[0]]);
      expect(json.stderr).toContain(`Skipped ${values.length} damaged records`);
      for (const [i] of values.entries()) expect(json.stderr).toMatch(new RegExp(`${keys[i + 1]}" in scope "default": its ${fields[i]} is (out of range|missing or not a number)`));
      expect(json.stdout + json.stderr).not.toMatch(/Infinity|NaN/);
      server.healed = true;
      const outcomes = await client.recover();
      expect(outcomes.filter((outcome) => outcome.state === 'succeeded').map((outcome) => outcome.idempotencyKey)).toEqual([keys[0]]);
      expect(outcomes.filter((outcome) => outcome.state === 'skipped')).toHaveLength(values.length);
    });
  });
}
