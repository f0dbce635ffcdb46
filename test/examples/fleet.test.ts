import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { startDemoApi } from '../../examples/demo-api/index.js';
import { runExample, type Watched } from './child.js';

const FLEET = 'examples/fleet/main.ts';
const PAYOUTS = 30;

/** A database of its own on the run's PostgreSQL: the example uses fixed table names. */
async function freshDatabase(): Promise<string> {
  const server = inject('postgresUrl');
  const name = `fleet_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.href;
}

describe('the fleet example: three workers and a relay on one PostgreSQL', () => {
  it('a worker killed mid-run: the others record and pay every payout exactly once', async () => {
    const database = await freshDatabase();
    // Faults on a third of first attempts: 503s, lost answers, 429s and slow answers.
    const api = await startDemoApi({ faultRate: 0.3, seed: 7 });
    onTestFinished(() => api.close());
    const setup = runExample(FLEET, ['setup', '--postgres', database, '--payouts', String(PAYOUTS)]);
    expect((await setup.exited).code).toBe(0);

    const members: Watched[] = [];
    onTestFinished(async () => {
      for (const member of members) member.child.kill('SIGKILL');
      await Promise.all(members.map((member) => member.exited));
    });
    for (const role of ['worker', 'worker', 'worker', 'relay']) members.push(runExample(FLEET, [role, '--postgres', database, '--api', api.url]));
    // The first worker dies right after recording its second payout, whatever it held in flight.
    const [victim] = members;
    await victim!.waitForLine(/payout \d+ recorded/);
    await victim!.waitForLine(/payout \d+ recorded/);
    victim!.child.kill('SIGKILL');
    expect((await victim!.exited).signal).toBe('SIGKILL');

    // The survivors empty the queue; their relays (and the dead worker's lease running out) finish the sending.
    await Promise.all(members.slice(1, 3).map((member) => member.waitForLine(/queue empty/)));
    const pool = new pg.Pool({ connectionString: database });
    onTestFinished(() => pool.end());
    await new Promise<void>((resolve) => {
      const look = setInterval(async () => {
        const { rows } = await pool.query("SELECT count(*)::int AS n FROM durable_fetch_intents WHERE state <> 'succeeded'");
        if (rows[0].n > 0) return;
        clearInterval(look);
        resolve();
      }, 200);
    });
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM payouts');
    expect(rows[0].n).toBe(PAYOUTS);
    for (let id = 1; id <= PAYOUTS; id++) expect(api.applied(`payout-${id}`), `payout-${id}`).toBe(1);
  }, 120_000);
});
