import { describe, expect, inject, it } from 'vitest';
import { createClient } from '../src/index.node.js';
import { postgresStore } from '../src/postgres.js';
import { seededRandom } from '../src/testing.js';
import { freshTable } from './support/postgres-tables.js';
import { type Run, runFixture, untilLines } from './support/processes.js';
import { startRecordingServer } from './support/recording-server.js';

const TSX = ['--import', 'tsx'];
const PAYOUTS = 200;

describe('a fleet on one PostgreSQL: 4 workers writing payouts in transactions, and a relay', () => {
  it('killed at random and restarted: every committed payout is paid once, no rolled-back one ever, never two senders at once', async () => {
    const pgUrl = inject('postgresUrl');
    const table = freshTable();
    const random = seededRandom(2026);
    const server = await startRecordingServer({ dedupe: true, hold: () => Math.floor(random() * 40) });
    const members = new Map<string, { args: string[]; run: Run }>();
    const start = (name: string, args: string[]) => {
      const run = runFixture('fleet-member.ts', [pgUrl, table, server.url, ...args], { nodeArgs: TSX });
      members.set(name, { args, run });
      return run;
    };
    const quarter = PAYOUTS / 4;
    for (let w = 0; w < 4; w++) start(`worker-${w}`, ['worker', String(w * quarter), String((w + 1) * quarter - 1)]);
    start('relay', ['relay']);
    await Promise.all([...members.values()].map(({ run }) => untilLines(run, 1)));

    let kills = 0;
    for (let round = 0; round < 6; round++) {
      // Kill one member at a random instant (a crash is not polite), and start it again.
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 400)));
      const names = [...members.keys()];
      const name = names[Math.floor(random() * names.length)]!;
      const { args, run } = members.get(name)!;
      run.child.kill('SIGKILL');
      await run.exited;
      kills++;
      await untilLines(start(name, args), 1);
    }
    // Every worker wrote all its payouts (a restarted one finishes its range).
    await Promise.all([...members.entries()].filter(([name]) => name.startsWith('worker')).map(([, { run }]) => untilLines(run, 2)));

    // The survivors drain the outbox: wait until nothing is pending, through a client of our own.
    const watcher = createClient({ prefix: server.url, store: postgresStore({ connectionString: pgUrl, table }) });
    await new Promise<void>((resolve, reject) => {
      const look = setInterval(async () => {
        try {
          if ((await watcher.pending()).length > 0) return;
          clearInterval(look);
          resolve();
        } catch (error) {
          clearInterval(look);
          reject(error);
        }
      }, 100);
    });
    for (const { run } of members.values()) run.child.kill('SIGKILL');
    await Promise.all([...members.values()].map(({ run }) => run.exited));
    await watcher.close();
    await server.idle();

    expect(kills).toBe(6);
    for (let id = 0; id < PAYOUTS; id++) expect(server.applied(`payout-${id}`), `payout-${id}`).toBe(id % 2 === 0 ? 1 : 0);
    expect(server.requests.filter((request) => Number(request.key.split('-')[1]) % 2 === 1)).toEqual([]);
    expect(server.overlapping()).toEqual([]);
    await server.close();
  }, 180_000);
});
