import type { DatabaseSync } from 'node:sqlite';
import type { IntentSummary, ListQuery } from '../store.js';
import { IntentTable } from './intent-table.js';
import { openForReading } from './schema.js';

/** A read-only view of a sqlite intent store, for the CLI: nothing is written, locked or created. */
export interface SqliteReader {
  /** Summaries matching the query, oldest first, as `IntentStore.list` returns them. */
  list(query?: ListQuery): IntentSummary[];
  close(): void;
}

/**
 * Opens the database at `path` read-only on the calling thread (a CLI has no event loop to keep
 * free). Throws a plain Error naming the file when it is missing, not an intent store, or from a
 * newer version.
 */
export function openSqliteReadOnly(path: string): SqliteReader {
  let db: DatabaseSync | undefined;
  try {
    db = openForReading(path);
    const table = new IntentTable(db);
    return { list: (query) => table.list(query), close: () => db?.close() };
  } catch (error) {
    db?.close();
    throw new Error(`Cannot read the intent store at ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
