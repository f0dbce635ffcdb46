import { chmod, mkdir, open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Owner-only, as the journal holds request bodies: 0700 for the directory, 0600 for its files. */
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/**
 * Makes the database's directory (0700) if missing and refuses one others may read: the journal
 * holds request bodies. Creates the database file 0600 before SQLite opens it, since SQLite
 * creates files with the process umask and gives -wal and -shm the database file's mode.
 */
export async function prepareFiles(path: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  const { mode } = await stat(dir);
  if ((mode & 0o077) !== 0) {
    throw new Error(
      `Refusing to keep the intent journal in ${dir}: other users may read it (mode ${(mode & 0o777).toString(8)}). Run \`chmod 700 ${dir}\`, or choose another directory.`,
    );
  }
  await (await open(path, 'a', FILE_MODE)).close();
  await restrictFiles(path);
}

/** Makes the database file and, once SQLite has made them, its -wal and -shm owner-only. */
export async function restrictFiles(path: string): Promise<void> {
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    await chmod(file, FILE_MODE).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
}
