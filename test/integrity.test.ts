/**
 * A journal read back is checked against itself before anything of it is sent again. These
 * tests damage a real SQLite journal behind the client's back — single bytes flipped in its
 * rows, through a connection of their own — and count what a real server on 127.0.0.1 receives.
 */
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import {
  createClient,
  IdempotencyError,
  IdempotencyIntegrityError,
  type ClientOptions,
  type DurableEvents,
  type IntentStore,
  type RecoveryOutcome,
} from '../src/index.js';
import { sqliteStore } from '../src/node.js';
import { seededRandom } from '../src/testing.js';
import { wholeIntent } from './support/planted.js';
import { type RawRequest, useRawServer } from './support/raw-server.js';
import { join } from 'node:path';
import { freshDbPath, smallDisk, withRawDatabase } from './support/sqlite.js';

const server = useRawServer();

/** A client of the server journaling to the SQLite file at `path`. Each opens the file afresh, as another process would. */
function apiOn(path: string, options: ClientOptions = {}) {
  return createClient({ prefix: server.url, store: sqliteStore(path), headers: { Authorization: 'Bearer sk_ops' }, retry: { limit: 0 }, timeout: 5_000, ...options });
}

/** Journals a payout whose connection drops before any answer: pending, released, for recovery. */
async function leavePending(path: string, idempotencyKey: string, call: Record<string, unknown> = { json: { amount: 700 } }) {
  server.answer((_request, res) => res.socket?.destroy());
  const api = apiOn(path);
  await expect(api.post('v1/payouts', { idempotencyKey, ...call })).rejects.toThrow();
  await api.close();
  server.reset();
}

type Column = 'method' | 'url' | 'origin' | 'id' | 'idempotencyKey' | 'body' | 'fingerprint';

/** Flips the bits of `mask` in byte `at` of one column of the row of `key`, as a bad disk or a bad restore would. */
function flip(path: string, key: string, column: Column, at: number, mask: number): void {
  withRawDatabase(path, (db) => {
    const row = db.prepare(`SELECT rowid AS row, ${column} AS value FROM intents WHERE idempotencyKey = ?`).get(key) as { row: number; value: string | Uint8Array };
    const bytes = typeof row.value === 'string' ? Buffer.from(row.value, 'utf8') : Buffer.from(row.value);
    bytes[at % bytes.length]! ^= mask;
    // Text stays text (invalid UTF-8 and all), bytes stay bytes: only the byte changes.
    const cast = typeof row.value === 'string' ? 'CAST(? AS TEXT)' : '?';
    db.prepare(`UPDATE intents SET ${column} = ${cast} WHERE rowid = ?`).run(bytes, row.row);
  });
}

/** Every intent in the file, straight from its rows: key and state. */
function rows(path: string): Array<{ idempotencyKey: string; state: string; owner: string | null }> {
  return withRawDatabase(path, (db) => db.prepare('SELECT idempotencyKey, state, owner FROM intents ORDER BY rowid').all() as never);
}

function listening(seen: string[]): DurableEvents {
  return {
    damaged: (event) => void seen.push(`damaged ${event.idempotencyKey}: ${event.reason}`),
    recovery: (event) => void seen.push(`recovery ${event.idempotencyKey} ${event.state}`),
    start: (event) => void seen.push(`start ${event.idempotencyKey}`),
    attempt: (event) => void seen.push(`attempt ${event.idempotencyKey}`),
  };
}

const states = (outcomes: RecoveryOutcome[]) => outcomes.map((outcome) => [outcome.idempotencyKey, outcome.state]);

