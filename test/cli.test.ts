import { execFile } from 'node:child_process';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { main } from '../src/cli/main.js';
import { openSqliteReadOnly, sqliteStore } from '../src/stores/sqlite.js';
import { requestFingerprint, webCryptoSha256 } from '../src/fingerprint.js';
import { intentId, type Intent } from '../src/stores/store.js';
import { redisStore } from '../src/stores/redis.js';
import { makeIntent, ORIGIN } from '../src/testing/intents.js';
import { freshStore, freshTable, testPool } from './support/postgres-tables.js';
import { freshKeyPrefix, useRedisServer } from './support/redis.js';
import { runFixture, untilLines } from './support/processes.js';
import { tempDir, withRawDatabase } from './support/sqlite.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The CLI in-process: the exit code and what it printed. */
async function cli(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, (text) => (stdout += `${text}\n`), (text) => (stderr += `${text}\n`));
  return { code, stdout, stderr };
}

// The bin from source, so it never runs a stale dist/; tsx by absolute URL, as cwd may be anywhere.
const BIN = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
function bin(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', TSX, BIN, ...args], { cwd }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

/** An intent `ageMs` old; the key's TTL is a day unless the overrides say otherwise. */
function aged(ageMs: number, overrides: Partial<Intent> = {}): Intent {
  const createdAt = Date.now() - ageMs;
  return makeIntent({ createdAt, updatedAt: createdAt, expiresAt: createdAt + 24 * HOUR, ...overrides });
}

/** `intent` with the id and fingerprint a call would have given it: whole, as the integrity check sees it. */
async function whole(intent: Intent): Promise<Intent> {
  const url = new URL(intent.url);
  return { ...intent, id: intentId(intent.idempotencyKey, intent.method, url), fingerprint: await requestFingerprint(intent.method, url, { bytes: intent.body }, webCryptoSha256) };
}

/**
 * A journal at <fresh dir>/.idempotency/intents.db holding `intents` (made whole), written by the
 * real store and closed, then aged: the store times what it writes by its own clock, so each
 * intent's times are set afterwards, as a journal written that long ago would hold them.
 */
async function journal(given: Intent[]): Promise<{ work: string; dir: string; path: string }> {
  const work = await tempDir();
  const dir = join(work, '.idempotency');
  const path = join(dir, 'intents.db');
  const store = sqliteStore(path);
  const intents = await Promise.all(given.map(whole));
  for (const intent of intents) await store.create(intent);
  await store.close();
  withRawDatabase(path, (db) => {
    const age = db.prepare('UPDATE intents SET createdAt = ?, updatedAt = ?, expiresAt = ?, leaseUntil = ? WHERE scope = ? AND id = ?');
    for (const { createdAt, updatedAt, expiresAt, leaseUntil, scope, id } of intents) age.run(createdAt, updatedAt, expiresAt, leaseUntil, scope, id);
  });
  return { work, dir, path };
}

/** Four intents, one per state, with credentials in two URLs. */
function payouts(): Intent[] {
  return [
    aged(30 * HOUR, { idempotencyKey: 'payout-expired', state: 'expired', attempts: 3, expiresAt: Date.now() - 6 * HOUR,
      url: 'https://api.example.test/payouts?api_key=sk_live_SECRET1&n=1' }),
    aged(3 * HOUR, { idempotencyKey: 'payout-ok', state: 'succeeded', attempts: 1 }),
    aged(2 * MINUTE, { idempotencyKey: 'payout-working', attempts: 2, owner: 'client-1', leaseUntil: Date.now() + 10 * MINUTE,
      url: 'https://api.example.test/payouts?token=tok_SECRET2', scope: 'tenant-b' }),
    // Mid-minute: the age printed stays "1m" for 30 s, however slowly the CLI starts on a busy machine.
    aged(90_000, { idempotencyKey: 'payout-refused', state: 'failed', attempts: 1 }),
  ];
}

/** Size and mtime of each file: what a reader that writes nothing leaves as it found. */
async function fingerprint(dir: string, files: string[]) {
  return Promise.all(files.map(async (file) => {
    const info = await stat(join(dir, file), { bigint: true });
    return `${file} ${info.size} ${info.mtimeNs}`;
  }));
}

describe('durable-fetch list', () => {
  it('shows state, age, method, masked URL, attempts, lease, key TTL, scope and key, oldest first', async () => {
    const { dir } = await journal(payouts());
    const { code, stdout, stderr } = await cli('list', dir);
    expect([code, stderr]).toEqual([0, '']);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^STATE\s+AGE\s+METHOD\s+URL\s+ATTEMPTS\s+LEASE\s+KEY TTL\s+SCOPE\s+KEY$/);
    expect(lines[1]).toMatch(/^expired\s+1d6h\s+POST\s+https:\/\/api\.example\.test\/payouts\?api_key=\*\*\*&n=1\s+3\s+free\s+outlived\s+tenant-a\s+payout-expired$/);
    expect(lines[2]).toMatch(/^succeeded\s+3h00m\s+POST\s+\S+\s+1\s+free\s+live\s+tenant-a\s+payout-ok$/);
    expect(lines[3]).toMatch(/^pending\s+2m\s+POST\s+https:\/\/api\.example\.test\/payouts\?token=\*\*\*\s+2\s+held (9|10)m\s+live\s+tenant-b\s+payout-working$/);
    expect(lines[4]).toMatch(/^failed\s+1m\s+POST\s+\S+\s+1\s+free\s+live\s+tenant-a\s+payout-refused$/);
    expect(lines.slice(5)).toEqual(['', '4 intent(s), 1 pending, 1 expired.']);
  });

  it('shows a lease whose owner stopped renewing it as free', async () => {
    const { path } = await journal([aged(MINUTE, { idempotencyKey: 'orphan', owner: 'dead-client', leaseUntil: Date.now() - 1000 })]);
    const { stdout } = await cli('list', path);
    expect(stdout).toMatch(/pending\s+1m\s+POST\s+\S+\s+0\s+free\s+live\s+tenant-a\s+orphan/);
  });

  it('says so when the journal is empty', async () => {
    const { path } = await journal([]);
    expect(await cli('list', path)).toEqual({ code: 0, stdout: 'No intents in this journal.\n', stderr: '' });
  });

  it('--state keeps only the states asked for, repeated or as a comma list', async () => {
    const { path } = await journal(payouts());
    const keys = async (...args: string[]) => (JSON.parse((await cli('list', path, '--json', ...args)).stdout) as Array<{ idempotencyKey: string }>).map((row) => row.idempotencyKey);
    expect(await keys('--state', 'pending')).toEqual(['payout-working']);
    expect(await keys('--state', 'pending,expired')).toEqual(['payout-expired', 'payout-working']);
    expect(await keys('--state', 'failed', '--state', 'succeeded')).toEqual(['payout-ok', 'payout-refused']);
    expect(await keys()).toHaveLength(4);
  });

  it('--json gives scripts every field they need, and no body, header or stored answer', async () => {
    const { path } = await journal(payouts());
    const { code, stdout } = await cli('list', path, '--json', '--state', 'pending');
    expect(code).toBe(0);
    const rows = JSON.parse(stdout) as Array<Record<string, unknown>>;
    expect(rows).toEqual([
      {
        scope: 'tenant-b',
        idempotencyKey: 'payout-working',
        state: 'pending',
        method: 'POST',
        url: 'https://api.example.test/payouts?token=***',
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
        ageMs: expect.any(Number),
        attempts: 2,
        owner: 'client-1',
        leaseHeld: true,
        leaseRemainingMs: expect.any(Number),
        parkedForMs: 0,
        expiresAt: expect.stringMatching(/Z$/),
        keyExpired: false,
        damaged: null,
      },
    ]);
    expect(rows[0]?.leaseRemainingMs).toBeGreaterThan(9 * MINUTE);
    const all = (await cli('list', path, '--json')).stdout;
    expect(all).not.toMatch(/payout"|content-type|fingerprint/);
  });

  it('never prints a credential: query values are masked and userinfo is dropped', async () => {
    const { path } = await journal([
      ...payouts(),
      aged(MINUTE, { idempotencyKey: 'with-userinfo', url: 'https://user:pa55word@api.example.test/payouts?Signature=SECRET3' }),
    ]);
    for (const args of [[], ['--json']]) {
      const { code, stdout } = await cli('list', path, ...args);
      expect(code).toBe(0);
      expect(stdout).toContain('https://api.example.test/payouts?Signature=***');
      // "user:" as the planted userinfo; the damage note names the form "(user:password@)" in words.
      expect(stdout).not.toMatch(/SECRET|pa55word|user:pa55/);
    }
  });
});

describe('damaged intents', () => {
  /** Flips the bits of `mask` in byte `at` of the body of the intent of `key`, as a bad disk or restore would. */
  function flipBody(path: string, key: string, at: number, mask: number): void {
    withRawDatabase(path, (db) => {
      const row = db.prepare('SELECT rowid AS row, body FROM intents WHERE idempotencyKey = ?').get(key) as { row: number; body: Uint8Array };
      const body = Buffer.from(row.body);
      body[at]! ^= mask;
      db.prepare('UPDATE intents SET body = ? WHERE rowid = ?').run(body, row.row);
    });
  }

  it('marks an intent whose body no longer gives its fingerprint, by the client’s own check, in the table and in --json', async () => {
    const { path, dir } = await journal(payouts());
    flipBody(path, 'payout-working', 0, 0x01);
    const before = await fingerprint(dir, ['intents.db']);

    const { code, stdout, stderr } = await cli('list', path);
    expect([code, stderr]).toEqual([0, '']);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[3]).toMatch(/^pending \(damaged\)\s+2m\s+POST\s+\S+\s+2\s+held (9|10)m\s+live\s+tenant-b\s+payout-working$/);
    for (const line of [lines[1], lines[2], lines[4]]) expect(line).not.toContain('damaged');
    expect(lines.slice(5)).toEqual([
      '',
      '4 intent(s), 1 pending, 1 expired, 1 damaged.',
      '',
      'Damaged in the journal: nothing of these is sent again. Check with the API whether each ran, then settle it',
      'with resolve(), or restore the journal from a backup.',
      '  tenant-b payout-working: its method, URL and body do not give its stored fingerprint',
    ]);

    const rows = JSON.parse((await cli('list', path, '--json')).stdout) as Array<{ idempotencyKey: string; damaged: string | null }>;
    expect(rows.map((row) => [row.idempotencyKey, row.damaged])).toEqual([
      ['payout-expired', null],
      ['payout-ok', null],
      ['payout-working', 'its method, URL and body do not give its stored fingerprint'],
      ['payout-refused', null],
    ]);
    // Read, never written: the file is as it was, and no body is shown.
    expect(await fingerprint(dir, ['intents.db'])).toEqual(before);
    expect(await readdir(dir)).toEqual(['intents.db']);
    expect(stdout).not.toContain('payout"');
  });

  it('marks what the summary alone shows too (a URL with userinfo), and a whole journal not at all', async () => {
    const { path } = await journal([aged(MINUTE, { idempotencyKey: 'planted', url: 'https://someone:pw@api.example.test/payouts' }), aged(MINUTE, { idempotencyKey: 'fine' })]);
    const rows = JSON.parse((await cli('list', path, '--json')).stdout) as Array<{ idempotencyKey: string; damaged: string | null }>;
    expect(rows.map((row) => [row.idempotencyKey, row.damaged])).toEqual([
      ['planted', 'its URL carries credentials (user:password@), which the client never journals'],
      ['fine', null],
    ]);
  });
});

