import { chmod, mkdir, stat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqliteReadOnly, sqliteStore } from '../../src/stores/sqlite.js';
import { makeIntent } from '../../src/testing.js';
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
