import { DamagedRecordError, type Intent, type IntentSummary, type ListQuery } from '../stores/store.js';

/**
 * What `list` needs from a journal. A reader opens its journal without writing, locking or
 * creating anything, so listing is safe beside the processes that use it.
 */
export interface JournalReader {
  /** Summaries matching the query, oldest `createdAt` first, as `IntentStore.list` returns them. */
  list(query: ListQuery): Promise<IntentSummary[]>;
  /**
   * The whole intent of each summary, payloads included, in order, one at a time (a body may be
   * large): undefined for one no longer there, the store's `DamagedRecordError` for one whose
   * payloads have no intent's shape. For the integrity check `list` shows.
   */
  wholes(summaries: IntentSummary[]): AsyncIterable<Intent | DamagedRecordError | undefined>;
  close(): Promise<void>;
}

/** A whole intent as `wholes` yields it: a record the store finds damaged is an answer there, not a failure of the listing. */
export async function wholeOrDamaged(read: () => Intent | undefined | Promise<Intent | undefined>): Promise<Intent | DamagedRecordError | undefined> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof DamagedRecordError) return error;
    throw error;
  }
}

/** A journal named on the command line. Connection URLs may hold passwords: never print them. */
export type JournalSource =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string; table: string | undefined; schema: string | undefined }
  | { kind: 'redis'; url: string; keyPrefix: string | undefined };
