/**
 * The fleet store: intents in one PostgreSQL table that every replica shares, so any survivor
 * can finish a dead one's call, and `enqueue` can write an intent in the caller's own transaction
 * (the transactional outbox) with relays woken by LISTEN/NOTIFY on commit.
 *
 * Design notes by file, in postgres/: options.ts (pool, timeouts, limits), names.ts (table and
 * index names, quoted), ddl.ts (the DDL, which needs no `pg`), schema.ts (running it under its
 * first-use lock), intent-table.ts (the contract in SQL, NOTIFY, how owners are judged dead and
 * the restart guard), presence.ts (enlisted owners' locks and why a lost connection is not a
 * death), rows.ts (row ↔ intent), listener.ts (the LISTEN connection that survives restarts),
 * connect.ts (taking a pool connection safely), postgres-store.ts (errors, closing, waking
 * relays).
 */
import { normalizePostgresOptions, type PostgresStoreOptions } from './postgres/options.js';
import { PostgresStore } from './postgres/postgres-store.js';

export type { PostgresStoreOptions } from './postgres/options.js';
export type { PostgresStore } from './postgres/postgres-store.js';
export { postgresDdl } from './postgres/ddl.js';

/**
 * Opens the intent store in a PostgreSQL table (created with its indexes on first use if
 * missing). Needs the `pg` package (an optional peer dependency of durable-fetch).
 *
 * @example
 * const store = postgresStore({ connectionString: process.env.DATABASE_URL });
 * const api = createClient({ prefix: 'https://api.example.com/v1/', store });
 * // The outbox: the payout row and the request to make commit or roll back together.
 * const db = await pool.connect();
 * await db.query('BEGIN');
 * await db.query('INSERT INTO payouts (id, amount) VALUES ($1, $2)', [id, 500]);
 * await api.enqueue('POST', 'payouts', { json: { id, amount: 500 }, transaction: db });
 * await db.query('COMMIT');
 */
export function postgresStore(options: PostgresStoreOptions): PostgresStore {
  return new PostgresStore(normalizePostgresOptions(options));
}
