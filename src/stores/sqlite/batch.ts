import type { DatabaseSync } from 'node:sqlite';
import type { IntentTable } from './intent-table.ts';
import type { DamagedRecord } from '../store.ts';
import type { Envelope, ListReply, ReadRequest, Reply, SqliteStats, WriteRequest } from './messages.ts';

/**
 * Group commit. The worker hands over every request that arrived while it was busy; reads are
 * answered from committed data, and all the writes go into one IMMEDIATE transaction: one WAL
 * fsync for the lot. A write resolves only after COMMIT; when BEGIN or COMMIT fails (disk full,
 * read-only file, I/O error, lock timeout) the transaction is rolled back and every write in it
 * is rejected, so nothing of a rejected write is durable.
 */
export class BatchRunner {
  readonly stats: SqliteStats = { commits: 0, writes: 0, failedCommits: 0 };
  readonly #db: DatabaseSync;
  readonly #table: IntentTable;
  readonly #compactEvery: number;
  readonly #checkFile: () => void;
  #writesSinceCompaction = 0;

  /** `checkFile` throws when the database file is no longer the one this connection writes to. */
  constructor(db: DatabaseSync, table: IntentTable, compactEvery: number, checkFile: () => void) {
    this.#db = db;
    this.#table = table;
    this.#compactEvery = compactEvery;
    this.#checkFile = checkFile;
  }

  run(batch: Envelope[]): Reply[] {
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
      this.#checkFile();
      this.#db.exec('BEGIN IMMEDIATE');
      const replies = writes.map((request) => this.#step(request.seq, () => this.#write(request)));
      this.#compactNowAndThen(writes.length);
      this.#db.exec('COMMIT');
      this.stats.commits++;
      this.stats.writes += writes.length;
      return replies;
    } catch (error) {
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
