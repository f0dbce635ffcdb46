import { spawnSync } from 'node:child_process';
import { appendFile, copyFile, mkdir, readdir, readFile, readlink, rename, rm, stat, statfs, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FileStore } from '../src/node.js';
import { hostId, LOCK_NAME } from '../src/stores/file/names.js';
import { LOCAL_FILE_SYSTEMS } from '../src/stores/file/view.js';
import type { Intent } from '../src/stores/store.js';
import { idOf, type Kind, makeIntent, SCOPE } from './fixtures/file-store-intents.js';
import { untilListingTrusted, useFileStores } from './support/file-stores.js';

const O_DSYNC = 0o10000; // Linux x86/arm: fs.constants.O_DSYNC

const { tempDir, open } = useFileStores('durable-fetch-file-');

/** This process's descriptors open on `path` (Linux: /proc/self/fd). */
async function fdsOpenOn(path: string): Promise<string[]> {
  const found: string[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target === path || target.startsWith(`${path}/`)) found.push(fd);
  }
  return found;
}

/** The offset just past the `n`th line: one record a line. */
function afterLine(bytes: Buffer, n: number): number {
  let offset = 0;
  for (let i = 0; i < n; i++) offset = bytes.indexOf(10, offset) + 1;
  return offset;
}

async function journalFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.log')).sort();
}

/** Total bytes in the directory; a file compacted away while counting counts nothing. */
async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name)).catch(() => ({ size: 0 }))).size;
  return total;
}

/** Puts in waves of `wave` concurrent puts, as a busy client would. */
async function putMany(store: FileStore, keys: string[], kind: Kind, wave = 1000): Promise<void> {
  for (let i = 0; i < keys.length; i += wave) {
    await Promise.all(keys.slice(i, i + wave).map((key) => store.put(makeIntent(key, kind))));
  }
}

const keysOf = (intents: Intent[]) => intents.map((intent) => intent.idempotencyKey).sort();
const range = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe('fileStore basics', () => {
  it('stores, replaces and lists intents per scope, and finds them again after reopening', async () => {
    const dir = await tempDir();
    const store = open(dir);
    await store.put(makeIntent('a'));
    await store.put(makeIntent('b'));
    await store.put(makeIntent('c', 'pending', { scope: 'tenant-2' }));
    await store.put(makeIntent('a', 'kept'));

    expect((await store.get(SCOPE, idOf('a')))?.state).toBe('succeeded');
    expect(await store.get(SCOPE, idOf('missing'))).toBeUndefined();
    expect(keysOf(await store.list(SCOPE))).toEqual(['a', 'b']);
    expect(keysOf(await store.list())).toEqual(['a', 'b', 'c']);
    await store.close();

    const again = open(dir);
    const times = { createdAt: expect.any(Number), updatedAt: expect.any(Number), expiresAt: expect.any(Number) };
    expect(await again.get(SCOPE, idOf('a'))).toEqual(makeIntent('a', 'kept', times));
    expect(keysOf(await again.list('tenant-2'))).toEqual(['c']);
  });

  it('hands out copies: changing a returned intent changes nothing stored', async () => {
    const store = open(await tempDir());
    await store.put(makeIntent('a'));
    const got = (await store.get(SCOPE, idOf('a')))!;
    got.state = 'failed';
    got.headers.extra = 'x';
    expect((await store.get(SCOPE, idOf('a')))?.state).toBe('pending');
    expect((await store.list())[0]?.headers).toEqual({ 'content-type': 'application/json' });
  });

  it('keeps the last put of an intent even when its clock went backwards', async () => {
    const dir = await tempDir();
    const store = open(dir);
    const t = Date.now();
    await store.put(makeIntent('a', 'pending', { updatedAt: t }));
    await store.put(makeIntent('a', 'kept', { updatedAt: t - 60_000 }));
    expect((await store.get(SCOPE, idOf('a')))?.state).toBe('succeeded');
    await store.close();
    expect((await open(dir).get(SCOPE, idOf('a')))?.state).toBe('succeeded');
  });

  it('rejects an intent it could not read back, without throwing synchronously', async () => {
    const store = open(await tempDir());
    const bad = { ...makeIntent('a'), updatedAt: Number.NaN };
    await expect(store.put(bad)).rejects.toThrow(TypeError);
    await expect(store.put(makeIntent('b', 'pending', { url: 'not a url' }))).rejects.toThrow();
    await store.put(makeIntent('c'));
    expect(keysOf(await store.list())).toEqual(['c']);
  });
});

