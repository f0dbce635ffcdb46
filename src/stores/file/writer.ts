/**
 * This store's own segment, and the group commit that makes puts cheap.
 *
 * Every put is queued; one flush at a time writes the whole queue with a single durable write,
 * then resolves those puts. Puts arriving while a flush is in flight wait for the next one, so N
 * concurrent puts cost about two syncs, not N, and a put never resolves before the sync that
 * covers its bytes has returned.
 *
 * On Linux the segment is opened with O_DSYNC: each write returns once its bytes, and the file
 * size that reaches them, are on stable storage, exactly what a write followed by fdatasync
 * gives, in one trip through libuv's thread pool instead of two. Elsewhere O_DSYNC may promise
 * less than fdatasync (on macOS, Node's fdatasync is F_FULLFSYNC, which flushes the drive's cache
 * and an O_DSYNC write does not), so the write is followed by datasync as before.
 */
import { constants } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Intent } from '../store.js';
import { frame, frames, intentRecordJson, sealRecordJson, type Stamp } from './format.js';
import { syncDir, writeAll, type OnSync } from './fsync.js';
import type { IndexedRecord } from './journal-index.js';
import { segmentName } from './names.js';
import type { JournalView } from './view.js';

export interface QueuedPut {
  /** intentId(intent), and the slot it makes with the scope. */
  id: string;
  slot: string;
  /** Already stripped of credentials. */
  intent: Intent;
  intentJson: string;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface WriterOptions {
  dir: string;
  owner: string;
  view: JournalView;
  segmentBytes: number;
  idleMs: number;
  now: () => number;
  onSync?: OnSync;
  /** Opens the directory (once); rejects when it cannot be used. */
  ready: () => Promise<void>;
  /**
   * A segment was finished: a compaction may be worth it now. The writer waits for the promise
   * before its next batch, which is how compaction pushes back when writes outpace it.
   */
  onRotate: () => Promise<void>;
  /** Turns a file-system failure into the error a put rejects with. */
  describe: (cause: unknown) => Error;
}

export interface WriterStats {
  fileSyncs: number;
  dirSyncs: number;
  batches: number;
  records: number;
}

const SYNC_ON_WRITE = process.platform === 'linux' && typeof constants.O_DSYNC === 'number';
const SEGMENT_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (SYNC_ON_WRITE ? constants.O_DSYNC : 0);

/** Makes `bytes` durable at `position`: on return, a crash cannot lose them. */
async function appendDurably(handle: FileHandle, bytes: Buffer, position: number): Promise<void> {
  await writeAll(handle, bytes, position);
  if (!SYNC_ON_WRITE) await handle.datasync();
}

export class SegmentWriter {
  readonly stats: WriterStats = { fileSyncs: 0, dirSyncs: 0, batches: 0, records: 0 };
  private handle: FileHandle | undefined;
  private name: string | undefined;
  private n = 0;
  private size = 0;
  private lastAppendAt = 0;
  private seq = 0;
  private queue: QueuedPut[] = [];
  private flushing = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly opts: WriterOptions) {}

  enqueue(put: QueuedPut): void {
    this.queue.push(put);
    if (this.flushing) return;
    this.flushing = true;
    // A microtask, not now: puts issued in the same tick all make the first batch.
    queueMicrotask(() => void this.drain());
  }

