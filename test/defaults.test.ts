import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runFixture } from './support/processes.js';
import { useTestServer } from './support/test-server.js';

const server = useTestServer();

describe('in Node, with no store option', () => {
  it('journals to a file journal in .idempotency: 0700, its files 0600, no credential in them', async () => {
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
      for (const file of files) {
        expect((await stat(join(dir, file))).mode & 0o777).toBe(0o600);
        const text = await readFile(join(dir, file), 'utf8');
        expect(text).not.toContain('sk_default');
      }
      const journal = (await Promise.all(files.map((file) => readFile(join(dir, file), 'utf8')))).join('');
      expect(journal).toContain('default-store-1');
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