describe('fileStore durability', () => {
  it('resolves a put only after its bytes were fsynced, and after the directory was fsynced for a new file', async () => {
    const dir = await tempDir();
    const events: string[] = [];
    const store = open(dir, { onSync: (kind, path) => events.push(`${kind}:${path === dir ? 'journal dir' : path.startsWith(dir) ? 'journal file' : 'parent'}`) });
    await store.put(makeIntent('a')).then(() => events.push('resolved'));
    expect(events).toEqual(['dir:journal dir', 'file:journal file', 'resolved']);

    const [file] = await journalFiles(dir);
    expect((await readFile(join(dir, file!), 'utf8')).includes('"idempotencyKey":"a"')).toBe(true);

    events.length = 0;
    await store.put(makeIntent('b')).then(() => events.push('resolved'));
    expect(events).toEqual(['file:journal file', 'resolved']); // same file: nothing new in the directory
  });

  it('syncs the parents of a directory it had to create', async () => {
    const base = await tempDir();
    const dir = join(base, 'a', 'b');
    const synced: string[] = [];
    const store = open(dir, { onSync: (kind, path) => synced.push(`${kind}:${path}`) });
    await store.put(makeIntent('a'));
    expect(synced.slice(0, 2)).toEqual([`dir:${join(base, 'a')}`, `dir:${base}`]);
  });

  it('group commit: 32 concurrent puts share one fsync', async () => {
    const store = open(await tempDir());
    await store.put(makeIntent('warm-up'));
    const before = store.stats().fileSyncs;
    await Promise.all(range('k', 32).map((key) => store.put(makeIntent(key))));
    const used = store.stats().fileSyncs - before;
    expect(used).toBeLessThanOrEqual(2);
    expect(used).toBe(1);
    console.log(`[file-store] fsyncs for 32 concurrent puts: ${used}`);
  });

  it('group commit: puts made while a write is in flight go out together in the next one', async () => {
    const dir = await tempDir();
    let late: Promise<void>[] = [];
    const store = open(dir, {
      // The first batch's write is in flight once its new file is being made durable.
      onSync: (kind) => {
        if (kind === 'dir' && late.length === 0) late = range('late', 31).map((key) => store.put(makeIntent(key)));
      },
    });
    await store.put(makeIntent('first'));
    await Promise.all(late);
    expect(store.stats()).toMatchObject({ fileSyncs: 2, batches: 2, records: 32 });
    expect((await store.list()).length).toBe(32);
  });

  it('close() flushes queued puts and releases the store', async () => {
    const dir = await tempDir();
    const store = open(dir);
    const puts = range('k', 50).map((key) => store.put(makeIntent(key)));
    await store.close();
    await Promise.all(puts);
    await expect(store.put(makeIntent('late'))).rejects.toThrow(/closed/);
    await expect(store.list()).rejects.toThrow(/closed/);
    expect((await open(dir).list()).length).toBe(50);
  });

  it.runIf(process.platform === 'linux')('on Linux writes its segment through O_DSYNC: the write that returns is the sync', async () => {
    const dir = await tempDir();
    const store = open(dir);
    await store.put(makeIntent('a'));
    const [segment] = await journalFiles(dir);
    const fds = await fdsOpenOn(join(dir, segment!));
    expect(fds.length).toBe(1);
    const flags = Number.parseInt(/^flags:\s+([0-7]+)$/m.exec(await readFile(`/proc/self/fdinfo/${fds[0]}`, 'utf8'))![1]!, 8);
    expect(flags & O_DSYNC).toBe(O_DSYNC);
    expect(store.stats()).toMatchObject({ fileSyncs: 1, batches: 1 });
  });
});

