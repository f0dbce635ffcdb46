/**
 * A fleet store: intents in Redis, shared by every process and replica that reaches it, so any
 * survivor can finish what a dead one started. Each operation is one Lua script, atomic on the
 * server; `watch` wakes relays through pub/sub when an intent is enqueued or released.
 *
 * Leases are on Redis's clock; an owner whose store's connection has gone (or that was released)
 * is taken over at once, and after a restart of Redis no lease written before it is taken over
 * until Redis has been up a lease.
 *
 * Design notes by file, in redis/: options.ts (what can be configured), durability.ts (why AOF
 * with `appendfsync always` is required), scripts.ts (key layout, the contract in Lua, the
 * judgement of dead owners and the restart guard), presence.ts (how an owner's life is seen),
 * records.ts (an intent as a hash), connection.ts (failing fast while Redis is away), watch.ts
 * (the subscriber).
 */
import { normalizeRedisOptions, type RedisStoreOptions } from './redis/options.js';
import { RedisStore } from './redis/redis-store.js';

export type { RedisClient, RedisStoreOptions } from './redis/options.js';
export type { RedisStore } from './redis/redis-store.js';

/**
 * Opens the intent store in Redis. The store refuses to work (each call fails with
 * `IdempotencyStoreError`) unless Redis fsyncs every write before answering — `appendonly yes`
 * and `appendfsync always` — or `durability: 'best-effort'` accepts losing recent writes in a crash.
 * Needs one Redis server (with replicas if you like), not a Redis Cluster.
 *
 * @example
 * import { createClient as createRedisClient } from 'redis';
 * const store = redisStore({ client: createRedisClient({ url: process.env.REDIS_URL }) });
 * const api = createClient({ prefix: 'https://api.example.com/v1/', store });
 */
export function redisStore(options: RedisStoreOptions): RedisStore {
  return new RedisStore(normalizeRedisOptions(options));
}
