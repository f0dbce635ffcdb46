/**
 * What the worker knows of the files its connection writes through: the database file and, beside
 * it, SQLite's write-ahead log (-wal) and shared-memory index (-shm). A file deleted or replaced
 * under an open connection still takes its writes — into an inode nobody will open again — so the
 * path must still name the file the connection opened, by device and inode.
 *
 * When SQLite itself makes, empties or deletes these (sqlite.org/wal.html, and SQLite's wal.c):
 * the connection that opens a database in WAL mode creates -wal and -shm if missing; checkpoints
 * copy the log into the database and start it again from the top, and `journal_size_limit` or
 * `wal_checkpoint(TRUNCATE)` shrink it — all in place, same inode; only the last connection to
 * close, when it can lock the database EXCLUSIVE (no other connection, in any process, has it
 * open: a connection in WAL mode holds a SHARED lock as long as it is open), checkpoints and then
 * deletes both. So while this connection is open, nothing SQLite does changes the identity of
 * -wal or -shm, and any change is someone else's: a cleanup job, a restore, a copy put back.
 *
 * The modules this file loads name their imports with `.ts`, as worker.ts explains.
 */
import { lstatSync } from 'node:fs';
import type { FileIdentity } from './files.ts';

const SIDE_FILES = [
  ['-wal', 'write-ahead log'],
  ['-shm', 'shared-memory index'],
] as const;

/** What was found wrong with the journal's files: `main` when the database file itself is gone. */
export type Damage = { file: 'main' | 'side'; message: string };

export class JournalFiles {
  readonly #path: string;
  readonly #main: FileIdentity;
  readonly #sides: Array<{ file: string; what: string; identity: FileIdentity }>;

  /**
   * Taken right after SQLite opened `path` (and wrote to it: -wal and -shm exist then). The file it
   * opened must be the one checked before (`expected`, files.ts): a path swapped between that
   * check and SQLite's open is refused.
   */
  constructor(path: string, expected: FileIdentity) {
    this.#path = path;
    const opened = identityOf(path);
    if (opened === undefined || !same(opened, expected)) {
      throw new Error(`${path} was replaced while it was being opened; nothing was written to it. Open the store again, and find what else writes there.`);
    }
    this.#main = opened;
    // A platform where SQLite keeps no -wal or -shm (shared memory in the heap) has nothing to check.
    this.#sides = SIDE_FILES.flatMap(([suffix, what]) => {
      const identity = identityOf(`${path}${suffix}`);
      return identity === undefined ? [] : [{ file: `${path}${suffix}`, what, identity }];
    });
  }

  /** What is wrong, the database file first; undefined when every file is still the one opened. */
  damage(): Damage | undefined {
    if (!same(identityOf(this.#path), this.#main)) {
      return {
        file: 'main',
        message: `the journal file ${this.#path} was deleted or replaced while open; nothing more is written to it. Close the stores on it and open it again.`,
      };
    }
    const side = this.#sides.find(({ file, identity }) => !same(identityOf(file), identity));
    if (side === undefined) return undefined;
    return {
      file: 'side',
      message:
        `the journal's ${side.what} ${side.file} was deleted or replaced while open, so a write would no longer survive a crash; ` +
        `nothing more is written to this journal here. This process has let go of it (SQLite copies what it had committed into ${this.#path} ` +
        'as it lets go, unless another process still has the file open). Restart the processes that use this journal, or close every store on it here and open it again.',
    };
  }
}

function identityOf(path: string): FileIdentity | undefined {
  try {
    const info = lstatSync(path, { throwIfNoEntry: false });
    return info && { dev: info.dev, ino: info.ino };
  } catch {
    // ENOTDIR and the like: whatever is there now, it is not the file opened.
    return undefined;
  }
}

function same(a: FileIdentity | undefined, b: FileIdentity): boolean {
  return a !== undefined && a.dev === b.dev && a.ino === b.ino;
}