describe('fileStore with damaged files', () => {
  /** A closed journal of `n` intents, its one file's bytes, and where each record's frame ends. */
  async function journal(n: number): Promise<{ name: string; bytes: Buffer; frames: Array<{ key: string; start: number; end: number }> }> {
    const dir = await tempDir();
    const store = open(dir);
    for (let i = 0; i < n; i += 10) await Promise.all(range('r', n).slice(i, i + 10).map((key) => store.put(makeIntent(key))));
    await store.close();
    const [name] = await journalFiles(dir);
    const bytes = await readFile(join(dir, name!));
    const frames: Array<{ key: string; start: number; end: number }> = [];
    let start = 0;
    for (let end = bytes.indexOf(10); end >= 0; start = end + 1, end = bytes.indexOf(10, start)) {
      const key = /"idempotencyKey":"([^"]+)"/.exec(bytes.toString('utf8', start, end))?.[1];
      if (key) frames.push({ key, start, end });
    }
    expect(frames.length).toBe(n);
    return { name: name!, bytes, frames };
  }

  async function reopen(name: string, bytes: Buffer): Promise<string[]> {
    const dir = await tempDir();
    await writeFile(join(dir, name), bytes, { mode: 0o600 });
    const store = open(dir);
    const keys = keysOf(await store.list());
    await store.close();
    return keys;
  }

  it('a torn tail at any offset loses only records that were not wholly written', async () => {
    const { name, bytes, frames } = await journal(60);
    for (let trial = 0; trial < 25; trial++) {
      const cut = Math.floor(Math.random() * bytes.length);
      const expected = frames.filter((f) => f.end < cut).map((f) => f.key).sort();
      expect(await reopen(name, bytes.subarray(0, cut)), `cut at ${cut}`).toEqual(expected);
    }
  });

  it('a corrupted byte anywhere costs at most the one record it hit', async () => {
    const { name, bytes, frames } = await journal(60);
    for (let trial = 0; trial < 25; trial++) {
      const at = Math.floor(Math.random() * bytes.length);
      const damaged = Buffer.from(bytes);
      damaged[at] = damaged[at]! ^ (1 + Math.floor(Math.random() * 255));
      const hit = frames.find((f) => f.start <= at && at <= f.end);
      const others = frames.filter((f) => f !== hit).map((f) => f.key);
      const found = await reopen(name, damaged);
      expect(found, `byte ${at}`).toEqual(expect.arrayContaining(others));
      expect(found.length).toBeGreaterThanOrEqual(others.length);
    }
  });

  it('a run of garbage in the middle costs only the records it overlaps', async () => {
    const { name, bytes, frames } = await journal(60);
    for (let trial = 0; trial < 10; trial++) {
      const at = Math.floor(Math.random() * (bytes.length - 300));
      const damaged = Buffer.from(bytes);
      damaged.set(
        Array.from({ length: 300 }, () => Math.floor(Math.random() * 256)),
        at,
      );
      const untouched = frames.filter((f) => f.end < at || f.start >= at + 300).map((f) => f.key);
      expect(await reopen(name, damaged), `garbage at ${at}`).toEqual(expect.arrayContaining(untouched));
    }
  });

  it('zeroes or garbage after the last record (power loss mid-append) are ignored', async () => {
    const { name, bytes, frames } = await journal(20);
    const all = frames.map((f) => f.key).sort();
    expect(await reopen(name, Buffer.concat([bytes, Buffer.alloc(4096)]))).toEqual(all);
    expect(await reopen(name, Buffer.concat([bytes, Buffer.from('0badc0de 0000ffff {"v":1')]))).toEqual(all);
  });

  it('reads everything again when a file shrinks under it (restored from a backup, say)', async () => {
    const dir = await tempDir();
    const writer = open(dir);
    const reader = open(dir);
    for (const key of range('k', 10)) await writer.put(makeIntent(key));
    expect((await reader.list()).length).toBe(10);
    const [name] = await journalFiles(dir);
    const bytes = await readFile(join(dir, name!));
    const cut = afterLine(bytes, 5);
    await writeFile(join(dir, name!), bytes.subarray(0, cut));
    expect(keysOf(await reader.list())).toEqual(range('k', 5).sort());
  });

  it('reads everything again when another file takes the name of a segment (restored with cp and mv, say)', async () => {
    const dir = await tempDir();
    const writer = open(dir);
    const reader = open(dir);
    for (const key of range('k', 10)) await writer.put(makeIntent(key));
    expect((await reader.list()).length).toBe(10);
    const [name] = await journalFiles(dir);
    const bytes = await readFile(join(dir, name!));
    const cut = afterLine(bytes, 5);
    // The reader still holds the old file open: only its name now leads elsewhere.
    await writeFile(join(dir, 'restored'), bytes.subarray(0, cut));
    await rename(join(dir, 'restored'), join(dir, name!));
    expect(keysOf(await reader.list())).toEqual(range('k', 5).sort());
  });

  it('keeps appending safely after finding a damaged file left by a dead writer', async () => {
    const { name, bytes, frames } = await journal(20);
    const dir = await tempDir();
    await writeFile(join(dir, name), bytes.subarray(0, frames[10]!.end - 5), { mode: 0o600 });
    await appendFile(join(dir, name), Buffer.from('\u0000garbage'));
    const store = open(dir);
    await store.put(makeIntent('after'));
    await store.close();
    expect(keysOf(await open(dir).list())).toEqual([...frames.slice(0, 10).map((f) => f.key), 'after'].sort());
  });
});

