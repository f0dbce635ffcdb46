import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { inject, onTestFinished } from 'vitest';
import { postgresStore, type PostgresStore } from '../../src/stores/postgres.js';
import type { Intent, IntentStore } from '../../src/stores/store.js';

/** A table name no other test uses: files share one server. */
export function freshTable(): string {
  return `intents_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

/** A store on a fresh table of the run's server (test/support/postgres-setup.ts). */
export function freshStore(url = inject('postgresUrl')): PostgresStore {
  return postgresStore({ connectionString: url, table: freshTable() });
}

/** A pool of the test's own on `url`, ended when the test ends. */
export function testPool(url = inject('postgresUrl')): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: 5000 });
  pool.on('error', () => {});
  onTestFinished(() => pool.end());
  return pool;
}

/** Stores `intent` as created, then gives it its (unknown) state behind the store's back. */
export async function plantUnknownRow(store: IntentStore, intent: Intent): Promise<void> {
  await store.create({ ...intent, state: 'pending' });
  const client = new pg.Client({ connectionString: inject('postgresUrl') });
  await client.connect();
  try {
    await client.query(`UPDATE "${(store as PostgresStore).table}" SET state = $1 WHERE scope = $2 AND id = $3`, [intent.state, intent.scope, intent.id]);
  } finally {
    await client.end();
  }
}


/** The column of each time. */
const TIME_COLUMNS: Record<string, string> = { createdAt: 'created_at', updatedAt: 'updated_at', expiresAt: 'expires_at', leaseUntil: 'lease_until' };

/** Stores `intent` as created, then writes `value` (a whole number a `bigint` holds) into its time `field` behind the store's back. */
export async function plantDamagedRow(store: IntentStore, intent: Intent, field: string, value: number | bigint): Promise<void> {
  await store.create(intent);
  const client = new pg.Client({ connectionString: inject('postgresUrl') });
  await client.connect();
  try {
    const column = TIME_COLUMNS[field] ?? field;
    await client.query(`UPDATE "${(store as PostgresStore).table}" SET ${column} = $1::bigint WHERE scope = $2 AND id = $3`, [BigInt(value).toString(), intent.scope, intent.id]);
  } finally {
    await client.end();
  }
}
