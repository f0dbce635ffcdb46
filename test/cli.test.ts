import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Intent } from '../src/index.js';
import { fileStore } from '../src/node.js';

// The bin as shipped: `npm test` builds dist/ first.
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = async (...args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
};

const HOUR = 60 * 60 * 1000;
function intent(key: string, state: Intent['state'], ageMs: number, ttlMs = 24 * HOUR): Intent {
  const createdAt = Date.now() - ageMs;
  return {
    scope: 'https://api.example.com',
    idempotencyKey: key,
    method: 'POST',
    url: `https://api.example.com/v1/payouts`,
    headers: { 'content-type': 'application/json' },
    body: btoa('{"amount":1}'),
    fingerprint: 'f'.repeat(64),
    createdAt,
    updatedAt: createdAt,
    expiresAt: createdAt + ttlMs,
    attempts: state === 'pending' ? 0 : 1,
    state,
  };
}

let dir: string;
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'durable-fetch-cli-'));
  dir = join(work, '.idempotency');
  const store = fileStore(dir, { autoCompact: false });
  await store.put(intent('payout-1', 'succeeded', 3 * HOUR));
  await store.put(intent('payout-2', 'pending', 2 * 60 * 1000));
  await store.put(intent('payout-3', 'pending', 30 * HOUR));
  await store.put(intent('payout-4', 'failed', 10_000));
  await store.close();
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('npx durable-fetch list', () => {
  it('shows each intent’s state, age, method, URL, attempts and whether its key outlived its TTL, oldest first', async () => {
    const { code, stdout } = await run('list', dir);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^STATE\s+AGE\s+METHOD\s+URL\s+ATTEMPTS\s+KEY TTL\s+KEY$/);
    expect(lines[1]).toMatch(/^pending\s+1d6h\s+POST\s+https:\/\/api\.example\.com\/v1\/payouts\s+0\s+outlived\s+payout-3$/);
    expect(lines[2]).toMatch(/^succeeded\s+3h00m\s+POST .* 1\s+live\s+payout-1$/);
    expect(lines[3]).toMatch(/^pending\s+2m\s+.* live\s+payout-2$/);
    expect(lines[4]).toMatch(/^failed\s+10s\s+.* live\s+payout-4$/);
    expect(lines.at(-1)).toBe('4 intent(s), 2 pending.');
  });

  it('--json gives scripts every field', async () => {
    const { code, stdout } = await run('list', dir, '--json', '--state', 'pending');
    expect(code).toBe(0);
    const rows = JSON.parse(stdout) as Array<Record<string, unknown>>;
    expect(rows.map((row) => [row.idempotencyKey, row.keyExpired])).toEqual([['payout-3', true], ['payout-2', false]]);
    expect(rows[0]).toMatchObject({ scope: 'https://api.example.com', method: 'POST', attempts: 0, state: 'pending', createdAt: expect.any(String), ageMs: expect.any(Number) });
    expect(JSON.stringify(rows)).not.toContain('amount');
  });

  it('reads without writing: the journal directory is unchanged', async () => {
    const before = (await readdir(dir)).sort();
    await run('list', dir);
    expect((await readdir(dir)).sort()).toEqual(before);
  });

  it('defaults to .idempotency in the current directory', async () => {
    const { code, stdout } = await promisify(execFile)(process.execPath, [CLI, 'list'], { cwd: work }).then(
      (result) => ({ code: 0, ...result }),
    );
    expect(code).toBe(0);
    expect(stdout).toContain('4 intent(s), 2 pending.');
  });

  it('says clearly when the directory is missing or not a directory', async () => {
    const missing = await run('list', join(work, 'nope'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no journal at .*nope: the directory does not exist/);
    const file = join(work, 'a-file');
    await writeFile(file, 'x');
    const notDir = await run('list', file);
    expect(notDir.code).toBe(1);
    expect(notDir.stderr).toMatch(/a-file is not a directory/);
  });

  it('explains its usage for a wrong command', async () => {
    const wrong = await run('lsit');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/unknown command.*\n\nUsage: durable-fetch list/s);
    expect((await run('--help')).stdout).toMatch(/^Usage: durable-fetch list/);
    expect((await run('list', dir, '--state', 'weird')).code).toBe(2);
  });
});
