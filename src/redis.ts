// durable-fetch/redis: the Redis fleet store. Needs the optional peer dependency `redis` (node-redis).
export { redisStore } from './stores/redis.js';
export type { RedisClient, RedisStore, RedisStoreOptions } from './stores/redis.js';
