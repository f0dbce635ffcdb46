import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClient, IdempotencyStoreError } from '../src/index.node.js';
import { sqliteStore } from '../src/node.js';
import { runFixture } from './support/processes.js';
import { useTestServer } from './support/test-server.js';

const server = useTestServer();

describe('in Node, with no store option', () => {
  it('journals to SQLite in .idempotency/intents.db: directory 0700, files 0600, no credential in them', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'durable-fetch-default-'));
    try {
      const run = runFixture('default-store.mjs', [server.url], { cwd });
      const { code, stderr } = await run.exited;
      expect(code, stderr).toBe(0);
      expect(JSON.parse(run.lines[0] ?? '{}')).toEqual({ status: 201, pending: 0 });

      const dir = join(cwd, '.idempotency');
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      const files = await readdir(dir);
      expect(files.length).toBeGreaterThan(0);
      expect(files).toContain('intents.db');
      for (const file of files) {
        expect((await stat(join(dir, file))).mode & 0o777).toBe(0o600);
        const text = await readFile(join(dir, file), 'latin1');
        expect(text).not.toContain('sk_default');
      }
      const journal = (await Promise.all(files.map((file) => readFile(join(dir, file), 'latin1')))).join('');
      expect(journal).toContain('default-store-1');
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});

describe('a journal directory that cannot be written', () => {
  it('stops the call with IdempotencyStoreError naming the directory, and nothing is sent', async () => {
    const work = await mkdtemp(join(tmpdir(), 'durable-fetch-unwritable-'));
    try {
      // A regular file where a parent directory should be: no permission bit, even for root, helps.
      await writeFile(join(work, 'not-a-dir'), 'x');
      const dir = join(work, 'not-a-dir', 'journal');
      const api = createClient({ prefix: server.url, store: sqliteStore(join(dir, 'intents.db')) });
      const error = await api.post('v1/payouts', { json: { amount: 1 }, idempotencyKey: 'never-sent' }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(IdempotencyStoreError);
      expect((error as Error).message).toMatch(/nothing was sent/);
      expect((error as Error).message).toContain(dir);
      expect(server.requests).toHaveLength(0);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
