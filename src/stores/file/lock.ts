/**
 * The compaction lock: one compaction at a time per directory, across processes.
 *
 * Two compactions working from listings taken at different moments could each keep a record the
 * other had rightly dropped (an old `pending` copy outliving the settled one), so compactions are
 * serialised. The lock is a file created with O_EXCL holding its owner; a lock whose owner is
 * certainly dead (same host and PID namespace, PID gone), or that is older than any compaction
 * takes, is stale and is taken over.
 */
import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { hostId, LOCK_NAME, ownerGone } from './names.js';

/** A lock we cannot judge by its PID (another host, or unreadable) is stale after this long. */
const UNJUDGEABLE_STALE_MS = 10 * 60_000;
/** An unreadable lock younger than this may just be being written. */
const UNREADABLE_GRACE_MS = 10_000;

export type Release = () => Promise<void>;

const errno = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code;

async function readOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  }
}

function isStale(content: string, ageMs: number): boolean {
  let owner: { host?: unknown; pid?: unknown } | undefined;
  try {
    owner = JSON.parse(content) as typeof owner;
  } catch {
    return ageMs >= UNREADABLE_GRACE_MS;
  }
  if (typeof owner?.host === 'string' && typeof owner.pid === 'number' && ownerGone(owner.host, owner.pid)) return true;
  return ageMs >= UNJUDGEABLE_STALE_MS;
}

/**
 * Moves a stale lock out of the way. Renaming (not unlinking) lets us check that what we moved is
 * the stale lock we judged, and not a fresh one another process created in between; if it was
 * fresh, it is put back.
 */
async function removeIfStale(path: string, now: number): Promise<boolean> {
  const content = await readOrUndefined(path);
  if (content === undefined) return true;
  let mtime: number;
  try {
    mtime = (await stat(path)).mtimeMs;
  } catch (err) {
    if (errno(err) === 'ENOENT') return true;
    throw err;
  }
  if (!isStale(content, now - mtime)) return false;
  const aside = `${path}.${randomBytes(6).toString('hex')}.stale`;
  try {
    await rename(path, aside);
  } catch (err) {
    if (errno(err) === 'ENOENT') return true;
    throw err;
  }
  const moved = await readOrUndefined(aside);
  if (moved !== content) {
    await link(aside, path).catch(() => undefined);
    await unlink(aside).catch(() => undefined);
    return false;
  }
  await unlink(aside).catch(() => undefined);
  return true;
}

/** The lock, or undefined when a live process holds it. */
export async function acquireLock(dir: string): Promise<Release | undefined> {
  const path = join(dir, LOCK_NAME);
  const token = JSON.stringify({ host: hostId(), pid: process.pid, id: randomBytes(6).toString('hex'), at: Date.now() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(token);
      } finally {
        await handle.close();
      }
      return async () => {
        // Only our own lock: if it was judged stale and taken over, it is not ours to remove.
        if ((await readOrUndefined(path)) === token) await unlink(path).catch(() => undefined);
      };
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw err;
    }
    if (!(await removeIfStale(path, Date.now()))) return undefined;
  }
  return undefined;
}
