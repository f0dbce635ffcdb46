/**
 * Compaction: rewrites the finished segments into one file that keeps, for each intent, its latest
 * record among them, and drops settled intents past their retention; then removes the segments.
 *
 * Why nothing acknowledged is lost:
 * - Only finished segments are inputs: compaction outputs, sealed segments, a writer's segments
 *   below its highest number, segments whose owner is certainly dead, and segments untouched for
 *   twice the idle time (a writer never appends to a segment it left idle that long; see writer.ts).
 *   A live writer's current segment is never removed.
 * - The output is written to a temp name, fsynced, renamed and its directory fsynced before any
 *   input is unlinked: at every instant each kept record is in an input or in the output.
 * - An intent's latest input record is dropped only when it is compactable AND a single file holds
 *   every record of that intent; otherwise an older copy (in a live segment, or in an input not yet
 *   unlinked when a crash strikes) would come back to life. Such a record is kept once more, alone,
 *   and goes in the next compaction.
 * - A record superseded by one outside the inputs is still kept: that newer one may not be synced yet.
 * - Pending intents are never compactable (store.ts), so they are always kept.
 * - One compaction at a time (lock.ts): under the lock, any temp file is a dead compaction's.
 */
import { open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeRecord, frame, type IntentRecord, isNewer, scanFrames } from './format.js';
import { syncDir, writeAll, type OnSync } from './fsync.js';
import { compactable, slotKey } from './journal-index.js';
import { acquireLock } from './lock.js';
import { compactedName, compactedTempName, isTempName, newOwnerId, ownerGone, parseName } from './names.js';

export interface CompactOptions {
  dir: string;
  now: () => number;
  idleMs: number;
  onSync?: OnSync;
}

export interface CompactOutcome {
  /** False when another process holds the lock. */
  ran: boolean;
  inputs: number;
  kept: number;
  dropped: number;
}

interface SegmentFile {
  name: string;
  finished: boolean;
  /** Its intent records, each decoded once. */
  records: Array<{ slot: string; record: IntentRecord }>;
  /** Every intact frame, seals included: what rewriting the file would start from. */
  frames: number;
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code;
const WRITE_CHUNK = 1 << 20;

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
  }
}

async function readSegments(dir: string, names: string[], now: number, idleMs: number): Promise<SegmentFile[]> {
  const highest = new Map<string, number>();
  for (const name of names) {
    const { kind, owner, n } = parseName(name)!;
    if (kind === 'writer' && n > (highest.get(owner) ?? -1)) highest.set(owner, n);
  }
  const files: SegmentFile[] = [];
  for (const name of names) {
    const path = join(dir, name);
    let mtimeMs: number;
    let bytes: Buffer;
    try {
      // stat before reading: a file idle at the stat cannot gain bytes after it (writer.ts).
      mtimeMs = (await stat(path)).mtimeMs;
      bytes = await readFile(path);
    } catch (err) {
      // A writer closing removes its segment when empty; nothing else removes files under our lock.
      if (errno(err) === 'ENOENT') continue;
      throw err;
    }
    const { kind, owner, n, host, pid } = parseName(name)!;
    const file: SegmentFile = { name, finished: false, records: [], frames: 0 };
    let sealed = false;
    // Read as a file that may grow: an unfinished writer's last frame may still be in flight, and
    // for a finished file the difference is only a damaged last frame, dropped either way.
    scanFrames(
      bytes,
      (json) => {
        file.frames += 1;
        const record = decodeRecord(json);
        if (record?.kind === 'seal') sealed = true;
        if (record?.kind === 'intent') file.records.push({ slot: slotKey(record.scope, record.id), record });
      },
      true,
    );
    file.finished =
      kind === 'compacted' || sealed || highest.get(owner)! > n || ownerGone(host, pid) || now - mtimeMs >= 2 * idleMs;
    files.push(file);
  }
  return files;
}

async function writeOutput(dir: string, kept: IntentRecord[], onSync?: OnSync): Promise<void> {
  const owner = newOwnerId();
  const temp = join(dir, compactedTempName(owner));
  const handle = await open(temp, 'wx', 0o600);
  try {
    let position = 0;
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    const flush = async () => {
      const bytes = Buffer.concat(chunk, chunkBytes);
      await writeAll(handle, bytes, position);
      position += bytes.length;
      chunk = [];
      chunkBytes = 0;
    };
    for (const record of kept) {
      const bytes = frame(record.json);
      chunk.push(bytes);
      chunkBytes += bytes.length;
      if (chunkBytes >= WRITE_CHUNK) await flush();
    }
    if (chunkBytes > 0) await flush();
    await handle.datasync();
    onSync?.('file', temp);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlinkIfPresent(temp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  await rename(temp, join(dir, compactedName(owner)));
  await syncDir(dir, onSync);
}

async function compactLocked({ dir, now, idleMs, onSync }: CompactOptions): Promise<CompactOutcome> {
  const listing = await readdir(dir);
  for (const name of listing) if (isTempName(name)) await unlinkIfPresent(join(dir, name));
  const files = await readSegments(dir, listing.filter((name) => parseName(name) !== undefined), now(), idleMs);
  const inputs = files.filter((file) => file.finished);
  if (inputs.length === 0) return { ran: true, inputs: 0, kept: 0, dropped: 0 };

  const latest = new Map<string, IntentRecord>();
  let framesIn = 0;
  for (const file of inputs) {
    framesIn += file.frames;
    for (const { slot, record } of file.records) {
      const current = latest.get(slot);
      if (current === undefined || isNewer(record, current)) latest.set(slot, record);
    }
  }
  // Files holding a record of each intent. An intent is dropped only when one file holds all of its
  // records: unlinking that file removes them at once, whereas an older copy in another input could
  // outlive a crash between two unlinks and bring the intent back.
  const homes = new Map<string, string | null>();
  for (const file of files) {
    for (const { slot } of file.records) {
      const home = homes.get(slot);
      if (home === undefined) homes.set(slot, file.name);
      else if (home !== file.name) homes.set(slot, null);
    }
  }

  const at = now();
  const kept = [...latest].filter(([slot, record]) => !compactable(record, at) || homes.get(slot) === null).map(([, record]) => record);
  // One input with nothing to drop would only be copied to itself.
  if (inputs.length === 1 && kept.length === framesIn) return { ran: true, inputs: 0, kept: kept.length, dropped: 0 };

  if (kept.length > 0) await writeOutput(dir, kept, onSync);
  for (const file of inputs) await unlinkIfPresent(join(dir, file.name));
  await syncDir(dir, onSync);
  return { ran: true, inputs: inputs.length, kept: kept.length, dropped: framesIn - kept.length };
}

/** One compaction of `dir`, unless another process is compacting it now. */
export async function compactDir(options: CompactOptions): Promise<CompactOutcome> {
  const release = await acquireLock(options.dir);
  if (release === undefined) return { ran: false, inputs: 0, kept: 0, dropped: 0 };
  try {
    return await compactLocked(options);
  } finally {
    await release();
  }
}