describe('fileStore shared by several stores', () => {
  it('sees what another store appended, and the put that knew of another wins whatever the clocks say', async () => {
    const dir = await tempDir();
    const a = open(dir);
    const b = open(dir);
    await a.put(makeIntent('x', 'pending', { updatedAt: Date.now() + 60_000 }));
    const seen = await b.get(SCOPE, idOf('x'));
    expect(seen?.state).toBe('pending');
    await b.put({ ...seen!, state: 'succeeded', updatedAt: Date.now() });
    expect((await a.get(SCOPE, idOf('x')))?.state).toBe('succeeded');
    for (let i = 0; i < 5; i++) {
      await a.put(makeIntent(`a${i}`));
      await b.put(makeIntent(`b${i}`));
    }
    expect((await a.list()).length).toBe(11);
    expect((await b.list()).length).toBe(11);
  });

  it('reads only the bytes appended since its last look', async () => {
    const dir = await tempDir();
    const writer = open(dir);
    const reader = open(dir);
    await putMany(writer, range('k', 2000), 'pending', 500);
    expect((await reader.list()).length).toBe(2000);
    const before = reader.stats().bytesRead;
    await writer.put(makeIntent('one-more'));
    expect((await reader.get(SCOPE, idOf('one-more')))?.state).toBe('pending');
    await reader.get(SCOPE, idOf('one-more'));
    const frame = (await stat(join(dir, (await journalFiles(dir))[0]!))).size / 2001;
    expect(reader.stats().bytesRead - before).toBeLessThan(2 * frame);
  });

  it('lists the directory on every look while its stamp is too recent to trust, and still sees every append', async () => {
    const dir = await tempDir();
    const writer = open(dir);
    const reader = open(dir);
    await writer.put(makeIntent('a'));
    expect(keysOf(await reader.list())).toEqual(['a']);
    // Stamped ahead of this clock (a clock set back since, or another machine's): never old enough.
    const ahead = new Date(Date.now() + 60 * 60_000);
    await utimes(dir, ahead, ahead);
    const listings = reader.stats().listings;
    await writer.put(makeIntent('b'));
    expect((await reader.get(SCOPE, idOf('b')))?.state).toBe('pending');
    await writer.put(makeIntent('c'));
    expect(keysOf(await reader.list())).toEqual(['a', 'b', 'c']);
    expect(reader.stats().listings).toBe(listings + 2);
  });

  it.runIf(process.platform === 'linux')('a trusted listing still sees appends and new files, and closing releases every read handle', async () => {
    const dir = await tempDir();
    const writer = open(dir, { segmentBytes: 2048 });
    const reader = open(dir);
    await writer.put(makeIntent('a'));
    expect(keysOf(await reader.list())).toEqual(['a']);
    // Elsewhere (a network file system, say) every look lists: what is seen must be the same.
    const trusting = LOCAL_FILE_SYSTEMS.has((await statfs(dir)).type);
    if (trusting) await untilListingTrusted(reader);
    const listings = reader.stats().listings;
    await writer.put(makeIntent('b'));
    expect((await reader.get(SCOPE, idOf('b')))?.state).toBe('pending');
    if (trusting) {
      // That look listed nothing: it read the segment through the handle it keeps beside the writer's.
      expect(reader.stats().listings).toBe(listings);
      expect(await fdsOpenOn(join(dir, (await journalFiles(dir))[0]!))).toHaveLength(2);
    }
    await putMany(writer, range('r', 6), 'kept', 1); // past 2 KiB: a new segment
    expect((await journalFiles(dir)).length).toBeGreaterThan(1);
    await writer.put(makeIntent('last'));
    expect((await reader.get(SCOPE, idOf('last')))?.state).toBe('pending');
    expect(keysOf(await reader.list())).toEqual(['a', 'b', 'last', ...range('r', 6)].sort());
    await reader.close();
    await writer.close();
    expect(await fdsOpenOn(dir)).toEqual([]);
  });

  it('keeps an intent whose record it read in a compaction output before the input vanished', async () => {
    const dir = await tempDir();
    const writer = open(dir);
    await writer.put(makeIntent('x'));
    await writer.close();
    const reader = open(dir);
    expect((await reader.list()).length).toBe(1);
    // A compaction renamed its output into place; the reader sees both, then the input goes.
    const [input] = await journalFiles(dir);
    await copyFile(join(dir, input!), join(dir, `c-${hostId()}-${process.pid}-0123456789ab.log`));
    expect((await reader.list()).length).toBe(1);
    await rm(join(dir, input!));
    expect(keysOf(await reader.list())).toEqual(['x']);
  });

  it('a compaction never takes the segment another live store is appending to', async () => {
    const dir = await tempDir();
    const compactor = open(dir, { segmentBytes: 4096, autoCompact: false });
    const writer = open(dir, { segmentBytes: 1 << 20, autoCompact: false });
    const writes: Promise<void>[] = [];
    for (let round = 0; round < 20; round++) {
      writes.push(putMany(writer, range(`w${round}`, 20), 'pending', 20));
      await putMany(compactor, range(`c${round}`, 20), 'expired', 20);
      expect(await compactor.compact()).toBe(true);
    }
    await Promise.all(writes);
    await writer.put(makeIntent('last'));
    const fresh = open(dir);
    const keys = new Set(keysOf(await fresh.list()));
    for (let round = 0; round < 20; round++) for (const key of range(`w${round}`, 20)) expect(keys.has(key)).toBe(true);
    expect(keys.has('last')).toBe(true);
  });
});

