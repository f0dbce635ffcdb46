import { describe, expect, it } from 'vitest';
import { createClient, memoryStore, type DurableEvents, type IntentStore } from '../src/index.js';
import { useTestServer } from './support/test-server.js';

const server = useTestServer();

/** A listener set that writes one line per event, as an app's logger would. */
function logger(lines: string[]): DurableEvents {
  return {
    attempt: (event) => lines.push(`attempt ${event.attempt} ${event.method} ${new URL(event.url).pathname} ${event.idempotencyKey}`),
    retry: (event) => lines.push(`retry ${event.attempt} after ${event.delay} ms: ${event.reason}`),
    replay: (event) => lines.push(`replay ${event.status}`),
    journalAnswer: (event) => lines.push(`journal ${event.state}`),
    recovery: (event) => lines.push(`recovered ${event.idempotencyKey}: ${event.state}`),
  };
}

const clientOn = (lines: string[], store: IntentStore = memoryStore(), limit = 4) =>
  createClient({ prefix: server.url, store, timeout: 300, retry: { limit, delay: () => 7 }, on: logger(lines) });

describe('events for logs, counters and traces', () => {
  it('report each attempt and each retry with its delay and reason, and the replay that ended it', async () => {
    const faults = [{ kind: 'status', status: 503 }, { kind: 'rate-limit', retryAfter: '0' }, { kind: 'drop-before' }, { kind: 'drop-after' }] as const;
    server.setFaults((request) => faults[request.attempt - 1]);
    const lines: string[] = [];
    await clientOn(lines).post('v1/payouts', { json: {}, idempotencyKey: 'p-1' });
    expect(lines).toEqual([
      'attempt 1 POST /v1/payouts p-1',
      'retry 1 after 7 ms: 503',
      'attempt 2 POST /v1/payouts p-1',
      'retry 2 after 0 ms: 429',
      'attempt 3 POST /v1/payouts p-1',
      'retry 3 after 7 ms: network error',
      'attempt 4 POST /v1/payouts p-1',
      'retry 4 after 7 ms: network error',
      'attempt 5 POST /v1/payouts p-1',
      'replay 201',
    ]);
  });

  it('report timeouts and keys in flight as reasons', async () => {
    server.setFaults((request) => (request.attempt === 1 ? { kind: 'in-flight' } : request.attempt === 2 ? { kind: 'slow', ms: 600 } : undefined));
    const lines: string[] = [];
    // How the call ends depends on when the slow answer lands; the reasons on the way do not.
    await clientOn(lines).post('v1/payouts', { json: {} }).catch(() => undefined);
    await server.idle();
    expect(lines.filter((line) => line.startsWith('retry')).map((line) => line.split(': ')[1]).slice(0, 2)).toEqual(['409 in flight', 'timeout']);
  });

  it('report a journal answer instead of an attempt', async () => {
    const lines: string[] = [];
    const store = memoryStore();
    await clientOn(lines, store).post('v1/payouts', { json: {}, idempotencyKey: 'p-2' });
    lines.length = 0;
    await clientOn(lines, store).post('v1/payouts', { json: {}, idempotencyKey: 'p-2' });
    expect(lines).toEqual(['journal succeeded']);
  });

  it('report each recovery outcome', async () => {
    const store = memoryStore();
    server.setFaults((request) => (request.attempt === 1 ? { kind: 'drop-after' } : undefined));
    await expect(clientOn([], store, 0).post('v1/payouts', { json: {}, idempotencyKey: 'p-3' })).rejects.toThrow();
    const lines: string[] = [];
    await clientOn(lines, store).recover();
    expect(lines).toEqual(['attempt 2 POST /v1/payouts p-3', 'replay 201', 'recovered p-3: succeeded']);
  });

  it('a listener that throws changes nothing', async () => {
    const api = createClient({ prefix: server.url, store: memoryStore(), on: { attempt: () => { throw new Error('logger down'); } } });
    expect((await api.post('v1/payouts', { json: {} })).status).toBe(201);
  });
});