describe('recover() checks an intent against its fingerprint before it resends it', () => {
  it('one digit of the body flipped on disk ({"amount":700} → 900): nothing sent, reported, still pending for an operator', async () => {
    const path = await freshDbPath();
    await leavePending(path, 'payout-7');
    flip(path, 'payout-7', 'body', '{"amount":'.length, '7'.charCodeAt(0) ^ '9'.charCodeAt(0));

    const seen: string[] = [];
    const api = apiOn(path, { on: listening(seen) });
    const [outcome] = await api.recover();
    expect(outcome).toMatchObject({ idempotencyKey: 'payout-7', state: 'skipped' });
    expect(outcome?.error).toBeInstanceOf(IdempotencyIntegrityError);
    expect(outcome?.error).toBeInstanceOf(IdempotencyError);
    expect((outcome?.error as IdempotencyIntegrityError).reason).toBe('its method, URL and body do not give its stored fingerprint');
    expect((outcome?.error as Error).message).toMatch(/damaged in the journal.*Nothing was sent.*resolve\(\)/);
    expect(seen).toEqual(['damaged payout-7: its method, URL and body do not give its stored fingerprint', 'recovery payout-7 skipped']);
    expect(server.requests).toEqual([]);
    expect(rows(path)).toEqual([{ idempotencyKey: 'payout-7', state: 'pending', owner: null }]);

    // Every pass says so again, and sends nothing; pending() lists it; an operator settles it.
    expect(states(await api.recover())).toEqual([['payout-7', 'skipped']]);
    const [listed] = await api.pending();
    expect(listed).toMatchObject({ idempotencyKey: 'payout-7', state: 'pending' });
    await api.resolve(listed!, 'failed');
    expect(await api.recover()).toEqual([]);
    expect(server.requests).toEqual([]);
    await api.close();
  });

  it.each([
    ['body', 'body', 3],
    ['URL (its path)', 'url', -3],
    ['method (POST → POSU)', 'method', 3],
    ['fingerprint', 'fingerprint', 10],
    ['id', 'id', 1],
    ['recorded origin', 'origin', -1],
  ] as Array<[string, Column, number]>)('a byte of its %s flipped: the integrity error, nothing sent', async (_name, column, at) => {
    const path = await freshDbPath();
    await leavePending(path, 'payout-x');
    withRawDatabase(path, (db) => {
      // A negative offset counts from the end (the URL's path, the origin's port).
      const { length } = db.prepare(`SELECT length(CAST(${column} AS BLOB)) AS length FROM intents`).get() as { length: number };
      if (at < 0) at += length;
    });
    flip(path, 'payout-x', column, at, 0x01);

    const api = apiOn(path, { origins: [server.url] });
    const outcomes = await api.recover();
    const reported = outcomes.find((outcome) => outcome.state === 'skipped');
    expect(outcomes).toHaveLength(1);
    // A recorded origin changed is no longer this client's to claim: skipped as another origin's, never sent.
    expect(reported?.error).toBeInstanceOf(column === 'origin' ? IdempotencyError : IdempotencyIntegrityError);
    expect(server.requests).toEqual([]);
    expect(rows(path).map((row) => row.state)).toEqual(['pending']);
    await api.close();
  });

  it('a live call taking over its own key finds the stored body damaged: IdempotencyIntegrityError, nothing sent, still pending', async () => {
    const path = await freshDbPath();
    await leavePending(path, 'payout-live');
    flip(path, 'payout-live', 'body', '{"amount":'.length, 0x02);

    const seen: string[] = [];
    const api = apiOn(path, { on: listening(seen) });
    const error = await api.post('v1/payouts', { json: { amount: 700 }, idempotencyKey: 'payout-live' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IdempotencyIntegrityError);
    expect(seen).toEqual(['start payout-live', 'damaged payout-live: its method, URL and body do not give its stored fingerprint']);
    expect(server.requests).toEqual([]);
    expect(rows(path)).toEqual([{ idempotencyKey: 'payout-live', state: 'pending', owner: null }]);
    await api.close();
  });

  it('a FormData is judged by its entries, read back from the stored multipart bytes: whole, it is resent; one byte of a value flipped, it is not', async () => {
    const form = () => {
      const data = new FormData();
      data.append('amount', '700');
      data.append('receipt', new File([new Uint8Array([0, 1, 2, 250])], 'receipt.bin', { type: 'application/octet-stream' }));
      return data;
    };
    const path = await freshDbPath();
    await leavePending(path, 'form-whole', { body: form() });
    await leavePending(path, 'form-damaged', { body: form() });
    withRawDatabase(path, (db) => {
      const { body } = db.prepare("SELECT body FROM intents WHERE idempotencyKey = 'form-damaged'").get() as { body: Uint8Array };
      flip(path, 'form-damaged', 'body', Buffer.from(body).indexOf('700'), 0x01);
    });

    const api = apiOn(path);
    const outcomes = await api.recover();
    expect(states(outcomes)).toEqual([['form-whole', 'succeeded'], ['form-damaged', 'skipped']]);
    expect(outcomes[1]?.error).toBeInstanceOf(IdempotencyIntegrityError);
    expect(server.requests.map((request) => request.headers['idempotency-key'])).toEqual(['form-whole']);
    await api.close();
  });

  it('a seeded batch of 120 single-byte corruptions of pending intents’ rows: none changes what is sent, each is reported', async () => {
    const random = seededRandom(20_260_115);
    // A real SQLite file on a tmpfs: the same file format and code, without a disk's fsync per write (some 1 000 writes here).
    const path = join(await smallDisk('64m'), 'intents.db');
    const api = apiOn(path);
    const keyOf = (i: number) => `batch-${String(i).padStart(3, '0')}-${Math.floor(random() * 2 ** 32).toString(16).padStart(8, '0')}`;
    // 120 intents to damage and 20 left whole, journaled as enqueue() journals them: pending, unowned.
    const damagedKeys = Array.from({ length: 120 }, (_, i) => keyOf(i));
    const wholeKeys = Array.from({ length: 20 }, (_, i) => keyOf(500 + i));
    const original = new Map<string, { path: string; body: string }>();
    for (const [i, key] of [...damagedKeys, ...wholeKeys].entries()) {
      const body = JSON.stringify({ amount: 100 + i, currency: 'eur', note: `payout ${i}` });
      await api.enqueue('POST', `v1/payouts/${i}?batch=7`, { body, headers: { 'content-type': 'application/json' }, idempotencyKey: key });
      original.set(key, { path: `/v1/payouts/${i}?batch=7`, body });
    }
    await api.close();
    const columns: Column[] = ['method', 'url', 'origin', 'id', 'idempotencyKey', 'body', 'fingerprint'];
    const hits = new Map<Column, number>();
    for (const key of damagedKeys) {
      const column = columns[Math.floor(random() * columns.length)]!;
      hits.set(column, (hits.get(column) ?? 0) + 1);
      flip(path, key, column, Math.floor(random() * 1000), 1 + Math.floor(random() * 255));
    }
    // Every column was hit many times.
    for (const column of columns) expect(hits.get(column), column).toBeGreaterThan(8);
    const keysNow = rows(path).map((row) => row.idempotencyKey);

    const seen: string[] = [];
    const recovering = apiOn(path, { on: listening(seen) });
    const outcomes = await recovering.recover({ concurrency: 8 });
    await recovering.close();

    // Zero sends of changed data: the server received exactly the 20 whole intents, each as it was journaled.
    const received = server.requests.map((request: RawRequest) => [request.headers['idempotency-key'], request.method, request.path, request.body.toString()]);
    expect(received.sort()).toEqual(wholeKeys.map((key) => [key, 'POST', original.get(key)!.path, original.get(key)!.body]).sort());
    // Each is reported: one outcome per row, the whole ones succeeded, every damaged one skipped with an error saying why.
    expect(outcomes.map((outcome) => outcome.idempotencyKey).sort()).toEqual([...keysNow].sort());
    const byKey = new Map(outcomes.map((outcome) => [outcome.idempotencyKey, outcome]));
    for (const key of wholeKeys) expect(byKey.get(key)?.state).toBe('succeeded');
    const reportedDamaged = outcomes.filter((outcome) => !wholeKeys.includes(outcome.idempotencyKey));
    expect(reportedDamaged).toHaveLength(120);
    for (const outcome of reportedDamaged) {
      expect(outcome.state).toBe('skipped');
      expect(outcome.error).toBeInstanceOf(IdempotencyError);
    }
    // All but the ones whose recorded origin changed (no longer this client's to claim) are integrity errors, said as events too.
    const integrity = reportedDamaged.filter((outcome) => outcome.error instanceof IdempotencyIntegrityError);
    expect(integrity).toHaveLength(120 - hits.get('origin')!);
    expect(seen.filter((line) => line.startsWith('damaged '))).toHaveLength(integrity.length);
    expect(rows(path).filter((row) => row.state === 'pending')).toHaveLength(120);
  }, 60_000);
});

describe('rows planted in the journal', () => {
  it('a URL with userinfo is damaged: never sent, and never shown — not in errors, events, pending() or the CLI', async () => {
    const path = await freshDbPath();
    const store: IntentStore = sqliteStore(path);
    const host = new URL(server.url).host;
    await store.create(await wholeIntent({ idempotencyKey: 'planted-userinfo', url: `http://planted_user:PLANTED_pass_93@${host}/v1/payouts` }));
    await store.close();

    const seen: unknown[] = [];
    const api = apiOn(path, { on: { damaged: (event) => void seen.push(event), recovery: (event) => void seen.push(event), start: (event) => void seen.push(event) } });
    const outcomes = await api.recover();
    expect(states(outcomes)).toEqual([['planted-userinfo', 'skipped']]);
    expect((outcomes[0]?.error as IdempotencyIntegrityError).reason).toMatch(/credentials \(user:password@\)/);
    expect(server.requests).toEqual([]);
    const pending = await api.pending();
    await api.close();
    const cli: string[] = [];
    expect(await main(['list', path, '--json'], (text) => cli.push(text), (text) => cli.push(text))).toBe(0);

    const everythingShown = JSON.stringify([outcomes, (outcomes[0]?.error as Error).message, seen, pending, cli]);
    expect(everythingShown).toContain(`http://${host}/v1/payouts`);
    expect(everythingShown).not.toMatch(/PLANTED_pass|planted_user/);
  });

  it('headers read back from a row never carry a credential nor override the client’s: a planted authorization is dropped', async () => {
    const path = await freshDbPath();
    const store: IntentStore = sqliteStore(path);
    await store.create(
      await wholeIntent({
        idempotencyKey: 'planted-headers',
        url: `${server.url}/v1/payouts`,
        headers: { 'content-type': 'application/json', authorization: 'Bearer PLANTED_token', 'x-api-key': 'PLANTED_key', 'x-tenant': 't1' },
      }),
    );
    await store.close();

    const api = apiOn(path);
    expect(states(await api.recover())).toEqual([['planted-headers', 'succeeded']]);
    await api.close();
    expect(server.requests).toHaveLength(1);
    const { headers } = server.requests[0]!;
    expect(headers).toMatchObject({ authorization: 'Bearer sk_ops', 'x-tenant': 't1', 'content-type': 'application/json', 'idempotency-key': 'planted-headers' });
    expect(headers).not.toHaveProperty('x-api-key');
  });
});
