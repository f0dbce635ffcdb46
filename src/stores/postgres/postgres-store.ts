import { checkPayloads, type ClaimRequest, type CreateOptions, type Intent, type IntentChange, type IntentStore, type IntentSummary, type ListQuery } from '../store.js';
import { IntentTable, type Queryable } from './intent-table.js';
import { Listener } from './listener.js';
import type { NormalizedPostgresOptions } from './options.js';
import { ensureTable } from './schema.js';

/**
 * An `IntentStore` over one PostgreSQL table, shared by every process and replica that opens it.
 * Statements go through the pool, so a call made while PostgreSQL is down fails (a plain Error
 * saying which table and what failed) and a call made after it is back succeeds on a fresh
 * connection: the store never needs reopening.
 */
export class PostgresStore implements IntentStore {
  /** The table, as `schema.table` or `table`. */
  readonly table: string;
  readonly #options: NormalizedPostgresOptions;
  readonly #intents: IntentTable;
  readonly #listeners = new Set<Listener>();
  /** The table's creation, once per store; forgotten when it fails so the next call tries again. */
  #ready: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  constructor(options: NormalizedPostgresOptions) {
    this.#options = options;
    this.table = options.table.text;
    this.#intents = new IntentTable(options.table);
  }

  get(scope: string, id: string): Promise<Intent | undefined> {
    return this.#run('read an intent', () => this.#intents.get(this.#options.pool, scope, id));
  }

  /**
   * With `transaction` (a `pg` client inside your `BEGIN`): written by that client, so the intent
   * commits or rolls back with your transaction, and relays hear of it on commit.
   */
  async create(intent: Intent, options?: CreateOptions): Promise<Intent | undefined> {
    const db = options?.transaction === undefined ? this.#options.pool : transactionClient(options.transaction);
    checkPayloads(intent, this.#options.maxBodyBytes, 'postgres store');
    return this.#run('create an intent', () => this.#intents.create(db, intent));
  }

  /** A body or answer over `maxBodyBytes` is refused with `PayloadTooLargeError` before anything is sent. */
  async update(scope: string, id: string, version: number, change: IntentChange): Promise<number | undefined> {
    checkPayloads(change, this.#options.maxBodyBytes, 'postgres store');
    return this.#run('update an intent', () => this.#intents.update(this.#options.pool, scope, id, version, change));
  }

  claim(request: ClaimRequest): Promise<Intent[]> {
    return this.#run('claim intents', () => this.#intents.claim(this.#options.pool, request));
  }

  list(query?: ListQuery): Promise<IntentSummary[]> {
    return this.#run('list intents', () => this.#intents.list(this.#options.pool, query));
  }

  compact(): Promise<number> {
    return this.#run('compact intents', () => this.#intents.compact(this.#options.pool));
  }

  /**
   * LISTENs on a connection of its own for intents committed or released by anyone using the
   * table, and calls `onChange` for each; also after every (re)connection, since notifications
   * sent while it was not listening are lost.
   */
  watch(onChange: () => void): () => Promise<void> {
    if (this.#closed) throw new Error(`The postgres store on ${this.table} is closed.`);
    const listener = new Listener(this.#options.pool, this.table, onChange);
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
      return listener.stop();
    };
  }

  /** Stops every watch and, when the store made the pool, ends it. Safe to call twice. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.all([...this.#listeners].map((listener) => listener.stop()));
      if (this.#options.ownsPool) await this.#options.pool.end();
    })();
    return this.#closed;
  }

  async #run<T>(what: string, statement: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new Error(`The postgres store on ${this.table} is closed.`);
    try {
      this.#ready ??= ensureTable(this.#options.pool, this.#options.table).catch((error: unknown) => {
        this.#ready = undefined;
        throw error;
      });
      await this.#ready;
      return await statement();
    } catch (error) {
      throw new Error(`The postgres store could not ${what} in ${this.table}: ${reason(error)}`, { cause: error });
    }
  }
}

/** The caller's transaction must be a `pg` client (a pool's `connect()`, or a `Client`) it has begun. */
function transactionClient(transaction: unknown): Queryable {
  if (typeof (transaction as Queryable | null)?.query !== 'function') {
    throw new TypeError('postgresStore: `transaction` must be a pg client inside BEGIN (from pool.connect() or new pg.Client()).');
  }
  return transaction as Queryable;
}

/** What went wrong, in words: a refused connection to "localhost" is an AggregateError with no message of its own. */
function reason(error: unknown): string {
  if (error instanceof AggregateError && !error.message) return reason(error.errors[0]);
  if (error instanceof Error) return error.message || (error as NodeJS.ErrnoException).code || error.name;
  return String(error);
}
