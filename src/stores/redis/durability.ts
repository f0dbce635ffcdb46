import { ErrorReply } from './driver.js';
import type { RedisClient } from './options.js';

/** Redis answered, and what it answered does not keep the durability promise: final until the store is reopened. */
export class DurabilityRefusal extends Error {}

/**
 * The store's promise is that a resolved write survives a crash: nothing is sent before its intent
 * is durable. Redis keeps that promise only when it appends every write to its AOF and fsyncs it
 * before answering. `appendfsync everysec` (Redis's default with AOF) acknowledges writes up to a
 * second before they reach the disk, and snapshots alone (RDB) lose everything since the last
 * one: an intent lost that way may have been sent already, and no recovery would know.
 *
 * Checked once, before the store's first command; a Redis reconfigured afterwards is not noticed.
 */
export async function checkDurability(client: RedisClient): Promise<void> {
  let appendonly: string | undefined;
  let appendfsync: string | undefined;
  try {
    appendonly = await configGet(client, 'appendonly');
    appendfsync = await configGet(client, 'appendfsync');
  } catch (error) {
    // A lost connection says nothing about the configuration: the next call checks again.
    if (!(error instanceof ErrorReply)) throw error;
    throw new DurabilityRefusal(
      `redisStore could not check that Redis fsyncs every write before answering: CONFIG GET failed (${(error as Error).message}). ` +
        'Managed services often disable CONFIG. Make sure the server runs with "appendonly yes" and "appendfsync always", ' +
        "then pass durability: 'best-effort' to skip the check — knowing that if it does not, an intent Redis acknowledged can be lost in a crash.",
      { cause: error },
    );
  }
  if (appendonly !== 'yes' || appendfsync !== 'always') {
    throw new DurabilityRefusal(
      `redisStore refuses a Redis that does not fsync every write before answering (it has appendonly ${appendonly ?? '(unset)'}, ` +
        `appendfsync ${appendfsync ?? '(unset)'}): a crash could lose an intent after its request was sent. ` +
        'Configure "appendonly yes" and "appendfsync always" (in redis.conf, or CONFIG SET then CONFIG REWRITE), ' +
        "or pass durability: 'best-effort' to accept that loss.",
    );
  }
}

/** One parameter's value; CONFIG GET answers a flat list in RESP2 and a map in RESP3. */
async function configGet(client: RedisClient, parameter: string): Promise<string | undefined> {
  const reply: unknown = await client.sendCommand(['CONFIG', 'GET', parameter]);
  if (Array.isArray(reply)) return reply[1] === undefined ? undefined : String(reply[1]);
  if (reply instanceof Map) return reply.has(parameter) ? String(reply.get(parameter)) : undefined;
  const value = (reply as Record<string, unknown> | null)?.[parameter];
  return value === undefined ? undefined : String(value);
}
