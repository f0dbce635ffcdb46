import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readlink, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** Owner-only, as the journal holds request bodies: 0700 for the directory, 0600 for its files. */
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/**
 * Opened only to be checked and chmodded: never follows a symbolic link (ELOOP instead), never
 * waits for a FIFO's other end. Constants a platform lacks count as 0 (Windows has no O_NOFOLLOW).
 */
const CHECK_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/** Which file a path names: a file deleted or replaced gets a new inode (or none). */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/**
 * Makes the database's directory (0700) if missing and refuses one others may read: the journal
 * holds request bodies. Creates the database file 0600 before SQLite opens it, since SQLite
 * creates files with the process umask; it gives -wal and -shm the database file's mode itself.
 *
 * The journal must be a regular file, and its -wal and -shm, where present, too: a FIFO, a device,
 * a directory or a socket is refused before anything opens it (an open could block, and SQLite
 * would hang on it), and so is a symbolic link, wherever it points — SQLite follows it and keeps
 * -wal and -shm beside its target, so a link out of the directory would put the journal, and this
 * chmod, on a file the 0700 directory does not protect, and even a link within it would put them
 * where `durable-fetch list` and the checks of journal-files.ts do not look. Link the directory
 * instead.
 *
 * Checked with `lstat`; only a file to create, or one whose mode must be fixed, is opened here,
 * and then with O_NOFOLLOW | O_NONBLOCK and checked again on the descriptor, which is what is
 * chmodded: swapped for a link or a FIFO in between, it is refused, never followed nor waited on.
 * An existing file is otherwise not opened at all, because closing any descriptor of a file drops
 * every POSIX lock this process holds on it — SQLite's too, should another connection of this
 * process have it open. Between this check and SQLite's own open, a file could still be swapped by
 * whoever can write in the 0700 directory (the journal's own user, or root); the worker then
 * refuses the file SQLite opened unless it is the one checked here, whose identity this resolves
 * with (journal-files.ts).
 */
export async function prepareFiles(path: string): Promise<FileIdentity> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  const { mode } = await stat(dir);
  if ((mode & 0o077) !== 0) {
    throw new Error(
      `Refusing to keep the intent journal in ${dir}: other users may read it (mode ${(mode & 0o777).toString(8)}). Run \`chmod 700 ${dir}\`, or choose another directory.`,
    );
  }
  const [main, ...sides] = await Promise.all([path, `${path}-wal`, `${path}-shm`].map((file) => regularOrMissing(path, file)));
  const identity = main === undefined ? await create(path) : await restrict(path, path, main);
  for (const [i, side] of sides.entries()) if (side !== undefined) await restrict(path, `${path}${SIDE_SUFFIXES[i]}`, side);
  return identity;
}

const SIDE_SUFFIXES = ['-wal', '-shm'];

/** `lstat` of one of the journal's files: undefined when missing, refused when not a regular file. */
async function regularOrMissing(path: string, file: string): Promise<Stats | undefined> {
  const info = await lstat(file).catch(orMissing);
  if (info !== undefined && !info.isFile()) throw await notAFile(path, file, info);
  return info;
}

/** Creates the journal file 0600; one made meanwhile by another process is taken as found. */
async function create(path: string): Promise<FileIdentity> {
  let handle;
  try {
    handle = await open(path, CHECK_FLAGS | constants.O_CREAT | constants.O_EXCL, FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return restrict(path, path, (await regularOrMissing(path, path))!);
  }
  try {
    // The umask may have taken bits off; never added any.
    await handle.chmod(FILE_MODE);
    const { dev, ino } = await handle.stat();
    return { dev, ino };
  } finally {
    await handle.close();
  }
}

/** Makes an existing journal file 0600 if it is not, through a descriptor that follows no link. */
async function restrict(path: string, file: string, found: Stats): Promise<FileIdentity> {
  if ((found.mode & 0o777) === FILE_MODE) return { dev: found.dev, ino: found.ino };
  let handle;
  try {
    handle = await open(file, CHECK_FLAGS);
  } catch (error) {
    // O_NOFOLLOW's answer to a link swapped in (ELOOP; EMLINK on some BSDs), or a file gone.
    const info = await lstat(file).catch(orMissing);
    if (info !== undefined && !info.isFile()) throw await notAFile(path, file, info);
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw await notAFile(path, file, info);
    await handle.chmod(FILE_MODE);
    return { dev: info.dev, ino: info.ino };
  } finally {
    await handle.close();
  }
}

/** The refusal for a journal file that is not a regular file, saying what it is and what to do. */
async function notAFile(path: string, file: string, info: Stats): Promise<Error> {
  const which = file === path ? '' : ` (its ${file.slice(path.length)} file)`;
  if (info.isSymbolicLink()) {
    const target = resolve(dirname(file), await readlink(file).catch(() => '?'));
    const outside = dirname(target) !== dirname(file);
    return new Error(
      `Refusing to use ${file}${which} as the intent journal: it is a symbolic link to ${target}${outside ? `, outside ${dirname(file)}` : ''}. ` +
        'SQLite would follow it and keep the journal beside the target, where the directory’s 0700 does not protect it and its checks do not look. ' +
        'Give sqliteStore the path of the file itself (a link to the directory is fine), or remove the link.',
    );
  }
  return new Error(
    `Refusing to use ${file}${which} as the intent journal: it is ${kindOf(info)}, not a regular file. ` +
      `Remove it, or give sqliteStore the path of a journal file (or of one to create).`,
  );
}

function kindOf(info: Stats): string {
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isDirectory()) return 'a directory';
  if (info.isSocket()) return 'a socket';
  return 'not a regular file';
}

function orMissing(error: NodeJS.ErrnoException): undefined {
  if (error.code === 'ENOENT') return undefined;
  throw error;
}