describe('reading without writing', () => {
  it('leaves a closed journal exactly as it was: same size and mtime, no -wal or -shm created', async () => {
    const { dir } = await journal(payouts());
    const before = await fingerprint(dir, ['intents.db']);
    expect((await cli('list', dir)).code).toBe(0);
    expect(await readdir(dir)).toEqual(['intents.db']);
    expect(await fingerprint(dir, ['intents.db'])).toEqual(before);
  });

  it('leaves an open journal’s database and -wal as they were', async () => {
    const { dir, path } = await journal([]);
    const store = sqliteStore(path);
    onTestFinished(() => store.close());
    for (const intent of payouts()) await store.create(intent);
    const files = ['intents.db', 'intents.db-wal'];
    const before = await fingerprint(dir, files);
    const { code, stdout } = await cli('list', dir);
    expect(code).toBe(0);
    expect(stdout).toContain('4 intent(s)');
    expect(await fingerprint(dir, files)).toEqual(before);
    expect((await readdir(dir)).sort()).toEqual(['intents.db', 'intents.db-shm', 'intents.db-wal']);
  });

  it('creates nothing when the path is missing', async () => {
    const work = await tempDir();
    expect((await cli('list', join(work, 'intents.db'))).code).toBe(2);
    expect((await cli('list', join(work, '.idempotency'))).code).toBe(2);
    expect((await cli('list', join(work, 'not', 'there', 'intents.db'))).code).toBe(2);
    expect(await readdir(work)).toEqual([]);
  });

  it('sees what a writer committed after the reader opened a journal nobody had open', async () => {
    const { path } = await journal([aged(MINUTE, { idempotencyKey: 'before' })]);
    const reader = openSqliteReadOnly(path);
    onTestFinished(() => reader.close());
    const store = sqliteStore(path);
    onTestFinished(() => store.close());
    await store.create(aged(0, { idempotencyKey: 'after' }));
    expect(reader.list().map((intent) => intent.idempotencyKey)).toEqual(['before', 'after']);
  });

  it('lists while another process holds the journal open and keeps writing, and never stops it', async () => {
    const { path } = await journal([aged(HOUR, { idempotencyKey: 'older' })]);
    const writer = runFixture('sqlite-writer.ts', [path, 'forever'], { nodeArgs: ['--import', 'tsx'] });
    onTestFinished(() => void writer.child.kill('SIGKILL'));
    await untilLines(writer, 20);
    for (let round = 0; round < 5; round++) {
      const committed = writer.lines.length;
      const { code, stdout, stderr } = await cli('list', path, '--json');
      expect([code, stderr]).toEqual([0, '']);
      const rows = JSON.parse(stdout) as Array<{ scope: string; idempotencyKey: string }>;
      // Every create the writer reported before the read is listed, beside what was there before.
      expect(rows.filter((row) => row.scope.startsWith('writer-')).length).toBeGreaterThanOrEqual(committed);
      expect(rows.map((row) => row.idempotencyKey)).toContain('older');
    }
    const seen = writer.lines.length;
    await untilLines(writer, seen + 20);
  });
});

