import { hostname } from 'node:os';
import { generateKey } from '../../key.js';
import { checkPayloads, checkTimes, DamagedRecordError, type ClaimRequest, type CreateOptions, type Enlistment, type Intent, type IntentChange, type IntentStore, type IntentSummary, type ListQuery } from '../store.js';
import { IntentTable, type Queryable } from './intent-table.js';
import { Listener } from './listener.js';
import type { NormalizedPostgresOptions } from './options.js';
import { Presence } from './presence.js';
import { ensureTable } from './schema.js';

/** A watcher woken this long after an owner's sighting matures, ms: the two clocks' reading may differ by a tick. */
const WAKE_SLACK_MS = 10;

/**
 * An `IntentStore` over one PostgreSQL table, shared by every process and replica that opens it.
 * Statements go through the pool, so a call made while PostgreSQL is down fails (a plain Error
 * saying which table and what failed) and a call made after it is back succeeds on a fresh
 * connection: the store never needs reopening.
 *
 * Clocks and liveness: every instant is the database's (`clock_timestamp()`), so leases are judged
 * on one clock. Enlisted owners (`enlist`) hold a lock on two sessions of the store's own
 * (presence.ts); a claim takes a dead owner's intents once its lock has been missing, without a
 * break, for `livenessGraceMs` while other presence sessions stayed up — a killed connection, a
 * storm of them or a restarted server is not a death — or at once when it was released. After a
 * restart, leases that ended while the server was down are honoured for one more lease
 * (intent-table.ts). While a relay watches, the store looks for dead owners twice in each
 * grace, so a relay takes a crashed replica's calls about a grace after the crash. Residual
 * window: an owner cut off from the database alone for longer than the grace while its request
 * is in flight (its connections lost, its process not) is taken for dead, and its request may
 * then be sent twice, with the same key.
 */
export class PostgresStore implements IntentStore {
  /** The table, as `schema.table` or `table`. */
  readonly table: string;
  readonly #options: NormalizedPostgresOptions;
  readonly #intents: IntentTable;
  readonly #listeners = new Set<Listener>();
  /** What watchers asked to be told; also told when an owner seen missing may be judged gone. */
  readonly #watchers = new Set<() => void>();
  #wake: { at: number; timer: ReturnType<typeof setTimeout> } | undefined;
  /** The next look for owners gone, while someone watches; and the owners found gone at the last look. */
  #sweeper: ReturnType<typeof setTimeout> | undefined;
  #goneSeen = new Set<string>();
  /** The sessions that hold enlisted owners' locks, opened on the first `enlist`. */
  #presence: Presence | undefined;
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
    checkTimes(intent, 'postgres store');
    return this.#run('create an intent', () => this.#intents.create(db, intent));
  }

  /** A body or answer over `maxBodyBytes` is refused with `PayloadTooLargeError` before anything is sent. */
  async update(scope: string, id: string, version: number, change: IntentChange): Promise<number | undefined> {
    checkPayloads(change, this.#options.maxBodyBytes, 'postgres store');
    checkTimes(change, 'postgres store');
    return this.#run('update an intent', () => this.#intents.update(this.#options.pool, scope, id, version, change));
  }

  /**
   * Takes intents whose lease has ended (after a restart of PostgreSQL, not before the server has
   * been up for a lease) or whose owner is gone. When it sees an owner's lock missing, the
   * store's watchers are woken as soon as that owner may be judged gone, so a relay takes its
   * intents then rather than at its next poll.
   */
  async claim(request: ClaimRequest): Promise<Intent[]> {
    checkTimes(request, 'postgres store');
    const { intents, wakeInMs } = await this.#run('claim intents', () => this.#intents.claim(this.#options.pool, request, this.#options.livenessGraceMs));
    if (wakeInMs !== undefined) this.#wakeWatchersIn(wakeInMs + WAKE_SLACK_MS);
    return intents;
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
    const watcher = () => onChange();
    this.#listeners.add(listener);
    this.#watchers.add(watcher);
    this.#sweepSoon();
    return () => {
      this.#listeners.delete(listener);
      this.#watchers.delete(watcher);
      if (this.#watchers.size === 0) {
        clearTimeout(this.#sweeper);
        this.#sweeper = undefined;
      }
      return listener.stop();
    };
  }

  /**
   * A new owner whose death claimants can see: its lock is held on the store's presence sessions
   * (two connections of its own, outside the pool, opened on the first enlistment) until
   * `release()`, or until the store closes or its process dies. Its id names the host and the
   * process, for whoever reads the table.
   */
  async enlist(): Promise<Enlistment> {
    const owner = `${hostname()}/${process.pid}/${generateKey()}`;
    await this.#run('enlist an owner', () => {
      this.#presence ??= new Presence(this.#options.presence, this.#options.pool, this.#options.table);
      return this.#presence.enlist(owner);
    });
    const presence = this.#presence!;
    return { owner, release: () => presence.release(owner) };
  }

  /**
   * Stops every watch, ends the presence sessions (owners they held are seen gone after the
   * grace) and, when the store made the pool, ends it. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      clearTimeout(this.#wake?.timer);
      clearTimeout(this.#sweeper);
      this.#wake = undefined;
      await Promise.all([...this.#listeners].map((listener) => listener.stop()));
      await this.#presence?.stop();
      if (this.#options.ownsPool) await this.#options.pool.end();
    })();
    return this.#closed;
  }

  /**
   * While someone watches (a relay waiting for work), looks for owners gone twice in each
   * grace: a death is first seen within that, not at the relay's next poll, and the watchers are
   * woken as soon as the owner may be judged gone (at once when one is newly found gone).
   */
  #sweepSoon(): void {
    if (this.#sweeper !== undefined || this.#closed) return;
    const every = Math.max(50, Math.floor(this.#options.livenessGraceMs / 2));
    const sweep = async () => {
      if (this.#watchers.size === 0 || this.#closed) {
        this.#sweeper = undefined;
        return;
      }
      try {
        const { gone, wakeInMs } = await this.#run('look for owners gone', () => this.#intents.sweep(this.#options.pool, this.#options.livenessGraceMs));
        const newlyGone = gone.some((owner) => !this.#goneSeen.has(owner));
        this.#goneSeen = new Set(gone);
        if (newlyGone) this.#wakeWatchersIn(0);
        else if (wakeInMs !== undefined) this.#wakeWatchersIn(wakeInMs + WAKE_SLACK_MS);
      } catch {
        // PostgreSQL out of reach: the relay's own polls say so; look again later.
      }
      if (this.#closed) return;
      this.#sweeper = setTimeout(() => void sweep(), every);
      (this.#sweeper as { unref?: () => void }).unref?.();
    };
    this.#sweeper = setTimeout(() => void sweep(), every);
    (this.#sweeper as { unref?: () => void }).unref?.();
  }

  /** Calls the watchers in `ms` (or sooner, if a wake-up is due sooner already). */
  #wakeWatchersIn(ms: number): void {
    if (this.#watchers.size === 0 || this.#closed) return;
    const at = performance.now() + ms;
    if (this.#wake !== undefined && this.#wake.at <= at) return;
    clearTimeout(this.#wake?.timer);
    const timer = setTimeout(() => {
      this.#wake = undefined;
      for (const watcher of this.#watchers) {
        try {
          watcher();
        } catch {
          // A throwing watcher must not stop the others.
        }
      }
    }, ms);
    (timer as { unref?: () => void }).unref?.();
    this.#wake = { at, timer };
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
      if (error instanceof DamagedRecordError) throw error;
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
