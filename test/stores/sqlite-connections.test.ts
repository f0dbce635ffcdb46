import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sqliteConnectionCount, sqliteStore } from '../../src/stores/sqlite.js';
import { makeIntent, timeless } from '../../src/testing.js';
import { runFixture } from '../support/processes.js';
import { freshDbPath, tempDir } from '../support/sqlite.js';

const openFds = () => readdirSync('/proc/self/fd').length;

describe('sqlite store connections', () => {
  it('shares one connection between stores on one file, until the last closes', async () => {
    const dir = await tempDir();
    const a = sqliteStore(join(dir, 'intents.db'));
    const b = sqliteStore(join(dir, '.', 'sub', '..', 'intents.db'));
    const intent = makeIntent();
    await a.create(intent);
    expect(sqliteConnectionCount()).toBe(1);
    await a.close();
    await expect(a.get(intent.scope, intent.id)).rejects.toThrow(/is closed/);
    expect(timeless((await b.get(intent.scope, intent.id))!)).toEqual(timeless(intent));
    await b.close();
    expect(sqliteConnectionCount()).toBe(0);
  });

  it('keeps the file descriptor count flat over 200 stores on one file', async () => {
    const path = await freshDbPath();
    const first = sqliteStore(path);
    await first.create(makeIntent());
    const before = openFds();
    const more = Array.from({ length: 199 }, () => sqliteStore(path));
    await Promise.all(more.map((store) => store.list()));
    expect(openFds()).toBe(before);
    expect(sqliteConnectionCount()).toBe(1);
    await Promise.all([first, ...more].map((store) => store.close()));
    expect(sqliteConnectionCount()).toBe(0);
  });

  it('lets a process end by itself once its store is closed', async () => {
    const writer = runFixture('sqlite-writer.ts', [await freshDbPath(), 'close'], { nodeArgs: ['--import', 'tsx'] });
    await expect(writer.exited).resolves.toMatchObject({ code: 0 });
    expect(writer.lines).toEqual(['done']);
  }, 10_000);

  it('lets a process end by itself while an idle store is still open', async () => {
    const writer = runFixture('sqlite-writer.ts', [await freshDbPath(), 'idle'], { nodeArgs: ['--import', 'tsx'] });
    await expect(writer.exited).resolves.toMatchObject({ code: 0 });
    expect(writer.lines).toEqual(['done']);
  }, 10_000);
});
