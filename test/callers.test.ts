/**
 * Several callers of one operation on one client — twins in flight together, repeats while its
 * outcome is being written — share its request, and nothing else: each gets its own Response or
 * its own error with its own unread body, its own `start` and `end`, and only its own abort.
 */
import { describe, expect, it } from 'vitest';
import { createClient, HTTPError, type IntentStore, memoryStore } from '../src/index.js';
import { useTestServer } from './support/test-server.js';

const server = useTestServer();

function client(store: IntentStore = memoryStore(), on = {}) {
  // Enough retries to wait out a request the server still holds (a 409 in flight).
  return createClient({ prefix: server.url, store, retry: { limit: 20, delay: () => 50 }, on });
}

const asHttpError = (error: unknown) => error as HTTPError;

describe('callers of one operation', () => {
  it('twins ending in a 4xx each get their own HTTPError, whose response each can read', async () => {
    server.setFaults(() => ({ kind: 'slow', ms: 100 }));
    const api = client();
    const [a, b] = await Promise.all(
      [1, 2].map(() => api.post('v1/invalid', { json: { amount: -1 }, idempotencyKey: 'twin-4xx' }).then(() => undefined, asHttpError)),
    );
    expect(a).toBeInstanceOf(HTTPError);
    expect(b).toBeInstanceOf(HTTPError);
    expect(a).not.toBe(b);
    expect(a!.response).not.toBe(b!.response);
    await expect(a!.response.json()).resolves.toMatchObject({ code: 'validation_failed' });
    await expect(b!.response.json()).resolves.toMatchObject({ code: 'validation_failed' });
    expect(server.requests).toHaveLength(1);
  });

  it('twins that succeed each get their own Response with an unread body', async () => {
    server.setFaults(() => ({ kind: 'slow', ms: 100 }));
    const api = client();
    const [a, b] = await Promise.all([1, 2].map(() => api.post('v1/payouts', { json: { amount: 5 }, idempotencyKey: 'twin-ok' })));
    expect(a).not.toBe(b);
    await expect(a!.json()).resolves.toMatchObject({ key: 'twin-ok' });
    await expect(b!.json()).resolves.toMatchObject({ key: 'twin-ok' });
    expect(server.applied('twin-ok')).toBe(1);
  });

  it('a repeat while the outcome is being written gets its own error, and the same events as one the journal answers', async () => {
    const inner = memoryStore();
    let writeOutcome!: () => void;
    const outcomeHeld = new Promise<void>((resolve) => (writeOutcome = resolve));
    // The outcome write waits until the repeat has been answered.
    const store: IntentStore = {
      get: (scope, id) => inner.get(scope, id),
      create: (intent) => inner.create(intent),
      update: async (scope, id, version, change) => {
        if (change.state === 'failed') await outcomeHeld;
        return inner.update(scope, id, version, change);
      },
      claim: (request) => inner.claim(request),
      list: (query) => inner.list(query),
      compact: () => inner.compact(),
      close: () => inner.close(),
    };
    const events: string[] = [];
    const on = {
      start: () => void events.push('start'),
      journalAnswer: ({ state }: { state: string }) => void events.push(`journalAnswer:${state}`),
      end: ({ state, attempts }: { state?: string; attempts: number }) => void events.push(`end:${state}:${attempts}`),
    };
    const api = client(store, on);
    const first = await api.post('v1/invalid', { json: { amount: -1 }, idempotencyKey: 'repeat-4xx' }).then(() => undefined, asHttpError);
    const repeat = await api.post('v1/invalid', { json: { amount: -1 }, idempotencyKey: 'repeat-4xx' }).then(() => undefined, asHttpError);
    writeOutcome();
    await api.flush();
    const fromJournal = await api.post('v1/invalid', { json: { amount: -1 }, idempotencyKey: 'repeat-4xx' }).then(() => undefined, asHttpError);
    for (const error of [first, repeat, fromJournal]) {
      expect(error).toBeInstanceOf(HTTPError);
      await expect(error!.response.json()).resolves.toMatchObject({ code: 'validation_failed' });
    }
    expect(new Set([first, repeat, fromJournal]).size).toBe(3);
    expect(events).toEqual(['start', 'end:failed:1', 'start', 'journalAnswer:failed', 'end:failed:0', 'start', 'journalAnswer:failed', 'end:failed:0']);
    expect(server.requests).toHaveLength(1);
  });

  it('a caller joining just after the only other caller gave up is not rejected with its abort: its call goes on, applied once', async () => {
    server.setFaults((request) => (request.attempt === 1 ? { kind: 'slow', ms: 200 } : undefined));
    const api = client();
    const giveUp = new AbortController();
    const first = api.post('v1/payouts', { json: { amount: 7 }, idempotencyKey: 'handed-on', signal: giveUp.signal });
    await server.waitForRequests(1);
    giveUp.abort();
    const second = api.post('v1/payouts', { json: { amount: 7 }, idempotencyKey: 'handed-on' });
    await expect(first).rejects.toMatchObject({ name: 'AbortError' });
    const response = await second;
    expect(response.status).toBe(201);
    await expect(response.json()).resolves.toMatchObject({ key: 'handed-on' });
    await server.idle();
    expect(server.applied('handed-on')).toBe(1);
  });

  it('twins each emit their own start and end around the one shared request', async () => {
    server.setFaults(() => ({ kind: 'slow', ms: 100 }));
    const events: string[] = [];
    const api = client(memoryStore(), {
      start: () => void events.push('start'),
      attempt: () => void events.push('attempt'),
      end: ({ state }: { state?: string }) => void events.push(`end:${state}`),
    });
    await Promise.all([1, 2].map(() => api.post('v1/payouts', { json: { amount: 9 }, idempotencyKey: 'twin-events' })));
    expect(events.sort()).toEqual(['attempt', 'end:succeeded', 'end:succeeded', 'start', 'start']);
  });
});