describe('fileStore compaction', () => {
  it('100,000 settled puts past retention keep the directory small', async () => {
    const dir = await tempDir();
    const store = open(dir);
    let largest = 0;
    const started = performance.now();
    for (let round = 0; round < 10; round++) {
      await putMany(store, range(`s${round}`, 10_000), 'expired', 2000);
      largest = Math.max(largest, await dirBytes(dir));
    }
    const seconds = (performance.now() - started) / 1000;
    await store.close();
    const after = await dirBytes(dir);
    console.log(
      `[file-store] 100k settled puts: ${seconds.toFixed(1)} s, ${store.stats().fileSyncs} fsyncs, ${store.stats().compactions} compactions; ` +
        `directory at most ${(largest / 1e6).toFixed(2)} MB, ${(after / 1e6).toFixed(2)} MB after close`,
    );
    expect(largest).toBeLessThan(5e6);
    expect(after).toBeLessThan(5e6);
    expect(store.stats().compactions).toBeGreaterThan(0);
  }, 60_000);

  it('keeps pending intents and unexpired results, and never brings back an older state', async () => {
    const dir = await tempDir();
    const store = open(dir, { segmentBytes: 16 * 1024, autoCompact: false });
    // Pending intents are never dropped, even past their expiresAt.
    await putMany(store, range('p', 300), 'pending', 50);
    for (const key of range('p', 300).slice(0, 50)) await store.put(makeIntent(key, 'pending', { expiresAt: 0 }));
    await putMany(store, range('k', 200), 'kept', 50);
    await putMany(store, range('e', 2000), 'expired', 200);
    // Pending first, then settled: after compaction the old pending copy must not resurface.
    await putMany(store, range('t', 200), 'pending', 50);
    await putMany(store, range('t', 200), 'expired', 50);
    expect(await store.compact()).toBe(true);
    await putMany(store, range('late', 10), 'pending');
    expect(await store.compact()).toBe(true);

    for (const reader of [store, open(dir)]) {
      const intents = await reader.list();
      const byKey = new Map(intents.map((intent) => [intent.idempotencyKey, intent]));
      for (const key of [...range('p', 300), ...range('late', 10)]) expect(byKey.get(key)?.state).toBe('pending');
      for (const key of range('k', 200)) expect(byKey.get(key)?.state).toBe('succeeded');
      for (const key of range('t', 200)) expect(byKey.get(key)?.state ?? 'gone').not.toBe('pending');
      expect(intents.length).toBeLessThan(600);
    }
    // What is kept is about 0.35 MB; the 2,200 dropped intents alone took 1.5 MB.
    expect(await dirBytes(dir)).toBeLessThan(700_000);
  });

  it('keeps a settled record while an older copy of its intent sits in a segment still being written', async () => {
    const dir = await tempDir();
    const settler = open(dir, { segmentBytes: 2048, autoCompact: false });
    const live = open(dir, { autoCompact: false });
    await live.put(makeIntent('x', 'pending'));
    const pending = await settler.get(SCOPE, idOf('x'));
    await settler.put({ ...pending!, state: 'failed', expiresAt: 0, updatedAt: Date.now() });
    await putMany(settler, range('filler', 10), 'expired'); // rotates: the settled record's segment is finished
    expect(await settler.compact()).toBe(true);
    expect((await open(dir).get(SCOPE, idOf('x')))?.state).toBe('failed');

    // Once the old copy's segment is finished too, both go.
    await live.close();
    expect(await settler.compact()).toBe(true);
    expect(await settler.compact()).toBe(true);
    expect(await open(dir).get(SCOPE, idOf('x'))).toBeUndefined();
  });

  it('takes a segment idle for twice idleMs, and its writer moves to a new one before appending again', async () => {
    const dir = await tempDir();
    let clock = Date.now();
    const now = () => clock;
    const idle = open(dir, { now, idleMs: 60_000, autoCompact: false });
    const other = open(dir, { now, idleMs: 60_000, autoCompact: false });
    await putMany(idle, range('i', 20), 'pending');
    const [segment] = await journalFiles(dir);
    clock += 3 * 60_000;
    await other.put(makeIntent('o'));
    expect(await other.compact()).toBe(true);
    expect(await journalFiles(dir)).not.toContain(segment);
    await idle.put(makeIntent('after-idle'));
    expect(keysOf(await open(dir).list())).toEqual([...range('i', 20), 'after-idle', 'o'].sort());
  });

  it('takes over a lock left by a dead process, and waits out one held by a live one', async () => {
    const dir = await tempDir();
    const store = open(dir, { autoCompact: false });
    await store.put(makeIntent('a'));
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
    await writeFile(join(dir, LOCK_NAME), JSON.stringify({ host: hostId(), pid: deadPid, id: 'x', at: Date.now() }));
    await writeFile(join(dir, `c-${hostId()}-${deadPid}-000000000000.tmp`), 'half a compaction');
    expect(await store.compact()).toBe(true);
    expect(await readdir(dir)).not.toContain(LOCK_NAME);
    expect((await readdir(dir)).some((name) => name.endsWith('.tmp'))).toBe(false);

    const live = JSON.stringify({ host: hostId(), pid: process.pid, id: 'someone-else', at: Date.now() });
    await writeFile(join(dir, LOCK_NAME), live);
    expect(await store.compact()).toBe(false);
    expect(await readFile(join(dir, LOCK_NAME), 'utf8')).toBe(live);
  });
});

