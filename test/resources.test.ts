import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/index.node.js';
import { sqliteStore } from '../src/node.js';
import { runFixture } from './support/processes.js';
import { type RecordingServer, startRecordingServer } from './support/recording-server.js';
import { tempDir } from './support/sqlite.js';

let server: RecordingServer;
beforeAll(async () => {
  server = await startRecordingServer();
});
afterAll(() => server.close());

/** This process's open descriptors on the journal's files (database, WAL, shared memory). */
function journalDescriptors(dir: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
    } catch {
      return false;
    }
  }).length;
}

describe('resources stay bounded', () => {
  it('200 clients on one journal hold the descriptors one client does', async () => {
    const dir = await tempDir();
    const dbPath = join(dir, 'intents.db');
    const first = createClient({ prefix: server.url, store: sqliteStore(dbPath) });
    await first.post('v1/payouts', { json: { client: 0 } });
    const one = journalDescriptors(dir);
    expect(one).toBeGreaterThan(0);
    const clients = Array.from({ length: 200 }, () => createClient({ prefix: server.url, store: sqliteStore(dbPath) }));
    await Promise.all(clients.map((client, i) => client.post('v1/payouts', { json: { client: i + 1 } })));
    expect(journalDescriptors(dir)).toBe(one);
    await Promise.all([first, ...clients].map((client) => client.close()));
    expect(journalDescriptors(dir)).toBe(0);
  });

  it('40,000 calls: memory after warm-up does not grow with the settled intents kept', async () => {
    const dir = await tempDir();
    const run = runFixture('many-calls.ts', [server.url, join(dir, 'intents.db'), '40000', '10000'], { nodeArgs: ['--expose-gc', '--import', 'tsx'] });
    const { code, stderr } = await run.exited;
    expect(code, stderr).toBe(0);
    const column = (n: number) => run.lines.map((line) => Number(line.split(' ')[n]));
    const [rss, js] = [column(1), column(2)];
    expect(rss).toHaveLength(4);
    // From 20k calls to 40k, far less than the 20k settled intents would take if they were kept
    // in memory: over 40 MB (a 1 KB body and its 1 KB echo in the answer each). RSS moves with
    // the allocator and the machine's load; the JavaScript heap is where intents would pile up.
    const MB = 1024 * 1024;
    expect(rss[3]! - rss[1]!).toBeLessThan(32 * MB);
    expect(js[3]! - js[1]!).toBeLessThan(8 * MB);
  }, 300_000);
});
