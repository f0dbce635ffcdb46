import type { RedisClientType } from 'redis';
import { createClient } from './driver.js';

/**
 * A node-redis client, whatever its modules, scripts, RESP version or type mapping: the store
 * sends its own commands with `sendCommand` and asks for the replies it needs.
 */
export type RedisClient = RedisClientType<any, any, any, any, any>;

/** How `redisStore` reaches Redis and what it demands of it. */
export interface RedisStoreOptions {
  /**
   * A node-redis client (`createClient()` from `redis`), connected or not: the store connects it
   * if needed and never closes it, so one client can serve the application and the store.
   * Give either `client` or `url`.
   */
  client?: RedisClient;
  /**
   * A Redis URL (`redis://user:password@host:6379/0`): the store opens its own client, with the
   * offline queue disabled so a call fails at once (`IdempotencyStoreError`) while Redis is
   * unreachable, reconnecting within half a second once it is back, and closes it on `close()`.
   */
  url?: string;
  /**
   * Starts every key the store writes, and the name of its pub/sub channel: stores with different
   * prefixes on one Redis never see each other's intents.
   * @default 'durable-fetch:'
   */
  keyPrefix?: string;
  /**
   * `'strict'` checks, when the store opens, that Redis appends every write to its AOF and fsyncs
   * it before answering (`appendonly yes`, `appendfsync always`), and refuses to work otherwise —
   * or when it cannot check (`CONFIG` disabled, as on many managed services).
   *
   * `'best-effort'` skips the check, knowingly: a write Redis acknowledged but had not yet
   * fsynced (up to about a second with `appendfsync everysec`, everything since the last snapshot
   * without AOF) vanishes if Redis or its machine crashes. An intent lost that way may already
   * have been sent, and no later `recover()` or `relay()` knows to finish it; the same key is
   * then no longer answered from the journal.
   * @default 'strict'
   */
  durability?: 'strict' | 'best-effort';
  /**
   * The largest request body, and the largest stored answer body, the store accepts, in bytes;
   * a larger one is refused with an Error before anything is sent to Redis (whose own limit for
   * one value is `proto-max-bulk-len`, 512 MB by default).
   * @default 256 MiB
   */
  maxBodyBytes?: number;
  /**
   * How long, in ms, an enlisted owner's connection must stay away before claimants count the
   * owner dead and take its intents without waiting for its lease. Each store enlists its owners
   * on a connection of its own (its presence, named with `CLIENT SETNAME`); a live one that loses
   * its connection is back within a few hundred ms and registers again, which ends the absence.
   * Longer tolerates slower reconnections; shorter takes a dead replica's intents over sooner: a
   * relay notices the death at its next claim (`pollMs`) and takes over one grace later.
   * A whole number from 100 to 60 000.
   * @default 500
   */
  presenceGraceMs?: number;
}

/** The options with every default filled in, as the store reads them. */
export interface NormalizedRedisOptions {
  client: RedisClient;
  /** Whether the store opened `client` itself, and so closes it. */
  ownsClient: boolean;
  keyPrefix: string;
  durability: 'strict' | 'best-effort';
  maxBodyBytes: number;
  presenceGraceMs: number;
}

/**
 * How soon the store's own client tries again after losing Redis: 50, 100, 200, 400, then every
 * 500 ms, plus up to 100 ms so a fleet does not come back in step. node-redis's default backs off
 * to 2 s; an owner must be back in time to renew its leases after a restart of Redis (scripts.ts).
 */
function reconnectStrategy(retries: number): number {
  return Math.min(50 * 2 ** retries, 500) + Math.floor(Math.random() * 100);
}

/** Checks and fills in the options once, at creation; nothing downstream reads raw options. */
export function normalizeRedisOptions(options: RedisStoreOptions): NormalizedRedisOptions {
  const { client, url, keyPrefix = 'durable-fetch:', durability = 'strict', maxBodyBytes = 256 * 1024 * 1024, presenceGraceMs = 500 } = options;
  if ((client === undefined) === (url === undefined)) throw new TypeError('redisStore needs exactly one of `client` and `url`.');
  if (durability !== 'strict' && durability !== 'best-effort') {
    throw new TypeError(`durability must be 'strict' or 'best-effort', got ${String(durability)}.`);
  }
  if (typeof keyPrefix !== 'string') throw new TypeError('keyPrefix must be a string.');
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 0) throw new TypeError(`maxBodyBytes must be a whole number of bytes, got ${maxBodyBytes}.`);
  if (!Number.isSafeInteger(presenceGraceMs) || presenceGraceMs < 100 || presenceGraceMs > 60_000) {
    throw new TypeError(`presenceGraceMs must be a whole number of ms from 100 to 60000, got ${String(presenceGraceMs)}.`);
  }
  return {
    client: client ?? clientFor(url),
    ownsClient: client === undefined,
    keyPrefix,
    durability,
    maxBodyBytes,
    presenceGraceMs,
  };
}

/**
 * node-redis's client for `url`. Its errors for a URL it cannot use repeat the URL, password and
 * all (`Invalid URL` carries it as `input`): ours says what is wrong, repeats nothing, and has no
 * cause.
 */
function clientFor(url: unknown): RedisClient {
  const problem = redisUrlProblem(url);
  if (problem === undefined) {
    try {
      return createClient({ url: url as string, disableOfflineQueue: true, socket: { reconnectStrategy } }) as RedisClient;
    } catch {
      // Beyond what redisUrlProblem looks at: said without node-redis's words, which may quote the URL.
    }
  }
  throw new TypeError(`redisStore: \`url\` ${problem ?? 'is refused by node-redis'}; the URL is not repeated here, as it may hold a password.`);
}

/**
 * Why `url` is no Redis URL node-redis can use (`redis[s]://[[user]:password@]host[:port][/db]`,
 * or `unix:`), in words that never repeat it; undefined when it may be one.
 */
export function redisUrlProblem(url: unknown): string | undefined {
  if (typeof url !== 'string') return 'must be a string';
  if (url.startsWith('unix:')) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL (redis://[[user]:password@]host[:port][/db])';
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') return `has the scheme ${parsed.protocol}, not redis: or rediss:`;
  try {
    decodeURIComponent(parsed.username);
    decodeURIComponent(parsed.password);
  } catch {
    return 'has a user or password that is not valid percent-encoding';
  }
  if (parsed.pathname.length > 1 && Number.isNaN(Number(parsed.pathname.slice(1)))) return 'has a path that is no database number (/0)';
  return undefined;
}