describe('fileStore files and secrets', () => {
  it('creates the directory 0700 and every file 0600', async () => {
    const dir = join(await tempDir(), 'nested', 'journal');
    const store = open(dir, { segmentBytes: 4096 });
    await putMany(store, range('e', 200), 'expired', 20);
    await putMany(store, range('p', 20), 'pending', 20);
    await store.compact();
    await store.close();
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, '..'))).mode & 0o777).toBe(0o700);
    const names = await readdir(dir);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect((await stat(join(dir, name))).mode & 0o777, name).toBe(0o600);
  });

  it('never writes a credential header, whatever the caller passed', async () => {
    const dir = await tempDir();
    const store = open(dir);
    const secrets = {
      authorization: 'Bearer SECRET-1',
      'Proxy-Authorization': 'Basic SECRET-2',
      cookie: 'session=SECRET-3',
      'x-api-key': 'SECRET-4',
      apikey: 'SECRET-5',
      'x-auth-token': 'SECRET-6',
      'x-client-secret': 'SECRET-7',
    };
    await store.put(
      makeIntent('a', 'kept', {
        headers: { 'content-type': 'application/json', ...secrets },
        response: { status: 200, statusText: 'OK', headers: { 'content-type': 'text/plain', 'set-cookie': 'id=SECRET-8' }, body: '' },
      }),
    );
    await store.close();
    for (const name of await readdir(dir)) expect((await readFile(join(dir, name), 'utf8')).includes('SECRET')).toBe(false);
    const stored = await open(dir).get(SCOPE, idOf('a'));
    expect(stored?.headers).toEqual({ 'content-type': 'application/json' });
    expect(stored?.response?.headers).toEqual({ 'content-type': 'text/plain' });
  });
});

