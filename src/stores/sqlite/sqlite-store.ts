import { generateKey } from '../../key.js';
import type { ClaimRequest, CreateOptions, Enlistment, Intent, IntentChange, IntentStore, IntentSummary, ListQuery } from '../store.js';
import { checkPayloads, checkTimes, refuseTransaction, reportDamaged, withoutListener } from '../store.js';
import type { SqliteConnection } from './connection.js';
import { ownerId } from './host.js';
import type { ListReply, SqliteStats, StoreRequest } from './messages.js';
import type { NormalizedSqliteOptions } from './options.js';
import { acquireConnection, releaseConnection } from './registry.js';

/**
 * An `IntentStore` over one SQLite file, through this process's shared worker for that file.
 * Records cross to the worker by structured clone, so callers always hold copies.
 */
export class SqliteStore implements IntentStore {
  /** The database file, absolute. */
  readonly path: string;
  readonly #connection: Promise<SqliteConnection>;
  readonly #maxBodyBytes: number;
  #closed: Promise<void> | undefined;

  constructor(path: string, options: NormalizedSqliteOptions) {
    const acquired = acquireConnection(path, options);
    this.path = acquired.path;
    this.#connection = acquired.connection;
    this.#maxBodyBytes = options.maxBodyBytes;
    // Until a caller asks, an open failure has nobody to tell; each request reports it.
    this.#connection.catch(() => {});
  }

  async get(scope: string, id: string): Promise<Intent | undefined> {
    return (await this.#send({ op: 'get', scope, id })) as Intent | undefined;
  }

  async create(intent: Intent, options?: CreateOptions): Promise<Intent | undefined> {
    refuseTransaction(options, 'sqliteStore');
    checkPayloads(intent, this.#maxBodyBytes, 'sqlite store');
    checkTimes(intent, 'sqlite store');
    return (await this.#send({ op: 'create', intent })) as Intent | undefined;
  }

  async update(scope: string, id: string, version: number, change: IntentChange): Promise<number | undefined> {
    checkPayloads(change, this.#maxBodyBytes, 'sqlite store');
    checkTimes(change, 'sqlite store');
    return (await this.#send({ op: 'update', scope, id, version, change })) as number | undefined;
  }

  async claim(request: ClaimRequest): Promise<Intent[]> {
    checkTimes(request, 'sqlite store');
    return (await this.#send({ op: 'claim', request })) as Intent[];
  }

  async list(query?: ListQuery): Promise<IntentSummary[]> {
    const { intents, damaged } = (await this.#send({ op: 'list', query: query && withoutListener(query) })) as ListReply;
    for (const record of damaged) reportDamaged(query?.onDamaged, record);
    return intents;
  }

  async compact(): Promise<number> {
    return (await this.#send({ op: 'compact' })) as number;
  }

  /**
   * An owner id naming this process (host.ts): once the process has died, any process of the host
   * that shares the file claims its intents at once. Nothing to hold while it lives.
   */
  async enlist(): Promise<Enlistment> {
    return { owner: ownerId(generateKey()), release: async () => {} };
  }

  /** Diagnostic counters of the connection this store shares (commits, writes, failed commits). */
  async stats(): Promise<SqliteStats> {
    return (await this.#send({ op: 'stats' })) as SqliteStats;
  }

  /** Lets go of the shared connection; the last store on the file closes it. Safe to call twice. */
  close(): Promise<void> {
    this.#closed ??= releaseConnection(this.path, this.#connection);
    return this.#closed;
  }

  async #send(request: StoreRequest): Promise<unknown> {
    if (this.#closed) throw new Error(`The sqlite store at ${this.path} is closed.`);
    return (await this.#connection).request(request);
  }
}
