import { existsSync, statSync } from 'node:fs';
import type { DatabaseSync } from 'node:sqlite';
import { pathToFileURL } from 'node:url';
import { type DamagedRecord, type Intent, type IntentSummary, type ListQuery, reportDamaged } from '../store.js';
import { IntentTable } from './intent-table.js';
import { checkedForReading, openForReading, readingClock, sqlite } from './schema.js';

/** A read-only view of a sqlite intent store, for the CLI: nothing is written, locked or created. */
export interface SqliteReader {
  /** Summaries matching the query, oldest first, as `IntentStore.list` returns them (damaged records left out and told to `onDamaged`). */
  list(query?: ListQuery): IntentSummary[];
  /** One whole intent, payloads included, as `IntentStore.get` returns it; undefined when there is none. */
  get(scope: string, id: string): Intent | undefined;
  close(): void;
}

/**
 * Opens the database at `path` read-only on the calling thread (a CLI has no event loop to keep
 * free). Throws a plain Error naming the file when it is missing, not an intent store, or from a
 * newer version.
 */
export function openSqliteReadOnly(path: string): SqliteReader {
  try {
    return new ReadOnlyView(path);
  } catch (error) {
    throw new Error(`Cannot read the intent store at ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Why two ways to open: SQLite, opening a WAL database read-only, creates the -wal and -shm files
 * when they are missing (a reader joins the writers' shared index through them) and, unable to
 * checkpoint, leaves them behind when it closes. When there is no -wal, no process has the store
 * open and the main file holds every commit, so it is read as `immutable`: no side files, no
 * locks. Taking no lock, such a read cannot see a writer arrive; each read checks afterwards that
 * no -wal appeared and the file did not change, and otherwise reads again the ordinary way, which
 * then joins the writer's existing files and creates nothing.
 */
class ReadOnlyView implements SqliteReader {
  readonly #path: string;
  #db!: DatabaseSync;
  #table!: IntentTable;
  /** The main file's identity when it was opened immutable; undefined when opened the ordinary way. */
  #quietMark: string | undefined;

  constructor(path: string) {
    this.#path = path;
    this.#open(quietMark(path));
  }

  list(query?: ListQuery): IntentSummary[] {
    // Damaged records are told of once, from the read that is kept.
    let damaged: DamagedRecord[] = [];
    const rows = this.#read((table) => {
      damaged = [];
      return table.list({ ...query, onDamaged: (record) => damaged.push(record) });
    });
    for (const record of damaged) reportDamaged(query?.onDamaged, record);
    return rows;
  }

  get(scope: string, id: string): Intent | undefined {
    return this.#read((table) => table.get(scope, id));
  }

  #read<T>(read: (table: IntentTable) => T): T {
    for (let attempt = 1; ; attempt++) {
      const rows = read(this.#table);
      if (this.#quietMark === undefined || this.#quietMark === quietMark(this.#path)) return rows;
      // A writer came while nothing was locked: read again, immutable only if it has gone again.
      this.#db.close();
      this.#open(attempt < 3 ? quietMark(this.#path) : undefined);
    }
  }

  close(): void {
    this.#db.close();
  }

  #open(mark: string | undefined): void {
    const immutable = mark === undefined ? undefined : openImmutable(this.#path);
    const db = immutable ? checkedForReading(immutable, this.#path) : openForReading(this.#path);
    this.#quietMark = immutable ? mark : undefined;
    this.#db = db;
    try {
      this.#table = new IntentTable(db, readingClock(db));
    } catch (error) {
      db.close();
      throw error;
    }
  }
}

/**
 * Size, mtime and inode of the main file when no -wal (nobody has it open) and no rollback
 * -journal (a file some other program left mid-write) exists beside it; else undefined.
 */
function quietMark(path: string): string | undefined {
  if (existsSync(`${path}-wal`) || existsSync(`${path}-journal`)) return undefined;
  const info = statSync(path, { bigint: true, throwIfNoEntry: false });
  return info && `${info.ino}:${info.size}:${info.mtimeNs}`;
}

/**
 * The file opened as `immutable`, or undefined when it cannot be: Node versions without URI
 * filenames (before 22.15) then read the ordinary way, and a missing file fails there, by name.
 */
function openImmutable(path: string): DatabaseSync | undefined {
  const uri = pathToFileURL(path);
  uri.searchParams.set('immutable', '1');
  try {
    return new (sqlite().DatabaseSync)(uri.href, { readOnly: true });
  } catch {
    return undefined;
  }
}
