/**
 * The redisStore journal's reader: the store's own listing script, which writes nothing.
 * Connection URLs may hold passwords, so no message repeats one.
 */
import { redisStore } from '../stores/redis.js';
import { CliError } from './errors.js';
import type { JournalReader } from './journal-reader.js';

export async function openRedisJournal(url: string, keyPrefix?: string): Promise<JournalReader> {
  // Listing writes nothing, so the store's check that Redis persists writes is beside the point here.
  const store = redisStore({ url, ...(keyPrefix === undefined ? {} : { keyPrefix }), durability: 'best-effort' });
  return {
    list: (query) =>
      store.list(query).catch((error: Error) => {
        throw new CliError(`cannot read the Redis journal: ${error.message}`, 1);
      }),
    close: () => store.close(),
  };
}
