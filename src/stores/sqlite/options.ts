/** How `sqliteStore` opens its database. */
export interface SqliteStoreOptions {
  /**
   * The largest request body, and the largest stored answer body, the store accepts, in bytes.
   * A larger one is refused with an Error before anything is written. SQLite itself stops at
   * 1 GB per value.
   * @default 256 MiB
   */
  maxBodyBytes?: number;
  /**
   * How long a write waits for another process that holds the database's write lock before it
   * fails (SQLite's `busy_timeout`).
   * @default 5000
   */
  busyTimeoutMs?: number;
  /**
   * After every this many writes the store deletes settled intents past `expiresAt` by itself,
   * inside the same transaction as the write that crossed the count. `0` leaves it to `compact()`.
   * @default 1000
   */
  compactEvery?: number;
}

/** The options with every default filled in, as the store and its worker read them. */
export type NormalizedSqliteOptions = Required<SqliteStoreOptions>;

/** Fills in the defaults once, at creation; nothing downstream reads raw options. */
export function normalizeSqliteOptions(options: SqliteStoreOptions = {}): NormalizedSqliteOptions {
  return {
    maxBodyBytes: options.maxBodyBytes ?? 256 * 1024 * 1024,
    busyTimeoutMs: options.busyTimeoutMs ?? 5000,
    compactEvery: options.compactEvery ?? 1000,
  };
}
