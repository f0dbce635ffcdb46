import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { makeIntent, makeIntents, seededBytes, timeless } from '../../src/testing.js';
import { runFixture, untilLines } from '../support/processes.js';
import { fillDisk, freshDbPath, smallDisk, tempDir } from '../support/sqlite.js';

describe('sqlite store durability', () => {
  it('commits writes that arrive together in fewer transactions than writes', async () => {
    const store = sqliteStore(await freshDbPath());
    const intents = makeIntents(100);
    await expect(Promise.all(intents.map((intent) => store.create(intent)))).resolves.toEqual(intents.map(() => undefined));
    const stats = await store.stats();
    expect(stats.writes).toBe(100);
    expect(stats.commits).toBeLessThan(100);
    await store.close();
  });

  it('keeps every intent whose create resolved in a process killed with SIGKILL', async () => {
    const path = await freshDbPath();
    const writer = runFixture('sqlite-writer.ts', [path, 'forever'], { nodeArgs: ['--import', 'tsx'] });
    await untilLines(writer, 50);
    writer.child.kill('SIGKILL');
    const { signal } = await writer.exited;
    expect(signal).toBe('SIGKILL');
    const store = sqliteStore(path);
    const reported = writer.lines.map((line) => JSON.parse(line) as [string, string]);
    const found = await Promise.all(reported.map(([scope, id]) => store.get(scope, id)));
    expect(found.filter((intent) => intent === undefined)).toEqual([]);
    await store.close();
  });

  it('creates and reads back a 200 MB body', async () => {
    const store = sqliteStore(await freshDbPath());
    const body = seededBytes(200 * 1000 * 1000, 9);
    const intent = makeIntent({ body });
    await store.create(intent);
    const got = await store.get(intent.scope, intent.id);
    expect(Buffer.from(got!.body!).equals(body)).toBe(true);
    await store.close();
  }, 120_000);

  it('refuses a body or an answer over maxBodyBytes before writing anything', async () => {
    const store = sqliteStore(await freshDbPath(), { maxBodyBytes: 1024 });
    const fits = makeIntent({ body: new Uint8Array(1024) });
    const tooBig = makeIntent({ body: new Uint8Array(1025) });
    await expect(store.create(fits)).resolves.toBeUndefined();
    await expect(store.create(tooBig)).rejects.toThrow(/request body is 1025 bytes.*at most 1024 \(option maxBodyBytes\)/);
    const answer = { status: 200, statusText: 'OK', headers: {}, body: new Uint8Array(2048) };
    await expect(store.update(fits.scope, fits.id, 1, { state: 'succeeded', response: answer })).rejects.toThrow(/stored answer body/);
    await expect(store.get(tooBig.scope, tooBig.id)).resolves.toBeUndefined();
    await expect(store.get(fits.scope, fits.id)).resolves.toMatchObject({ state: 'pending', version: 1 });
    await expect(store.stats()).resolves.toMatchObject({ writes: 1 });
    await store.close();
  });

  it('deletes settled intents past expiresAt by itself every compactEvery writes', async () => {
    const store = sqliteStore(await freshDbPath(), { compactEvery: 5 });
    const settled = makeIntents(2, { state: 'succeeded', expiresAt: 0 });
    const pending = makeIntent({ expiresAt: 0 });
    for (const intent of [...settled, pending]) await store.create(intent);
    for (const intent of makeIntents(2)) await store.create(intent);
    for (const intent of settled) await expect(store.get(intent.scope, intent.id)).resolves.toBeUndefined();
    expect(timeless((await store.get(pending.scope, pending.id))!)).toEqual(timeless(pending));
    await store.close();
  });

  // A real full disk: a 1 MiB tmpfs, which needs root (as CI runs); elsewhere this test fails at the mount.
  it('rejects every write of a commit that fails on a full disk, and keeps none of them', async () => {
    const dir = await smallDisk('1m');
    {
      const store = sqliteStore(join(dir, 'intents.db'));
      const first = makeIntent();
      await store.create(first);
      await fillDisk(join(dir, 'filler'));
      const batch = makeIntents(20, { body: seededBytes(16 * 1024, 4) });
      const results = await Promise.allSettled(batch.map((intent) => store.create(intent)));
      expect(results.map((result) => result.status)).toEqual(batch.map(() => 'rejected'));
      expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/failed to create: database or disk is full/);
      expect((await store.stats()).failedCommits).toBeGreaterThan(0);
      // Reads go on, and show nothing of the failed batch.
      expect((await store.list()).map((summary) => summary.id)).toEqual([first.id]);
      await rm(join(dir, 'filler'));
      await store.close();

      const reopened = sqliteStore(join(dir, 'intents.db'));
      expect((await reopened.list()).map((summary) => summary.id)).toEqual([first.id]);
      await expect(reopened.create(batch[0]!)).resolves.toBeUndefined();
      await reopened.close();
    }
  });
});