describe('errors, in one line', () => {
  it('names the missing path, exit 2', async () => {
    const work = await tempDir();
    const missing = await cli('list', join(work, 'nope.db'));
    expect(missing).toEqual({ code: 2, stdout: '', stderr: `durable-fetch: no journal at ${join(work, 'nope.db')}: no such file or directory\n` });
    await mkdir(join(work, 'empty'));
    expect((await cli('list', join(work, 'empty'))).stderr).toBe(`durable-fetch: no journal in ${join(work, 'empty')}: it holds no intents.db\n`);
  });

  it('refuses a journal from a newer version, saying to upgrade, exit 1', async () => {
    const { path } = await journal(payouts());
    withRawDatabase(path, (db) => db.exec('PRAGMA user_version = 3'));
    const { code, stdout, stderr } = await cli('list', path);
    expect([code, stdout]).toEqual([1, '']);
    expect(stderr).toMatch(/^durable-fetch: Cannot read the intent store at .*intents\.db: .*schema version 3, written by a newer durable-fetch.*Upgrade durable-fetch/);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('refuses a file that is not a journal, exit 1', async () => {
    const work = await tempDir();
    await writeFile(join(work, 'notes.txt'), 'not a database, just long enough to have a header '.repeat(4));
    const { code, stderr } = await cli('list', join(work, 'notes.txt'));
    expect(code).toBe(1);
    expect(stderr).toMatch(/^durable-fetch: Cannot read the intent store at .*notes\.txt: .+\n$/);
  });

  it('explains its usage for --help, an unknown command, a bad --state or two journals, exit 2', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: durable-fetch list \[path\] \[--json\] \[--state S\]/);
    for (const [args, message] of [
      [['lsit'], 'unknown command "lsit"'],
      [[], 'a command is needed'],
      [['list', '--state', 'done'], '--state must be pending, succeeded, failed or expired, not "done"'],
      [['list', 'a.db', 'b.db'], 'list reads one journal'],
      [['list', '--bogus'], "Unknown option '--bogus'"],
      [['migrate', '--postgres', 'postgres://x', '--table', 'a'.repeat(56)], `--table must be 1 to 55 bytes, got "${'a'.repeat(56)}"`],
      [['list', '--postgres', 'postgres://x', '--schema', 's'.repeat(40), '--table', 't'.repeat(40)], '--schema with --table: "sss'],
    ] as const) {
      const { code, stdout, stderr } = await cli(...args);
      expect([code, stdout]).toEqual([2, '']);
      expect(stderr).toContain(`durable-fetch: ${message}`);
      expect(stderr).toContain('\n\nUsage: durable-fetch list');
    }
  });

  it('a URL given as a path, or a fleet store it cannot reach, is refused without echoing the URL or its password', async () => {
    for (const [args, code] of [
      [['list', 'postgres://app:hunter2@db.internal/app'], 2],
      [['list', '--postgres', 'postgres://app:hunter2@127.0.0.1:1/app'], 1],
      [['list', '--redis', 'redis://:hunter2@127.0.0.1:1'], 1],
    ] as const) {
      const { code: exit, stderr } = await cli(...args);
      expect(exit).toBe(code);
      expect(stderr).toMatch(/looks like a connection URL|cannot connect|cannot read/);
      expect(stderr).not.toContain('hunter2');
    }
  });

  it.each([
    ['--redis', 'redis//:hunter2@db.internal', /--redis URL is not a URL \(redis:\/\/\[\[user\]:password@\]host/],
    ['--redis', 'redis://:hunter2%zz@db.internal', /--redis URL has a user or password that is not valid percent-encoding/],
    ['--redis', 'http://:hunter2@db.internal', /--redis URL has the scheme http:, not redis: or rediss:/],
    ['--redis', 'redis://:hunter2@db.internal/app', /--redis URL has a path that is no database number/],
    ['--postgres', 'postgres://app:hunter2@db.internal:port/app', /--postgres URL is not a URL pg can read/],
    ['--postgres', 'postgres//app:hunter2@db.internal/app', /--postgres URL is not a URL .* nor a socket path/],
  ])('a malformed %s URL (%s) is one line naming what is wrong, without the URL, exit 2', async (option, url, message) => {
    const { code, stdout, stderr } = await cli('list', option, url);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/hunter2|db\.internal/);
  });

  it('an unreachable fleet store is named by its URL without the password, exit 1', async () => {
    for (const [option, url, shown] of [
      ['--postgres', 'postgres://app:hunter2@127.0.0.1:1/app?sslpassword=hunter3', 'cannot connect to PostgreSQL at postgres://127.0.0.1:1/app?sslpassword=***:'],
      ['--redis', 'redis://app:hunter2@127.0.0.1:1', 'cannot read the Redis journal at redis://127.0.0.1:1:'],
    ] as const) {
      const { code, stderr } = await cli('list', option, url);
      expect(code).toBe(1);
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(stderr).toContain(shown);
      expect(stderr).not.toMatch(/hunter|app@/);
    }
  });

  it('the bin says it in one line too, with no stack trace', async () => {
    const work = await tempDir();
    for (const [option, url] of [['--redis', 'redis//:hunter2@x'], ['--postgres', 'postgres://app:hunter2@x:port/app']]) {
      const { code, stdout, stderr } = await bin(['list', option!, url!], work);
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(stderr).toMatch(/^durable-fetch: --(redis|postgres) URL /);
      expect(stderr).not.toMatch(/hunter2|node:internal/);
    }
  });
});

