/**
 * The intent journal in a directory: a resolved put survives SIGKILL and power loss, any number of
 * processes may share the directory, and settled intents past retention are compacted away.
 *
 * Layout and framing: file/format.ts and file/names.ts. Group commit: file/writer.ts. Reading other
 * processes' appends: file/view.ts. Compaction and its lock: file/compact.ts, file/lock.ts.
 */
import { resolve } from 'node:path';
import { compactDir } from './file/compact.js';
import { isIntent } from './file/format.js';
import { ensureDir, type OnSync } from './file/fsync.js';
import { slotKey } from './file/journal-index.js';
import { newOwnerId } from './file/names.js';
import { sanitizeIntent } from './file/sanitize.js';
import { JournalView } from './file/view.js';
import { SegmentWriter, type WriterStats } from './file/writer.js';
import { type Intent, type IntentStore, intentId } from './store.js';

export interface FileStoreOptions {
  /**
   * A segment that grows past this many bytes is finished and the next one started; compaction
   * only rewrites finished segments, so this bounds what a busy store keeps beyond its live intents.
   * @default 1 MiB
   */
  segmentBytes?: number;
  /**
   * A writer idle this long starts a new segment before appending again, and a segment untouched
   * for twice this long is taken as finished even when its process cannot be seen (another host
   * or container sharing the directory). Must exceed any clock skew between those machines.
   * @default 10 minutes
   */
  idleMs?: number;
  /** Compact in the background when finished segments hold enough expired records. @default true */
  autoCompact?: boolean;
  /** Called after every fsync, with what was synced: for tests and benchmarks. */
  onSync?: OnSync;
  /** The clock for retention (`expiresAt`) and idleness. @default Date.now */
  now?: () => number;
}

export interface FileStoreStats extends WriterStats {
  /** Bytes this store has read from journal files: appended bytes only, never the whole journal again. */
  bytesRead: number;
  /** Times this store listed the directory; a get or list that found it unchanged does not list it. */
  listings: number;
  /** Compactions this store ran that removed files. */
  compactions: number;
  /** The last background compaction's failure: housekeeping never fails a put, but is not silent. */
  lastCompactionError?: Error;
}

export interface FileStore extends IntentStore {
  /** The journal directory, absolute. */
  readonly dir: string;
  /** Flushes queued puts, seals this store's segment and releases its handles. */
  close(): Promise<void>;
  /** Compacts now; resolves false when another process is compacting the directory. */
  compact(): Promise<boolean>;
  /** Counters: fsyncs of the journal (`fileSyncs`) and of the directory, batches, records, bytes read, compactions. */
  stats(): FileStoreStats;
}

const MIN_GARBAGE_FILES = 8;
const MAX_BACKLOG_SEGMENTS = 2;

class FileStoreError extends Error {}

/**
 * Opens nothing until first used, so creating a client never touches the disk and never throws;
 * a directory that cannot be created or written makes the first operation reject instead.
 */
