/**
 * npm run bench:idb [-- --writes N --rounds N]
 *
 * What `indexedDbStore`'s strict durability costs per intent write in Chromium: the store's write
 * (one readwrite transaction: read the key, put the intent, wait for the commit) with
 * `durability: 'strict'` (the store's choice: flushed to disk before the commit resolves) against
 * `'relaxed'` (handed to the OS), in a real profile on this machine's disk. Rounds alternate the two
 * so a noisy neighbour hits both alike; the figure is the median over rounds of each round's mean.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Page } from 'playwright';

const { values } = parseArgs({ options: { writes: { type: 'string', default: '200' }, rounds: { type: 'string', default: '5' } } });
const writes = Number(values.writes);
const rounds = Number(values.rounds);
if (!Number.isInteger(writes) || writes < 1 || !Number.isInteger(rounds) || rounds < 1) throw new TypeError('--writes and --rounds take positive integers.');

type Durability = 'strict' | 'relaxed';

/**
 * Runs in the page: `count` intent writes, one transaction each, one after another; resolves the
 * mean ms per write. Plain JavaScript in a string: tsx would wrap compiled functions in helpers
 * the page does not have.
 */
const WRITE_INTENTS = `async ([durability, count, round]) => {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open('bench-' + durability);
    request.onupgradeneeded = () => request.result.createObjectStore('intents');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  // The shape of a journaled purchase: a 200-byte JSON body as bytes, and the intent's fields.
  const body = new TextEncoder().encode(JSON.stringify({ item: 'lamp', note: 'x'.repeat(160) }));
  const intent = (id) => ({
    scope: 'default', id, idempotencyKey: id, method: 'POST', url: 'https://api.example.com/v1/purchases',
    origin: 'https://api.example.com', headers: { 'content-type': 'application/json' }, keyHeader: 'Idempotency-Key',
    keyFormat: 'token', body, fingerprint: 'f'.repeat(64), createdAt: Date.now(), updatedAt: Date.now(),
    expiresAt: Date.now() + 86400000, attempts: 0, state: 'pending', owner: 'bench', leaseUntil: Date.now() + 30000, version: 1,
  });
  const started = performance.now();
  for (let index = 0; index < count; index++) {
    const id = round + '-' + index;
    // As the store's create(): read the key, put the intent, resolve on the commit.
    await new Promise((resolve, reject) => {
      const transaction = db.transaction('intents', 'readwrite', { durability });
      const store = transaction.objectStore('intents');
      store.get(['default', id]).onsuccess = () => store.put(intent(id), ['default', id]);
      transaction.oncomplete = () => resolve();
      transaction.onerror = () => reject(transaction.error);
    });
  }
  const mean = (performance.now() - started) / count;
  db.close();
  return mean;
}`;

const writeIntents = (page: Page, durability: Durability, count: number, round: number): Promise<number> =>
  page.evaluate(`(${WRITE_INTENTS})(${JSON.stringify([durability, count, round])})`) as Promise<number>;

const median = (samples: number[]) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;

const profile = await mkdtemp(join(tmpdir(), 'durable-fetch-idb-bench-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
});
try {
  const page = await context.newPage();
  // Any http origin has IndexedDB; this one never reaches a network.
  const origin = 'http://bench.durable-fetch.invalid/';
  await page.route(origin, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>bench</title>' }));
  await page.goto(origin);
  const samples: Record<Durability, number[]> = { strict: [], relaxed: [] };
  // One warm-up round each: database creation and the first writes are not what is measured.
  for (const durability of ['strict', 'relaxed'] as const) await writeIntents(page, durability, 20, -1);
  for (let round = 0; round < rounds; round++) {
    const order: Durability[] = round % 2 === 0 ? ['strict', 'relaxed'] : ['relaxed', 'strict'];
    for (const durability of order) samples[durability].push(await writeIntents(page, durability, writes, round));
  }
  const strict = median(samples.strict);
  const relaxed = median(samples.relaxed);
  console.log(`Chromium ${context.browser()?.version() ?? ''}, profile in ${profile}`);
  console.log(`${writes} intent writes per round, ${rounds} rounds, median of round means:`);
  console.log(`  strict   ${strict.toFixed(2)} ms per write   (rounds: ${samples.strict.map((x) => x.toFixed(2)).join(', ')})`);
  console.log(`  relaxed  ${relaxed.toFixed(2)} ms per write   (rounds: ${samples.relaxed.map((x) => x.toFixed(2)).join(', ')})`);
  console.log(`  strict costs ${(strict - relaxed).toFixed(2)} ms more per write: ${(strict / relaxed).toFixed(1)}× relaxed`);
} finally {
  await context.close();
  await rm(profile, { recursive: true, force: true });
}
