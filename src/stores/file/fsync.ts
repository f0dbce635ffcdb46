/** The few file-system steps whose order the journal's durability rests on. */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

export type SyncKind = 'file' | 'dir';
export type OnSync = (kind: SyncKind, path: string) => void;

/**
 * A new or renamed name only survives power loss once its directory is synced: the file's own
 * fsync covers its bytes, not the entry that points to them.
 */
export async function syncDir(dir: string, onSync?: OnSync): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    // Some platforms cannot sync a directory handle; there the rename/create is as durable as it gets.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw err;
  } finally {
    await handle.close();
  }
  onSync?.('dir', dir);
}

/** `write` may write less than asked; a frame is only whole once every byte went out. */
export async function writeAll(handle: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await handle.write(buf, done, buf.length - done, position + done);
    if (bytesWritten <= 0) throw new Error('the file system accepted no bytes');
    done += bytesWritten;
  }
}

/**
 * Creates the directory (0700) and any missing parents, and syncs each parent whose entries
 * changed, so the journal's directory itself survives power loss.
 */
export async function ensureDir(dir: string, onSync?: OnSync): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (first === undefined) return;
  for (let created = dir; ; created = dirname(created)) {
    await syncDir(dirname(created), onSync);
    if (created === first || dirname(created) === created) break;
  }
}
