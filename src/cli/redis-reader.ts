/**
 * The redisStore journal's reader: the store's own listing script, which writes nothing.
 * Connection URLs may hold passwords, so no message repeats one.
 */
import { maskUrl } from '../credentials.js';
import { redisStore } from '../stores/redis.js';
import { redisUrlProblem } from '../stores/redis/options.js';
import { CliError } from './errors.js';
import { type JournalReader, wholeOrDamaged } from './journal-reader.js';

export async function openRedisJournal(url: string, keyPrefix?: string): Promise<JournalReader> {
  const problem = redisUrlProblem(url);
  if (problem !== undefined) throw new CliError(`--redis URL ${problem}; it is not repeated here, as it may hold a password`, 2);
  let store;
  try {
    // Listing writes nothing, so the store's check that Redis persists writes is beside the point here.
    store = redisStore({ url, ...(keyPrefix === undefined ? {} : { keyPrefix }), durability: 'best-effort' });
  } catch (error) {
    // redisStore's TypeErrors say what is wrong without the URL; anything else is a bug.
    if (error instanceof TypeError) throw new CliError(`--redis ${error.message}`, 2);
    throw error;
  }
  return {
    list: (query) =>
      store.list(query).catch((error: Error) => {
        throw new CliError(`cannot read the Redis journal at ${maskUrl(url)}: ${error.message}`, 1);
      }),
    async *wholes(summaries) {
      for (const { scope, id } of summaries) {
        yield await wholeOrDamaged(() => store.get(scope, id)).catch((error: Error) => {
          throw new CliError(`cannot read the Redis journal at ${maskUrl(url)}: ${error.message}`, 1);
        });
      }
    },
    close: () => store.close(),
  };
}
