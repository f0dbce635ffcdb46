/**
 * The SQLite journal's reader: `openSqliteReadOnly`, which never writes, locks or creates a file
 * (not even -wal or -shm), behind the CLI's `JournalReader`. The path is checked here first so a
 * mistyped path is named as missing rather than reported as a database error.
 */
import { realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { openSqliteReadOnly } from '../stores/sqlite/read-only.js';
import { CliError } from './errors.js';
import { type JournalReader, wholeOrDamaged } from './journal-reader.js';

/** The file `sqliteStore()` uses by default, relative to the working directory. */
export const DEFAULT_SQLITE_PATH = '.idempotency/intents.db';
const FILE_NAME = 'intents.db';

export async function openSqliteJournal(path: string): Promise<JournalReader> {
  const file = await locate(resolve(path));
  const reader = readOrExplain(() => openSqliteReadOnly(file));
  const prefix = `Cannot read the intent store at ${file}: `;
  return {
    list: async (query) => readOrExplain(() => reader.list(query), prefix),
    async *wholes(summaries) {
      for (const { scope, id } of summaries) {
        yield await wholeOrDamaged(() => reader.get(scope, id)).catch((error: unknown) => {
          throw explained(error, prefix);
        });
      }
    },
    close: async () => reader.close(),
  };
}

/**
 * The database file: `path` itself, or the intents.db inside it when it is a directory. A link is
 * read as its target, whose -wal and -shm (if any) are beside the target, not beside the link.
 */
async function locate(path: string): Promise<string> {
  const info = await statOrExplain(path);
  if (info.isDirectory()) {
    const file = join(path, FILE_NAME);
    if (!(await statOrExplain(file, `no journal in ${path}: it holds no ${FILE_NAME}`)).isFile()) {
      throw new CliError(`${file} is not a file`, 2);
    }
    return realpath(file);
  }
  if (!info.isFile()) throw new CliError(`${path} is neither a journal file nor a directory`, 2);
  return realpath(path);
}

async function statOrExplain(path: string, missing = `no journal at ${path}: no such file or directory`) {
  try {
    return await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError(missing, 2);
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`, 1);
  }
}

/** The read-only opener's errors name the file and the problem (newer schema, not a store); SQLite's own do not. */
function readOrExplain<T>(read: () => T, prefix = ''): T {
  try {
    return read();
  } catch (error) {
    throw explained(error, prefix);
  }
}

function explained(error: unknown, prefix: string): CliError {
  return new CliError(`${prefix}${error instanceof Error ? error.message : String(error)}`, 1);
}
