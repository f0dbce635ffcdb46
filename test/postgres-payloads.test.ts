import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { createClient, IdempotencyError } from '../src/index.node.js';
import { postgresStore } from '../src/postgres.js';
import { freshTable, testPool } from './support/postgres-tables.js';
import { startRecordingServer } from './support/recording-server.js';

describe('an answer larger than the postgres store keeps', () => {
  it('settles the intent without it: the caller has it, a repeat of the key is refused, nothing is sent again', async () => {
    const server = await startRecordingServer();
    onTestFinished(() => server.close());
    const table = freshTable();
    const unstored: string[] = [];
    const api = createClient({
      prefix: server.url,
      store: postgresStore({ connectionString: inject('postgresUrl'), table, maxBodyBytes: 1024 }),
      on: { unstoredAnswer: (event) => unstored.push(event.reason) },
    });
    onTestFinished(() => api.close());
    // The server echoes the body inside its answer: a 1000-byte body fits, its answer does not.
    const note = 'x'.repeat(1000 - JSON.stringify({ note: '' }).length);
    const response = await api.post('v1/payouts', { json: { note }, idempotencyKey: 'big-answer' });
    expect(response.status).toBe(201);
    expect(((await response.json()) as { body: string }).body).toBe(JSON.stringify({ note }));
    await api.flush();
    expect(unstored).toEqual([expect.stringMatching(/^The stored answer body is \d{4} bytes; the postgres store keeps at most 1024 \(option maxBodyBytes\)\.$/)]);
    const db = testPool();
    expect((await db.query(`SELECT state, owner, response_status, response_body FROM "${table}"`)).rows).toEqual([
      { state: 'succeeded', owner: null, response_status: null, response_body: null },
    ]);
    const repeat = await api.post('v1/payouts', { json: { note }, idempotencyKey: 'big-answer' }).catch((error: unknown) => error);
    expect(repeat).toBeInstanceOf(IdempotencyError);
    expect((repeat as Error).message).toMatch(/settled as succeeded with no answer stored .*nothing was sent/);
    await expect(api.recover()).resolves.toEqual([]);
    expect(server.requests.map((request) => request.key)).toEqual(['big-answer']);
  });
});