describe('fileStore errors', () => {
  it('a directory that cannot be created makes put reject with the directory and the cause', async () => {
    const base = await tempDir();
    await writeFile(join(base, 'file'), 'not a directory');
    const dir = join(base, 'file', 'journal');
    let store: FileStore | undefined;
    expect(() => (store = open(dir))).not.toThrow();
    const error = await store!.put(makeIntent('a')).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(dir);
    expect((error as Error).message).toMatch(/ENOTDIR|EEXIST|not a directory/);
    await expect(store!.get(SCOPE, idOf('a'))).rejects.toThrow(dir);
    await expect(store!.list()).rejects.toThrow(dir);

    // A path that is no path at all is an error on use too, not on creation.
    const nameless = open('');
    await expect(nameless.put(makeIntent('a'))).rejects.toThrow(/non-empty path/);

    // Once the path is usable, the same store works.
    await rm(join(base, 'file'));
    await mkdir(join(base, 'file'));
    await store!.put(makeIntent('a'));
    expect(keysOf(await store!.list())).toEqual(['a']);
  });
});

describe('fileStore at scale', () => {
  it('lists 10,000 pending intents, and a store opened on them finds them all, reading each byte once', async () => {
    // How fast is the bench's business (npm run bench prints pending() over 10,000 intents);
    // here: complete, and no byte read twice.
    const dir = await tempDir();
    const store = open(dir);
    await putMany(store, range('p', 10_000), 'pending', 1000);
    expect((await store.list(SCOPE)).length).toBe(10_000);
    await store.close();

    const reopened = open(dir);
    expect((await reopened.list(SCOPE)).length).toBe(10_000);
    const bytesRead = reopened.stats().bytesRead;
    expect(bytesRead).toBeGreaterThan(0);
    expect((await reopened.list(SCOPE)).length).toBe(10_000);
    expect(reopened.stats().bytesRead).toBe(bytesRead);
  });
});
