import type pg from 'pg';
import { Client, Pool } from './driver.js';
import { DEFAULT_TABLE, type TableName, tableName } from './names.js';

/** How `postgresStore` reaches its database. Give `pool` or `connectionString`. */
export interface PostgresStoreOptions {
  /**
   * Your own `pg` pool. The store never ends it (`close()` leaves it open). Listen for its
   * `'error'` event yourself: an idle connection that dies when PostgreSQL restarts emits one.
   */
  pool?: pg.Pool;
  /**
   * Where to connect, e.g. `postgres://app@db:5432/app`: the store makes and ends its own pool,
   * with the timeouts below.
   */
  connectionString?: string;
  /**
   * The intents table, created with its indexes on first use if missing (see `postgresDdl`).
   * @default 'durable_fetch_intents'
   */
  table?: string;
  /** The table's schema; PostgreSQL's `search_path` decides when omitted. */
  schema?: string;
  /**
   * With `connectionString`: how long getting a connection may take before the call fails, ms.
   * While PostgreSQL is down, calls fail after at most this long instead of hanging.
   * @default 5000
   */
  connectionTimeoutMillis?: number;
  /**
   * With `connectionString`: how long one statement may take before the call fails, ms (enough
   * for the largest body over your network).
   * @default 60000
   */
  queryTimeoutMillis?: number;
  /**
   * The largest request body, and the largest stored answer body, the store accepts, in bytes; a
   * larger one is refused (`PayloadTooLargeError`) before anything is sent to PostgreSQL, whose
   * own limit for one `bytea` value is 1 GB. An answer too big settles its intent without it.
   * @default 256 MiB
   */
  maxBodyBytes?: number;
  /**
   * How long an enlisted owner's presence session must have been gone, without a break, before a
   * claimant takes the owner for dead and its intents over, ms (250 to 60000). A session that ends
   * is not proof of death: a live owner whose connection was killed reconnects and takes its lock
   * again within this (an event that ends every session at once, or a restart, is judged apart).
   * Longer is safer where a new connection is slow to open; shorter finishes a crashed replica's
   * calls sooner (about this plus half of it after the crash, with a relay running).
   * @default 750
   */
  livenessGraceMs?: number;
}

export const DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024;
export const DEFAULT_LIVENESS_GRACE_MS = 750;
/** Below this a reconnection over a real network (TCP, TLS, authentication) may not fit in the grace. */
const MIN_LIVENESS_GRACE_MS = 250;
const MAX_LIVENESS_GRACE_MS = 60_000;

/** The options with every default filled in, once, at creation. */
export interface NormalizedPostgresOptions {
  pool: pg.Pool;
  /** Whether the store made the pool, and so ends it on `close()`. */
  ownsPool: boolean;
  table: TableName;
  maxBodyBytes: number;
  livenessGraceMs: number;
  /** How the presence sessions (presence.ts) connect: as the pool's own connections do, outside it. */
  presence: pg.ClientConfig;
}

/** Validates and fills in the options; a mistake is a TypeError naming the option. */
export function normalizePostgresOptions(options: PostgresStoreOptions): NormalizedPostgresOptions {
  const { pool, connectionString, maxBodyBytes = DEFAULT_MAX_BODY_BYTES, livenessGraceMs = DEFAULT_LIVENESS_GRACE_MS } = options;
  if ((pool === undefined) === (connectionString === undefined)) {
    throw new TypeError('postgresStore needs exactly one of `pool` (a pg Pool) or `connectionString`.');
  }
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 0) {
    throw new TypeError(`postgresStore: \`maxBodyBytes\` must be a whole number of bytes, got ${String(maxBodyBytes)}.`);
  }
  if (!Number.isSafeInteger(livenessGraceMs) || livenessGraceMs < MIN_LIVENESS_GRACE_MS || livenessGraceMs > MAX_LIVENESS_GRACE_MS) {
    throw new TypeError(
      `postgresStore: \`livenessGraceMs\` must be a whole number of ms from ${MIN_LIVENESS_GRACE_MS} to ${MAX_LIVENESS_GRACE_MS}, got ${String(livenessGraceMs)}.`,
    );
  }
  const table = tableName(options.table ?? DEFAULT_TABLE, options.schema);
  const limits = { table, maxBodyBytes, livenessGraceMs };
  if (pool !== undefined) {
    // The pool's own settings, the password included (pg-pool keeps it as a hidden property).
    const presence: pg.ClientConfig = { ...pool.options, password: pool.options.password, keepAlive: true, application_name: PRESENCE_APPLICATION };
    return { pool, ownsPool: false, presence, ...limits };
  }
  const problem = connectionStringProblem(connectionString);
  if (problem !== undefined) {
    throw new TypeError(`postgresStore: \`connectionString\` ${problem}; it is not repeated here, as it may hold a password.`);
  }
  const connection = { connectionString, connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5000, keepAlive: true };
  const ownPool = new Pool({ ...connection, query_timeout: options.queryTimeoutMillis ?? 60_000 });
  // An idle connection that dies (PostgreSQL restarted) is dropped by the pool and replaced on
  // the next call; without a listener its 'error' event would end the process.
  ownPool.on('error', () => {});
  return { pool: ownPool, ownsPool: true, presence: { ...connection, query_timeout: options.queryTimeoutMillis ?? 60_000, application_name: PRESENCE_APPLICATION }, ...limits };
}

/** The presence sessions' `application_name`: how they show in `pg_stat_activity`, where claimants look for them. */
export const PRESENCE_APPLICATION = 'durable-fetch presence';

/**
 * Why `pg` cannot use `connectionString`, in words that never repeat it; undefined when it can.
 * pg reads it only when it first connects, and then its error for a malformed URL would carry the
 * URL; so it is read here, once, by pg's own parser (a Client that is never connected). Besides,
 * pg resolves a string with no scheme against `postgres://base`: that is refused too.
 */
export function connectionStringProblem(connectionString: unknown): string | undefined {
  if (typeof connectionString !== 'string') return 'must be a string';
  if (!connectionString.startsWith('/') && !/^[a-z][a-z0-9+.-]*:/i.test(connectionString)) {
    return 'is not a URL (postgres://user:password@host:port/database) nor a socket path';
  }
  try {
    new Client({ connectionString });
    return undefined;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_INVALID_URL') return 'is not a URL pg can read (postgres://user:password@host:port/database)';
    if (error instanceof URIError) return 'has a part that is not valid percent-encoding';
    return `is refused by pg (${typeof code === 'string' ? code : error instanceof Error ? error.name : 'error'})`;
  }
}
