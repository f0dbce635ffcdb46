import type { Intent, IntentSummary, ListQuery } from '../stores/store.js';

/**
 * What `list` needs from a journal. A reader opens its journal without writing, locking or
 * creating anything, so listing is safe beside the processes that use it.
 */
export interface JournalReader {
  /** Summaries matching the query, oldest `createdAt` first, as `IntentStore.list` returns them. */
  list(query: ListQuery): Promise<IntentSummary[]>;
  /**
   * The whole intent of each summary, payloads included, in order, one at a time (a body may be
   * large): undefined for one no longer there. For the integrity check `list` shows.
   */
  wholes(summaries: IntentSummary[]): AsyncIterable<Intent | undefined>;
  close(): Promise<void>;
}

/** A journal named on the command line. Connection URLs may hold passwords: never print them. */
export type JournalSource =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string; table: string | undefined; schema: string | undefined }
  | { kind: 'redis'; url: string; keyPrefix: string | undefined };
