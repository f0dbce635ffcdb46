/**
 * The postgresStore journal's reader: a READ ONLY transaction, and nothing created — a missing
 * table is reported, not made. Connection URLs may hold passwords, so no message repeats one.
 */
import { maskUrl } from '../credentials.js';
import { IntentTable } from '../stores/postgres/intent-table.js';
import { Client } from '../stores/postgres/driver.js';
import { DEFAULT_TABLE, tableName } from '../stores/postgres/names.js';
import { connectionStringProblem } from '../stores/postgres/options.js';
import { CliError } from './errors.js';
import { type JournalReader, wholeOrDamaged } from './journal-reader.js';

export async function openPostgresJournal(url: string, table = DEFAULT_TABLE, schema?: string): Promise<JournalReader> {
  const problem = connectionStringProblem(url);
  if (problem !== undefined) throw new CliError(`--postgres URL ${problem}; it is not repeated here, as it may hold a password`, 2);
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  await client.connect().catch((error: Error) => {
    throw new CliError(`cannot connect to PostgreSQL at ${maskUrl(url)}: ${error.message || (error as { code?: string }).code || error.name}`, 1);
  });
  const name = tableName(table, schema);
  const intents = new IntentTable(name);
  return {
    async list(query) {
      try {
        await client.query('BEGIN READ ONLY');
        const summaries = await intents.list(client as never, query);
        await client.query('COMMIT');
        return summaries;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        const missing = (error as { code?: string }).code === '42P01';
        throw new CliError(missing ? `no journal table ${name.sql} in that database (durable-fetch migrate --postgres URL prints its DDL)` : `cannot read ${name.sql}: ${(error as Error).message}`, missing ? 2 : 1);
      }
    },
    async *wholes(summaries) {
      // One READ ONLY transaction for them all: one snapshot, nothing written.
      await client.query('BEGIN READ ONLY');
      try {
        for (const { scope, id } of summaries) yield await wholeOrDamaged(() => intents.get(client as never, scope, id));
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw new CliError(`cannot read ${name.sql}: ${(error as Error).message}`, 1);
      }
    },
    close: () => client.end(),
  };
}
