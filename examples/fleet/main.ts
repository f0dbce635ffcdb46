/**
 * One replica of a payouts service that runs as a fleet on one PostgreSQL. A "worker" takes
 * payout requests from a queue table and, in one transaction, records the payout and enqueues the
 * request that pays it (the outbox): both commit, or neither does. Every replica also runs
 * `relay()`, which sends what is enqueued — and what a dead replica was sending, once its lease
 * has run out. A "relay" replica only relays. Kill any of them: the others finish the work.
 *
 *   npm run example:fleet -- setup  --postgres URL [--payouts 30]
 *   npm run example:fleet -- worker --postgres URL --api URL
 *   npm run example:fleet -- relay  --postgres URL --api URL
 */
import { parseArgs } from 'node:util';
import { createClient } from 'durable-fetch';
import { postgresStore } from 'durable-fetch/postgres';
import pg from 'pg';
import { createTables, takeRequest } from './tables.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { postgres: { type: 'string' }, api: { type: 'string' }, payouts: { type: 'string', default: '30' } },
});
const [role = 'worker'] = positionals;
if (values.postgres === undefined) throw new Error('--postgres URL is required');
const pool = new pg.Pool({ connectionString: values.postgres });
const log = (line: string) => console.log(`${role} ${process.pid}: ${line}`);

if (role === 'setup') {
  await createTables(pool, Number(values.payouts));
  log(`${values.payouts} payout requests queued`);
  await pool.end();
  process.exit(0);
}
if (values.api === undefined) throw new Error('--api URL is required');

const api = createClient({
  prefix: values.api,
  headers: { Authorization: `Bearer ${process.env.DEMO_API_KEY ?? 'sk_demo_fleet'}` },
  store: postgresStore({ pool }),
  // How long a dead replica's claim on a payout holds before another replica takes it over.
  leaseMs: 5_000,
  retry: { limit: 6 },
  on: { recovery: ({ idempotencyKey, state }) => log(`${idempotencyKey}: ${state}`) },
});
const stop = new AbortController();
const relaying = api.relay({ signal: stop.signal, concurrency: 4 });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
log('relaying');

if (role === 'worker') {
  for (;;) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const request = await takeRequest(client);
      if (request === undefined) {
        await client.query('ROLLBACK');
        break;
      }
      const { idempotencyKey } = await api.enqueue('POST', 'v1/payouts', {
        json: { id: request.id, recipient: request.recipient, amount: request.amount },
        idempotencyKey: `payout-${request.id}`,
        transaction: client,
      });
      await client.query('COMMIT');
      log(`payout ${request.id} recorded, ${idempotencyKey} enqueued`);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }
  log('queue empty');
}

await relaying;
await api.close();
await pool.end();
