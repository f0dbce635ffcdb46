import type { DatabaseSync } from 'node:sqlite';
import type { IntentTable } from './intent-table.ts';
import type { DamagedRecord } from '../store.ts';
import type { Damage } from './journal-files.ts';
import type { Envelope, ListReply, ReadRequest, Reply, SqliteStats, WriteRequest } from './messages.ts';

/** How the batch runner learns that the files under its connection changed (journal-files.ts). */
export interface FileCheck {
  damage(): Damage | undefined;
}

/**
 * Group commit. The worker hands over every request that arrived while it was busy; reads are
 * answered from committed data, and all the writes go into one IMMEDIATE transaction: one WAL
 * fsync for the lot. A write resolves only after COMMIT; when BEGIN or COMMIT fails (disk full,
 * read-only file, I/O error, lock timeout) the transaction is rolled back and every write in it
 * is rejected, so nothing of a rejected write is durable.
 *
 * Before each commit, and after it, the files are checked (journal-files.ts). The database file
 * deleted or replaced: writes are refused, reads go on. Its -wal or -shm deleted or replaced: the
 * runner lets go of the connection at once and refuses everything after. Closing is what saves
 * the commits sitting in the deleted log: SQLite's last connection copies them into the database
 * file as it closes — and only when it can lock the file EXCLUSIVE, so never while another
 * process works on the file, perhaps through a new log of its own. (Not so for a replaced
 * database file: the lock would be on the old one, and the close would delete the new one's
 * -wal and -shm. That connection is kept open, writing nothing.)
 */
export class BatchRunner {
  readonly stats: SqliteStats = { commits: 0, writes: 0, failedCommits: 0 };
  readonly #db: DatabaseSync;
  readonly #table: IntentTable;
  readonly #compactEvery: number;
  readonly #files: FileCheck;
  readonly #committing: (seq: number) => void;
  #writesSinceCompaction = 0;
  /** Why the connection was let go of; every request is then refused with it. */
  #retired: string | undefined;

  /**
   * `committing` is told, just before each COMMIT, the last sequence number in it: a write whose
   * reply never comes (the worker died) and whose number is beyond it was certainly not committed.
   */
  constructor(db: DatabaseSync, table: IntentTable, compactEvery: number, files: FileCheck, committing: (seq: number) => void) {
    this.#db = db;
    this.#table = table;
    this.#compactEvery = compactEvery;
    this.#files = files;
    this.#committing = committing;
  }