export function fileStore(dir: string, options: FileStoreOptions = {}): FileStore {
  // Resolved now, so a later chdir does not move the journal; checked on first use, never thrown here.
  const usable = typeof dir === 'string' && dir !== '';
  const root = usable ? resolve(dir) : String(dir);
  const now = options.now ?? Date.now;
  const idleMs = options.idleMs ?? 10 * 60_000;
  const segmentBytes = options.segmentBytes ?? 1 << 20;
  const onSync = options.onSync;

  const fail = (what: string) => (cause: unknown): Error => {
    if (cause instanceof FileStoreError) return cause;
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new FileStoreError(`fileStore could not ${what} in directory "${root}": ${reason}`, { cause });
  };

  const view = new JournalView(root, { follow: true });
  let opening: Promise<void> | undefined;
  let opened = false;
  const ready = (): Promise<void> =>
    (opening ??= (async () => {
      if (!usable) throw new TypeError('the journal directory must be a non-empty path');
      await ensureDir(root, onSync);
      await view.refresh();
      opened = true;
      maybeCompact();
    })().catch((err: unknown) => {
      opening = undefined; // the directory may become usable later: try again then
      throw fail('open the journal')(err);
    }));

  const writer = new SegmentWriter({
    dir: root,
    owner: newOwnerId(),
    view,
    segmentBytes,
    idleMs,
    now,
    onSync,
    ready,
    onRotate: async () => {
      maybeCompact();
      // Back-pressure: when finished segments pile up faster than compaction clears them, the
      // writer waits for it, so the directory stays bounded however hard it is written to.
      while (compacting !== undefined && backlog().garbage >= MAX_BACKLOG_SEGMENTS * segmentBytes) {
        await compacting.catch(() => undefined);
      }
    },
    describe: fail('write an intent'),
  });

  let closed = false;
  let closing: Promise<void> | undefined;
  let compacting: Promise<boolean> | undefined;
  let compactions = 0;
  let lastCompactionError: Error | undefined;

  const ensureOpen = () => {
    if (closed) throw new FileStoreError(`fileStore for directory "${root}" is closed`);
  };

  const runCompaction = (): Promise<boolean> =>
    (compacting ??= (async () => {
      try {
        await ready();
        const outcome = await compactDir({ dir: root, now, idleMs, onSync });
        if (outcome.ran && outcome.inputs > 0) {
          compactions += 1;
          // Files were removed: re-reading drops what they held from this process's memory too.
          await view.refresh();
        }
        return outcome;
      } catch (err) {
        throw fail('compact the journal')(err);
      } finally {
        compacting = undefined;
      }
    })().then((outcome) => {
      // Writes went on meanwhile: look again, but only after progress, so this cannot spin.
      if (outcome.dropped > 0) maybeCompact();
      return outcome.ran;
    }));

  /** Finished files, and how many of their bytes a compaction would free (an estimate from the index). */
  const backlog = () => {
    const finished = view.summary().filter((file) => file.finished);
    const bytes = finished.reduce((sum, file) => sum + file.bytes, 0);
    const live = finished.length === 0 ? 0 : view.index.liveBytes(new Set(finished.map((file) => file.name)), now());
    return { files: finished.length, garbage: bytes - live, live };
  };

  /** Compacts when finished files are many, or mostly garbage: amortised, each byte is rewritten a bounded number of times. */
  function maybeCompact(): void {
    if (options.autoCompact === false || closed || compacting !== undefined) return;
    const { files, garbage, live } = backlog();
    if (files === 0) return;
    if (files < MIN_GARBAGE_FILES && garbage < Math.max(segmentBytes / 2, live)) return;
    runCompaction().catch((err: unknown) => {
      lastCompactionError = err as Error;
    });
  }

  const read = async <T>(op: () => T): Promise<T> => {
    ensureOpen();
    // Nothing changed on disk since the last look: answer without awaiting, since under load
    // every await queues behind the other calls' work.
    if (opened && view.current()) return op();
    await ready();
    try {
      await view.refresh();
    } catch (err) {
      throw fail('read the journal')(err);
    }
    return op();
  };

  return {
    dir: root,

    get: (scope, id) => read(() => view.index.get(scope, id)),

    list: (scope) => read(() => view.index.list(scope)),

    async put(intent: Intent) {
      ensureOpen();
      if (!isIntent(intent)) throw new TypeError(`fileStore "${root}": not a storable intent`);
      const clean = sanitizeIntent(intent);
      const id = intentId(clean);
      const intentJson = JSON.stringify(clean);
      await new Promise<void>((resolve, reject) =>
        writer.enqueue({ id, slot: slotKey(clean.scope, id), intent: clean, intentJson, resolve, reject }),
      );
    },

    async compact() {
      ensureOpen();
      return runCompaction();
    },

    close() {
      closed = true;
      closing ??= (async () => {
        await writer.close();
        await compacting?.catch(() => undefined);
        await view.close();
      })();
      return closing;
    },

    stats: () => ({
      ...writer.stats,
      bytesRead: view.bytesRead,
      listings: view.listings,
      compactions,
      ...(lastCompactionError ? { lastCompactionError } : {}),
    }),
  };
}
