/**
 * One reader per kind of journal. The fleet stores' readers load their client libraries (optional
 * peers) only when asked for, so listing a SQLite journal never needs `pg` or `redis`.
 */
import { CliError } from './errors.js';
import type { JournalReader, JournalSource } from './journal-reader.js';
import { openSqliteJournal } from './sqlite-reader.js';

type Openers = { [K in JournalSource['kind']]: (source: Extract<JournalSource, { kind: K }>) => Promise<JournalReader> };

const OPENERS: Openers = {
  sqlite: (source) => openSqliteJournal(source.path),
  postgres: async (source) => (await peer(() => import('./postgres-reader.js'), 'pg', '--postgres')).openPostgresJournal(source.url, source.table, source.schema),
  redis: async (source) => (await peer(() => import('./redis-reader.js'), 'redis', '--redis')).openRedisJournal(source.url, source.keyPrefix),
};

export function openJournal(source: JournalSource): Promise<JournalReader> {
  return (OPENERS[source.kind] as (source: JournalSource) => Promise<JournalReader>)(source);
}

/** A reader whose client library (an optional peer) may not be installed: say which to install. */
async function peer<T>(load: () => Promise<T>, name: string, option: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new CliError(`${option} needs the npm package "${name}": npm install ${name}`, 1);
  }
}