describe('the fleet stores’ journals', () => {
  const redis = useRedisServer();

  it('list --postgres reads a postgresStore table, masked and read-only', async () => {
    const store = freshStore();
    await store.create(makeIntent({ scope: 'default', url: `${ORIGIN}/payouts?api_key=sk_live_1`, idempotencyKey: 'pg-1' }));
    const { code, stdout } = await cli('list', '--postgres', inject('postgresUrl'), '--table', store.table, '--json');
    expect(code).toBe(0);
    const rows = JSON.parse(stdout) as Array<{ idempotencyKey: string; url: string; state: string }>;
    expect(rows.map(({ idempotencyKey, state, url }) => [idempotencyKey, state, url])).toEqual([['pg-1', 'pending', `${ORIGIN}/payouts?api_key=***`]]);
    await store.close();
  });

  it('list --postgres names a missing table and creates nothing', async () => {
    const table = freshTable();
    const { code, stderr } = await cli('list', '--postgres', inject('postgresUrl'), '--table', table);
    expect(code).toBe(2);
    expect(stderr).toMatch(/no journal table .* migrate --postgres URL prints its DDL/);
    const pool = testPool();
    expect((await pool.query('SELECT to_regclass($1) AS found', [table])).rows[0].found).toBeNull();
  });

  it('list --redis reads a redisStore journal', async () => {
    const keyPrefix = freshKeyPrefix();
    const store = redisStore({ url: redis().url, keyPrefix });
    await store.create(makeIntent({ scope: 'default', idempotencyKey: 'redis-1' }));
    const { code, stdout } = await cli('list', '--redis', redis().url, '--key-prefix', keyPrefix, '--json');
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as Array<{ idempotencyKey: string }>).map((row) => row.idempotencyKey)).toEqual(['redis-1']);
    await store.close();
  });

  it('migrate --postgres prints DDL that creates a working table', async () => {
    const table = freshTable();
    const { code, stdout } = await cli('migrate', '--postgres', inject('postgresUrl'), '--table', table);
    expect(code).toBe(0);
    expect(stdout).toMatch(/CREATE TABLE/);
    await testPool().query(stdout);
    const { code: listed, stdout: empty } = await cli('list', '--postgres', inject('postgresUrl'), '--table', table, '--json');
    expect([listed, JSON.parse(empty)]).toEqual([0, []]);
  });
});

describe('the bin', () => {
  it('reads .idempotency/intents.db in the working directory and prints the table', async () => {
    const { work } = await journal(payouts());
    const { code, stdout, stderr } = await bin(['list'], work);
    expect([code, stderr]).toEqual([0, '']);
    expect(stdout).toMatch(/^STATE\s+AGE/);
    expect(stdout).toContain('4 intent(s), 1 pending, 1 expired.');
    expect(await readdir(join(work, '.idempotency'))).toEqual(['intents.db']);
  });

  it('exits 2 with the usage for an unknown command', async () => {
    const { code, stderr } = await bin(['lsit'], await tempDir());
    expect(code).toBe(2);
    expect(stderr).toMatch(/^durable-fetch: unknown command "lsit"\n\nUsage:/);
  });
});