  /** Closes the connection, unless it was let go of already. */
  close(): void {
    if (this.#retired === undefined) this.#db.close();
  }

  run(batch: Envelope[]): Reply[] {
    // Seen early, the sooner the commits in a deleted log are saved.
    const damage = this.#retired === undefined ? this.#files.damage() : undefined;
    if (damage?.file === 'side') this.#retire(damage.message);
    if (this.#retired !== undefined) {
      const error = this.#retired;
      return batch.map(({ seq, op }) => (op === 'close' ? { seq } : { seq, error }));
    }
    const reads = batch.filter((request): request is ReadRequest & Envelope => isRead(request));
    const writes = batch.filter((request): request is WriteRequest & Envelope => !isRead(request) && request.op !== 'close');
    const replies = reads.map((request) => attempt(request.seq, () => this.#read(request)));
    if (writes.length > 0) replies.push(...this.#commit(writes));
    // A close is answered once everything sent before it is; the worker then closes the database.
    for (const { seq, op } of batch) if (op === 'close') replies.push({ seq });
    return replies;
  }

  #commit(writes: (WriteRequest & Envelope)[]): Reply[] {
    try {
      const damage = this.#files.damage();
      if (damage?.file === 'side') this.#retire(damage.message);
      if (damage !== undefined) throw new Error(damage.message);
      this.#db.exec('BEGIN IMMEDIATE');
      const replies = writes.map((request) => this.#step(request.seq, () => this.#write(request)));
      this.#compactNowAndThen(writes.length);
      this.#committing(writes.at(-1)!.seq);
      this.#db.exec('COMMIT');
      this.stats.commits++;
      this.stats.writes += writes.length;
      // The log deleted while this commit went into it: the commit stands, and letting go now
      // copies it into the database file (unless another process has the file open).
      const after = this.#files.damage();
      if (after?.file === 'side') this.#retire(after.message);
      return replies;
    } catch (error) {
      if (this.#retired !== undefined) return writes.map(({ seq }) => ({ seq, error: this.#retired }));
      this.#rollBack();
      this.stats.failedCommits++;
      return writes.map(({ seq }) => ({ seq, error: message(error) }));
    }
  }

  /**
   * One step inside the batch's transaction, behind a savepoint: a write that fails on its own
   * (a malformed record) is undone and rejected without failing its neighbours. An error that may
   * have ended the whole transaction is thrown on, failing the batch: the steps after it must not
   * run outside a transaction, committing one by one.
   */
  #step(seq: number, step: () => unknown): Reply {
    this.#db.exec('SAVEPOINT step');
    try {
      const value = step();
      this.#db.exec('RELEASE step');
      return { seq, value };
    } catch (error) {
      if (endsTransaction(error)) throw error;
      this.#db.exec('ROLLBACK TO step; RELEASE step');
      return { seq, error: message(error) };
    }
  }

  #retire(reason: string): void {
    this.#retired = reason;
    try {
      this.#db.close();
    } catch {
      // Closed already, or the close itself failed: either way nothing more goes through it.
    }
  }

  #rollBack(): void {
    try {
      this.#db.exec('ROLLBACK');
    } catch {
      // SQLite rolled back by itself (some I/O errors do), or BEGIN never happened: nothing to undo.
    }
  }

  /**
   * Housekeeping rides on the writes' transaction (no fsync of its own). A failure of its own is
   * undone and dropped; one that ends the transaction (a full disk) fails the batch, as COMMIT would.
   */
  #compactNowAndThen(writes: number): void {
    this.#writesSinceCompaction += writes;
    if (this.#compactEvery <= 0 || this.#writesSinceCompaction < this.#compactEvery) return;
    this.#writesSinceCompaction = 0;
    this.#step(0, () => this.#table.compact());
  }

  #read(request: ReadRequest): unknown {
    switch (request.op) {
      case 'get':
        return this.#table.get(request.scope, request.id);
      case 'list': {
        // The listener stays with the store; damaged records travel back beside the intents.
        const damaged: DamagedRecord[] = [];
        const intents = this.#table.list({ ...request.query, onDamaged: (record) => damaged.push(record) });
        return { intents, damaged } satisfies ListReply;
      }
      case 'stats':
        return { ...this.stats };
    }
  }

  #write(request: WriteRequest): unknown {
    switch (request.op) {
      case 'create':
        return this.#table.create(request.intent);
      case 'update':
        return this.#table.update(request.scope, request.id, request.version, request.change);
      case 'claim':
        return this.#table.claim(request.request);
      case 'compact':
        return this.#table.compact();
    }
  }
}

function isRead(request: Envelope): boolean {
  return request.op === 'get' || request.op === 'list' || request.op === 'stats';
}

/**
 * SQLite's advice for SQLITE_BUSY, SQLITE_NOMEM, SQLITE_IOERR and SQLITE_FULL: the transaction may
 * have been rolled back already, so roll it back explicitly. Primary codes are the low byte.
 */
function endsTransaction(error: unknown): boolean {
  const code = ((error as { errcode?: number }).errcode ?? 0) & 0xff;
  return code === 5 || code === 7 || code === 10 || code === 13;
}

function attempt(seq: number, answer: () => unknown): Reply {
  try {
    return { seq, value: answer() };
  } catch (error) {
    return { seq, error: message(error) };
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
