import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { inject, onTestFinished } from 'vitest';
import { postgresStore, type PostgresStore } from '../../src/stores/postgres.js';
import type { Intent, IntentStore } from '../../src/stores/store.js';
import { runFixture, untilLines } from './processes.js';

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

/** A claimant process on the store's table (test/fixtures/postgres-claimant.ts), ready to race. */
export async function startClaimantProcess(store: IntentStore, request: object): Promise<{ run(): Promise<string[]> }> {
  const table = (store as PostgresStore).table;
  const claimant = runFixture('postgres-claimant.ts', [inject('postgresUrl'), table, JSON.stringify(request)], {
    nodeArgs: ['--import', 'tsx'],
    stdin: true,
  });
  await untilLines(claimant, 1);
  return {
    async run() {
      claimant.child.stdin?.write('go\n');
      const { code, stderr } = await claimant.exited;
      if (code !== 0) throw new Error(`The claimant process failed (${code}): ${stderr}`);
      return JSON.parse(claimant.lines.at(-1) ?? '[]') as string[];
    },
  };
}