  /** Resolves once every queued put has been written or rejected. */
  whenIdle(): Promise<void> {
    if (!this.flushing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Seals the segment (or removes it when empty) and releases its handle. */
  async close(): Promise<void> {
    await this.whenIdle();
    const handle = this.handle;
    const name = this.name;
    this.handle = undefined;
    if (handle === undefined || name === undefined) return;
    const path = join(this.opts.dir, name);
    try {
      if (this.size === 0) {
        await handle.close();
        await unlink(path);
        await this.syncDir();
      } else {
        // The seal tells compaction this segment is complete while our PID still runs.
        await appendDurably(handle, frame(sealRecordJson(this.opts.owner)), this.size);
        await handle.close();
      }
    } catch {
      // Every record was already durable; a missing seal only delays compaction of this file.
      await handle.close().catch(() => undefined);
    }
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      await this.flush(batch);
    }
    this.flushing = false;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Writes one batch. Never throws: each put is resolved or rejected. */
  private async flush(batch: QueuedPut[]): Promise<void> {
    try {
      await this.opts.ready();
      await this.ensureSegment();
      const handle = this.handle!;
      const name = this.name!;
      const jsons: string[] = [];
      const own: IndexedRecord[] = [];
      const assigned = new Map<string, Stamp>();
      for (const put of batch) {
        // Raise the version above the latest one known for this intent, so this put wins over
        // everything it could have seen, whatever the clocks say.
        const previous = assigned.get(put.slot) ?? this.opts.view.index.stamp(put.slot);
        const v = previous === undefined ? put.intent.updatedAt : Math.max(put.intent.updatedAt, previous.v + 1);
        const { scope, state, expiresAt } = put.intent;
        const record = { v, w: this.opts.owner, q: ++this.seq, scope, id: put.id, state, expiresAt, intentJson: put.intentJson };
        jsons.push(intentRecordJson(record, put.intentJson));
        own.push(record);
        assigned.set(put.slot, record);
      }
      const bytes = frames(jsons);
      const start = this.size;
      this.lastAppendAt = this.opts.now();
      await appendDurably(handle, bytes, start);
      this.stats.fileSyncs += 1;
      this.opts.onSync?.('file', join(this.opts.dir, name));
      this.size = start + bytes.length;
      this.stats.batches += 1;
      this.stats.records += batch.length;
      this.opts.view.applyOwn(name, start, this.size, own);
      for (const put of batch) put.resolve();
    } catch (cause) {
      const error = this.opts.describe(cause);
      for (const put of batch) put.reject(error);
      // After a failed write or sync the file may end in a torn frame, and after a failed fsync
      // the kernel may have dropped our dirty pages: never append there again.
      await this.abandon();
      return;
    }
    if (this.size >= this.opts.segmentBytes) await this.rotate().catch(() => undefined);
  }

  private async ensureSegment(): Promise<void> {
    // Compaction may treat a segment untouched for twice idleMs as finished; a writer therefore
    // never appends to one it left alone for idleMs, but moves to a fresh segment.
    if (this.handle !== undefined && this.opts.now() - this.lastAppendAt >= this.opts.idleMs) await this.rotate();
    if (this.handle === undefined) await this.openNext();
  }

  private async openNext(): Promise<void> {
    this.n += 1;
    const name = segmentName(this.opts.owner, this.n);
    this.opts.view.adoptOwn(name);
    const handle = await open(join(this.opts.dir, name), SEGMENT_FLAGS, 0o600);
    try {
      // The new name must be durable before any put in it resolves.
      await this.syncDir();
    } catch (err) {
      await handle.close().catch(() => undefined);
      // Left empty and superseded by the next number: readers may take it as finished.
      this.opts.view.markDone(name);
      throw err;
    }
    this.handle = handle;
    this.name = name;
    this.size = 0;
    this.lastAppendAt = this.opts.now();
  }

  /**
   * Finishes the current segment and opens the next at once: a writer's lower-numbered segments
   * are known complete by every process, so compaction may take them.
   */
  private async rotate(): Promise<void> {
    await this.abandon();
    try {
      await this.openNext();
    } catch {
      // The next put tries again, and reports the failure if it persists.
    }
    await this.opts.onRotate();
  }

  private async abandon(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (this.name !== undefined) this.opts.view.markDone(this.name);
    await handle?.close().catch(() => undefined);
  }

  private async syncDir(): Promise<void> {
    await syncDir(this.opts.dir, this.opts.onSync);
    this.stats.dirSyncs += 1;
  }
}
