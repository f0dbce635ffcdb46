import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { createClient } from '../src/index.js';
import type { PostgresStore } from '../src/postgres.js';
import { freshStore, freshTable, testPool } from './support/postgres-tables.js';
import { startRecordingServer } from './support/recording-server.js';

/** Far longer than any test: a relay that sends promptly was woken by NOTIFY, not by its poll. */
const POLL_MS = 60_000;

/**
 * The store, watched so the test knows when the relay is idle and listening: after the watch's
 * first call (LISTEN is up) and once no claim is running, a relay waits for its next wake-up, and
 * only a notification can bring one before `POLL_MS`.
 */
function observed(store: PostgresStore): { store: PostgresStore; relayIdle(): Promise<void> } {
  let listening!: () => void;
  const heard = new Promise<void>((resolve) => (listening = resolve));
  let claiming = 0;
  const watch = store.watch.bind(store);
  const claim = store.claim.bind(store);
  store.watch = (onChange) => watch(() => (onChange(), listening()));
  store.claim = async (request) => {
    claiming++;
    try {
      return await claim(request);
    } finally {
      claiming--;
    }
  };
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return {
    store,
    async relayIdle() {
      await heard;
      await settle();
      await vi.waitFor(() => expect(claiming).toBe(0));
      await settle();
    },
  };
}

/** A client on a fresh table, its relay running until the test ends, and a business table beside. */
async function outbox() {
  const server = await startRecordingServer();
  onTestFinished(() => server.close());
  const { store, relayIdle } = observed(freshStore());
  const api = createClient({ prefix: `${server.url}/`, store, retry: { limit: 0 } });
  onTestFinished(() => api.close());
  const pool = testPool();
  const payouts = freshTable();
  await pool.query(`CREATE TABLE "${payouts}" (id text PRIMARY KEY, amount integer NOT NULL)`);
  await store.list(); // the intents table exists before any business transaction
  const stop = new AbortController();
  const relay = api.relay({ signal: stop.signal, pollMs: POLL_MS });
  onTestFinished(async () => {
    stop.abort();
    await relay;
  });
  await relayIdle();

  /** Inserts a payout row and enqueues its request in one transaction, then commits or rolls back. */
  async function payout(id: string, end: 'COMMIT' | 'ROLLBACK'): Promise<string> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO "${payouts}" (id, amount) VALUES ($1, 500)`, [id]);
      const { idempotencyKey } = await api.enqueue('POST', 'v1/payouts', { json: { id, amount: 500 }, transaction: client });
      await client.query(end);
      return idempotencyKey;
    } finally {
      client.release();
    }
  }
  const rows = async () => (await pool.query(`SELECT id FROM "${payouts}" ORDER BY id`)).rows.map((row) => row.id as string);
  return { server, store, payout, rows };
}

describe('enqueue in the caller’s PostgreSQL transaction (the outbox)', () => {
  it('sends a committed payout once, woken by the commit’s notification', async () => {
    const { server, store, payout, rows } = await outbox();
    const key = await payout('po-1', 'COMMIT');
    await vi.waitFor(() => expect(server.applied(key)).toBe(1), { timeout: 10_000 });
    await vi.waitFor(async () => expect((await store.list()).map((intent) => intent.state)).toEqual(['succeeded']));
    expect(server.requests.map((request) => request.key)).toEqual([key]);
    await expect(rows()).resolves.toEqual(['po-1']);
  });

  it('never sends a payout whose transaction rolled back', async () => {
    const { server, store, payout, rows } = await outbox();
    await payout('po-rolled-back', 'ROLLBACK');
    // A commit after it: once its payout is sent, the relay has looked, and found nothing else.
    const committed = await payout('po-committed', 'COMMIT');
    await vi.waitFor(() => expect(server.applied(committed)).toBe(1), { timeout: 10_000 });
    await server.idle();
    expect(server.requests.map((request) => request.key)).toEqual([committed]);
    await expect(store.list()).resolves.toHaveLength(1);
    await expect(rows()).resolves.toEqual(['po-committed']);
  });
});
