import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, IdempotencyStoreError } from '../../src/index.node.js';
import { openSqliteReadOnly, sqliteStore } from '../../src/stores/sqlite.js';
import { makeIntent } from '../../src/testing.js';
import { type RecordingServer, startRecordingServer } from '../support/recording-server.js';
import { freshDbPath, tempDir, withRawDatabase } from '../support/sqlite.js';

const modeOf = async (path: string) => ((await stat(path)).mode & 0o777).toString(8);

describe('sqlite store files', () => {
  it('creates a missing directory 0700 and the database, -wal and -shm 0600', async () => {
    const dir = join(await tempDir(), 'nested', 'journal');
    const store = sqliteStore(join(dir, 'intents.db'));
    await store.create(makeIntent());
    expect(await modeOf(dir)).toBe('700');
    expect((await readdir(dir)).sort()).toEqual(['intents.db', 'intents.db-shm', 'intents.db-wal']);
    for (const file of await readdir(dir)) expect(await modeOf(join(dir, file))).toBe('600');
    await store.close();
  });

  it('refuses a directory others may read, naming it and the fix, and opens once it is fixed', async () => {
    const dir = join(await tempDir(), 'shared');
    await mkdir(dir);
    await chmod(dir, 0o755);
    const refused = sqliteStore(join(dir, 'intents.db'));
    await expect(refused.get('tenant-a', 'x')).rejects.toThrow(`Refusing to keep the intent journal in ${dir}`);
    await expect(refused.get('tenant-a', 'x')).rejects.toThrow(`chmod 700 ${dir}`);
    await refused.close();
    expect(await readdir(dir)).toEqual([]);

    await chmod(dir, 0o700);
    const store = sqliteStore(join(dir, 'intents.db'));
    await expect(store.get('tenant-a', 'x')).resolves.toBeUndefined();
    await store.close();
  });

  it('refuses a database written by a newer schema version', async () => {
    const path = await freshDbPath();
    const store = sqliteStore(path);
    await store.create(makeIntent());
    await store.close();
    withRawDatabase(path, (db) => db.exec('PRAGMA user_version = 3'));
    const newer = sqliteStore(path);
    await expect(newer.list()).rejects.toThrow(/schema version 3, written by a newer durable-fetch; this version reads up to 2/);
    await newer.close();
    expect(() => openSqliteReadOnly(path)).toThrow(/newer durable-fetch/);
  });

  it('lists summaries read-only for the CLI, and names a missing file', async () => {
    const path = await freshDbPath();
    const store = sqliteStore(path);
    const intent = makeIntent();
    await store.create(intent);
    const reader = openSqliteReadOnly(path);
    expect(reader.list({ scope: intent.scope })).toEqual([expect.objectContaining({ id: intent.id, state: 'pending' })]);
    expect(reader.list()[0]).not.toHaveProperty('body');
    reader.close();
    await store.close();
    expect(() => openSqliteReadOnly(`${path}.missing`)).toThrow(`Cannot read the intent store at ${path}.missing`);
  });
});

let server: RecordingServer;
beforeAll(async () => {
  server = await startRecordingServer();
});
afterAll(() => server.close());

/** A file outside the journal's directory, as a link might point to: its mode, bytes and all. */
async function outsideFile(content: string): Promise<{ path: string; unchanged(): Promise<void> }> {
  const path = join(await tempDir(), 'elsewhere.txt');
  await writeFile(path, content);
  await chmod(path, 0o644);
  return {
    path,
    async unchanged() {
      expect(await modeOf(path)).toBe('644');
      expect(await readFile(path, 'utf8')).toBe(content);
    },
  };
}

/** The store refuses the path (`list`), and so does a client's call and `pending()`: nothing sent. */
async function expectRefused(path: string, message: RegExp): Promise<void> {
  const store = sqliteStore(path);
  await expect(store.list()).rejects.toThrow(message);
  await store.close();
  const api = createClient({ prefix: server.url, store: sqliteStore(path), retry: 0 });
  const call = api.post('v1/payouts', { json: {}, idempotencyKey: `refused-${path}` });
  await expect(call).rejects.toBeInstanceOf(IdempotencyStoreError);
  await expect(call).rejects.toThrow(/nothing was sent/);
  await expect(call).rejects.toThrow(message);
  await expect(api.pending()).rejects.toThrow(message);
  await api.close();
  expect(server.requests.filter((request) => request.key === `refused-${path}`)).toEqual([]);
}

describe('a journal path that is not a regular file is refused before anything opens it', () => {
  it.each([
    { kind: 'a FIFO', make: (path: string) => execFileSync('mkfifo', [path]), message: /intents\.db as the intent journal: it is a FIFO \(named pipe\), not a regular file/ },
    { kind: 'a character device', make: (path: string) => execFileSync('mknod', [path, 'c', '1', '3']), message: /it is a character device, not a regular file/ },
    { kind: 'a directory', make: (path: string) => execFileSync('mkdir', [path]), message: /it is a directory, not a regular file/ },
  ])('$kind: a clear error at once (no hang), for the store, a call and pending()', async ({ make, message }) => {
    const dir = await tempDir();
    const path = join(dir, 'intents.db');
    make(path);
    await expectRefused(path, message);
    expect(await readdir(dir)).toEqual(['intents.db']);
  });

  it('a symbolic link out of the directory: refused, the file it points to untouched (mode and bytes), an empty one not made a journal', async () => {
    for (const content of ['someone else’s file\n', '']) {
      const outside = await outsideFile(content);
      const dir = await tempDir();
      await symlink(outside.path, join(dir, 'intents.db'));
      await expectRefused(join(dir, 'intents.db'), /intents\.db as the intent journal: it is a symbolic link to \S+elsewhere\.txt, outside \S+\. SQLite would follow it/);
      await outside.unchanged();
      expect((await readdir(dir)).sort()).toEqual(['intents.db']);
    }
  });

  it('a symbolic link within the directory: refused too (SQLite would keep -wal and -shm beside the target), the target untouched', async () => {
    const dir = await tempDir();
    const real = sqliteStore(join(dir, 'real.db'));
    await real.create(makeIntent());
    await real.close();
    const before = (await stat(join(dir, 'real.db'))).mtimeMs;
    await symlink('real.db', join(dir, 'intents.db'));
    await expectRefused(join(dir, 'intents.db'), /it is a symbolic link to \S+real\.db\. SQLite would follow it.*Give sqliteStore the path of the file itself \(a link to the directory is fine\)/);
    expect((await stat(join(dir, 'real.db'))).mtimeMs).toBe(before);
  });

  it('a -wal that is a symbolic link out of the directory: refused, the file it points to untouched', async () => {
    const outside = await outsideFile('not a log\n');
    const path = await freshDbPath();
    const store = sqliteStore(path);
    await store.create(makeIntent());
    await store.close();
    await symlink(outside.path, `${path}-wal`);
    await expectRefused(path, /intents\.db-wal \(its -wal file\) as the intent journal: it is a symbolic link/);
    await outside.unchanged();
  });

  it('a link to the directory is fine', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'real'), { mode: 0o700 });
    await symlink('real', join(dir, 'linked'));
    const store = sqliteStore(join(dir, 'linked', 'intents.db'));
    await store.create(makeIntent());
    expect((await readdir(join(dir, 'real'))).sort()).toEqual(['intents.db', 'intents.db-shm', 'intents.db-wal']);
    await store.close();
  });
});
