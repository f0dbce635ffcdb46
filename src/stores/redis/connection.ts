import { once } from 'node:events';
import type { RedisClient } from './options.js';

/**
 * Resolves once `client` can take commands, connecting it if nobody has. While Redis is
 * unreachable this rejects with the next connection error rather than waiting for a reconnection
 * that may never come: the call fails (`IdempotencyStoreError`) with the cause, and nothing is
 * sent. node-redis goes on reconnecting in the background, so a later call succeeds once Redis is
 * back. A connection attempt that hangs ends at node-redis's `socket.connectTimeout` (5 s).
 */
export async function whenReady(client: RedisClient): Promise<void> {
  if (client.isReady) return;
  const ready = once(client, 'ready');
  // Its failures arrive as 'error' events, which `once` turns into this call's rejection.
  if (!client.isOpen) client.connect().catch(() => {});
  await ready;
}
