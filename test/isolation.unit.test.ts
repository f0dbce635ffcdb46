import { afterEach, describe, expect, it } from 'vitest';
import { memoryStore, type ClientOptions, type IntentStore } from '../src/index.js';
// Node's entry hashes synchronously, so two calls started together both reach the shared flight
// before the first request can leave (Web Crypto's digest takes a thread-pool round trip).
import { createClient } from '../src/index.node.js';
import { http, HttpResponse, ORIGIN, useMsw } from './support/msw.js';

const server = useMsw();

/** A promise with its resolve, to hold a handler until the test lets it answer. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

const gates: Array<ReturnType<typeof gate>> = [];
afterEach(() => gates.splice(0).forEach((held) => held.open()));

/**
 * /v1/payouts: each request is recorded and announced; attempts listed in `held` wait for the
 * test to open their gate, those in `failing` answer 503, the rest 201.
 */
function payouts({ held = [], failing = [] }: { held?: number[]; failing?: number[] } = {}) {
  const seen: Array<{ key: string | null; body: string }> = [];
  const arrivals = new Map<number, ReturnType<typeof gate>>();
  const release = gate();
  gates.push(release);
  const arrived = (attempt: number) => {
    if (!arrivals.has(attempt)) arrivals.set(attempt, gate());
    return arrivals.get(attempt)!;
  };
  server.use(
    http.post(`${ORIGIN}/v1/payouts`, async ({ request }) => {
      seen.push({ key: request.headers.get('idempotency-key'), body: await request.text() });
      const attempt = seen.length;
      arrived(attempt).open();
      if (held.includes(attempt)) await release.opened;
      if (failing.includes(attempt)) return HttpResponse.json({ error: 'unavailable' }, { status: 503 });
      return HttpResponse.json({ id: `po_${attempt}` }, { status: 201 });
    }),
  );
  return { seen, arrival: (attempt: number) => arrived(attempt).opened, release: release.open };
}

const api = (store: IntentStore = memoryStore(), options: ClientOptions = {}) =>
  createClient({ prefix: ORIGIN, store, retry: { limit: 0 }, ...options });

async function onlyIntent(store: IntentStore) {
  const [summary] = await store.list();
  return store.get(summary!.scope, summary!.id);
}

describe('two callers of one key share one request, and each keeps its own signal', () => {
  it('the first caller aborting rejects only it, with its own reason; the second gets the answer', async () => {
    const { seen, arrival, release } = payouts({ held: [1] });
    const client = api();
    const first = new AbortController();
    const firstCall = client.post('v1/payouts', { json: { amount: 5 }, idempotencyKey: 'shared', signal: first.signal });
    const secondCall = client.post('v1/payouts', { json: { amount: 5 }, idempotencyKey: 'shared' });
    await arrival(1);

    const reason = new Error('the first caller gave up');
    first.abort(reason);
    await expect(firstCall).rejects.toBe(reason);
    release();
    const second = await secondCall;
    expect([second.status, await second.json()]).toEqual([201, { id: 'po_1' }]);
    expect(seen).toHaveLength(1);
  });

  it('the second caller aborting leaves the first one’s call alone', async () => {
    const { seen, arrival, release } = payouts({ held: [1] });
    const client = api();
    const second = new AbortController();
    const firstCall = client.post('v1/payouts', { json: { amount: 5 }, idempotencyKey: 'shared' });
    const secondCall = client.post('v1/payouts', { json: { amount: 5 }, idempotencyKey: 'shared', signal: second.signal });
    await arrival(1);

    second.abort(new Error('the second caller gave up'));
    await expect(secondCall).rejects.toThrow('the second caller gave up');
    release();
    expect((await firstCall).status).toBe(201);
    expect(seen).toHaveLength(1);
  });
});

describe('a listener never changes what a call does', () => {
  /** Rejections nobody handled while `work` ran, and a turn of the event loop after it. */
  async function unhandledDuring(work: () => Promise<void>): Promise<unknown[]> {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      await work();
      // Node reports an unhandled rejection once the microtasks run dry: one macrotask later.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', record);
    }
    return unhandled;
  }

  it('an async listener that rejects is reported to on.error, and nothing is left unhandled', async () => {
    payouts();
    const reported: Array<{ listener: string; message: string }> = [];
    const client = api(memoryStore(), {
      on: {
        attempt: async () => {
          throw new Error('logger down');
        },
        error: ({ listener, error }) => void reported.push({ listener, message: (error as Error).message }),
      },
    });
    const unhandled = await unhandledDuring(async () => {
      expect((await client.post('v1/payouts', { json: {} })).status).toBe(201);
    });
    expect(unhandled).toEqual([]);
    expect(reported).toEqual([{ listener: 'attempt', message: 'logger down' }]);
  });

  it('a listener that throws is reported to on.error, and the call goes on', async () => {
    const { seen } = payouts();
    const reported: string[] = [];
    const client = api(memoryStore(), {
      on: {
        attempt: () => {
          throw new Error('counter broken');
        },
        error: ({ listener }) => void reported.push(listener),
      },
    });
    expect((await client.post('v1/payouts', { json: {} })).status).toBe(201);
    expect([seen.length, reported]).toEqual([1, ['attempt']]);
  });

  it('an on.error listener that rejects too leaves nothing unhandled and changes nothing', async () => {
    payouts();
    const client = api(memoryStore(), {
      on: {
        attempt: async () => {
          throw new Error('logger down');
        },
        error: async () => {
          throw new Error('error reporter down');
        },
      },
    });
    const unhandled = await unhandledDuring(async () => {
      expect((await client.post('v1/payouts', { json: {} })).status).toBe(201);
    });
    expect(unhandled).toEqual([]);
  });
});

describe('aborting', () => {
  it('a signal aborted before the call journals nothing, sends nothing, and leaves nothing to recover', async () => {
    const { seen } = payouts();
    const store = memoryStore();
    const reason = new Error('cancelled before it started');
    await expect(api(store).post('v1/payouts', { json: { amount: 5 }, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(await store.list()).toEqual([]);
    expect(await api(store).recover()).toEqual([]);
    expect(seen).toEqual([]);
  });

  it('a signal aborted just after the call started, while it is prepared, rejects at once; nothing is journaled or sent', async () => {
    const { seen } = payouts();
    const store = memoryStore();
    const controller = new AbortController();
    const call = api(store).post('v1/payouts', { json: { amount: 5 }, signal: controller.signal });
    const reason = new Error('cancelled right away');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    expect(await store.list()).toEqual([]);
    expect(seen).toEqual([]);
  });

  it('a signal aborted mid-call leaves the intent pending with its attempts recorded; recovery resends it with the same key', async () => {
    const { seen, arrival } = payouts({ failing: [1], held: [2] });
    const store = memoryStore();
    const client = api(store, { retry: { limit: 3, delay: () => 0 } });
    const controller = new AbortController();
    const call = client.post('v1/payouts', { json: { amount: 5 }, idempotencyKey: 'cut-short', signal: controller.signal });
    await arrival(2);

    const reason = new Error('the user navigated away');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    await client.flush();
    expect(await onlyIntent(store)).toMatchObject({ idempotencyKey: 'cut-short', state: 'pending', attempts: 2, owner: null });

    const outcomes = await api(store).recover();
    expect(outcomes.map((outcome) => outcome.state)).toEqual(['succeeded']);
    expect(seen.map((request) => request.key)).toEqual(['cut-short', 'cut-short', 'cut-short']);
    expect(await onlyIntent(store)).toMatchObject({ state: 'succeeded', attempts: 3 });
  });
});
