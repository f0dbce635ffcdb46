import type * as RedisModule from 'redis';
import { loadPeer } from '../../peer.js';

/** What the store takes from `redis` (node-redis), the optional peer; its types come from `import type … from 'redis'`. */
export const { createClient, ErrorReply, RESP_TYPES } = loadPeer<typeof RedisModule>('redis', 'durable-fetch/redis');
