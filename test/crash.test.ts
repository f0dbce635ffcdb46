import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { faultOnFirstAttempts, seededRandom } from '../support/server/faults.js';
import { startTestServer } from '../support/server/index.js';
import type { TestServer } from '../support/server/types.js';
import { runFixture } from './support/processes.js';

// These run the built package (dist/), as users do: `npm test` builds before it tests.
let server: TestServer;
let workdir: string;
beforeAll(async () => {
  server = await startTestServer({ dialect: 'seed004' });
  workdir = await mkdtemp(join(tmpdir(), 'durable-fetch-crash-'));
});
beforeEach(() => {
  server.reset();
  server.setFaults(undefined);
});
afterAll(async () => {
  await server.close();
  await rm(workdir, { recursive: true, force: true });
});

const PAYOUTS = 10;
const TRIALS = 20;

describe('a payout script killed with SIGKILL at random moments and simply run again', () => {
  it(`applies every payout exactly once (${TRIALS} trials of ${PAYOUTS} payouts)`, async () => {
    const random = seededRandom(20261126);
    let kills = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      server.reset();
      // Lost answers, 5xx and slow answers keep windows open where a kill hurts most.
      server.setFaults(
        faultOnFirstAttempts([{ kind: 'drop-after' }, { kind: 'status', status: 503 }, { kind: 'slow', ms: 150 }], trial, { probability: 0.4 }),
      );
      const dir = join(workdir, `trial-${trial}`);
      let finished = false;
      for (let run = 0; run < 12 && !finished; run++) {
        const script = runFixture('payout-script.mjs', [server.url, dir, String(PAYOUTS)]);
        const killOn = random();
        if (run < 3) {
          if (killOn < 0.5) {
            // Kill as the server receives a chosen request: the answer is then always lost.
            const target = server.requests.length + 1 + Math.floor(random() * 6);
            // A target past the run's last request is never reached: its waiter is dropped when the server closes.
            server.waitForRequests(target).then(() => script.child.kill('SIGKILL'), () => {});
          } else {
            // Kill at an arbitrary instant: inside a journal write, between payouts, anywhere.
            const timer = setTimeout(() => script.child.kill('SIGKILL'), Math.floor(random() * 400));
            void script.exited.then(() => clearTimeout(timer));
          }
        }
        const { code, signal, stderr } = await script.exited;
        if (signal === 'SIGKILL') kills++;
        else expect(stderr, stderr).toBe('');
        finished = code === 0 && script.lines.includes('done');
      }
      expect(finished, `trial ${trial} never completed`).toBe(true);
      await server.idle();
      for (let id = 1; id <= PAYOUTS; id++) expect(server.applied(`payout-${id}`), `trial ${trial}, payout ${id}`).toBe(1);
      expect(server.requests.every((request) => request.key?.startsWith('payout-'))).toBe(true);
    }
    expect(kills).toBeGreaterThanOrEqual(TRIALS);
  }, 180_000);
});

describe('a process killed after the server applied an auto-keyed request, before the answer', () => {
  it('is finished by a new process’s recover() with the same key, as the server’s replay', async () => {
    const dir = join(workdir, 'recover');
    // Applied at once, answered only after a second: the kill lands in between. Until then the
    // server reports the key in flight, and the recovering process retries through that.
    server.setFaults((request) => (request.attempt === 1 ? { kind: 'slow', ms: 1_000 } : undefined));
    const first = runFixture('recover-script.mjs', [server.url, dir, 'send']);
    const arrived = await server.waitForRequests(1);
    expect(server.applied(arrived.key ?? '')).toBe(1);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(first.lines).not.toContain('answered');

    const second = runFixture('recover-script.mjs', [server.url, dir, 'recover']);
    const { code, stderr } = await second.exited;
    expect(code, stderr).toBe(0);
    const report = JSON.parse(second.lines[0] ?? '{}') as {
      outcomes: Array<{ idempotencyKey: string; state: string; replayed: boolean; body: { received: unknown } }>;
      again: unknown[];
    };
    expect(report.outcomes).toHaveLength(1);
    expect(report.outcomes[0]).toMatchObject({ idempotencyKey: arrived.key, state: 'succeeded', replayed: true, body: { received: { amount: 4200 } } });
    expect(report.again).toEqual([]);
    expect(server.requests.length).toBeGreaterThanOrEqual(2);
    expect(server.requests.every((request) => request.key === arrived.key)).toBe(true);
    expect(server.applied(arrived.key ?? '')).toBe(1);
  });
});
