import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DemoApi, startDemoApi } from '../../examples/demo-api/index.js';
import { runExample, type Watched } from './child.js';

// The refund service as users run it, a real process; the demo API holds every first answer back
// (slow, applied at once), which is the window where a dying service loses it.
const SERVICE = 'examples/service/main.ts';

let api: DemoApi;
let workdir: string;
const running = new Set<Watched>();
/** Sees every line the API logs, at the moment it logs it. */
let onApiLog: ((line: string) => void) | undefined;

beforeAll(async () => {
  api = await startDemoApi({ faultRate: 1, faults: ['slow'], log: (line) => onApiLog?.(line) });
  workdir = await mkdtemp(join(tmpdir(), 'durable-fetch-service-example-'));
});
afterEach(async () => {
  for (const service of running) {
    service.child.kill('SIGKILL');
    await service.exited;
  }
  running.clear();
});
afterAll(async () => {
  await api.close();
  await rm(workdir, { recursive: true, force: true });
});

/** Starts the service and resolves once it listens, with its URL. */
async function startService(journal: string): Promise<{ service: Watched; url: string }> {
  const service = runExample(SERVICE, ['--api', api.url, '--port', '0', '--journal', join(workdir, journal, 'intents.db')]);
  running.add(service);
  const [, url = ''] = await service.waitForLine(/refund service listening on (http:\S+)/);
  return { service, url };
}

function refund(serviceUrl: string, orderId: string, body: unknown): Promise<Response> {
  return fetch(`${serviceUrl}/orders/${orderId}/refund`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

function heldBack(key: string): Promise<void> {
  return new Promise((resolve) => {
    onApiLog = (line) => {
      if (!line.includes(`[${key}] → applied, answer held`)) return;
      onApiLog = undefined;
      resolve();
    };
  });
}

/** Starts a service, asks it for a refund and kills it with SIGKILL while the API holds the answer: applied, never heard of. */
async function killDuringRefund(journal: string, orderId: string, body: unknown): Promise<void> {
  const { service, url } = await startService(journal);
  const held = heldBack(`refund-order-${orderId}`);
  const lost = refund(url, orderId, body).catch((error: unknown) => error);
  await held;
  service.child.kill('SIGKILL');
  expect((await service.exited).signal).toBe('SIGKILL');
  expect(await lost).toBeInstanceOf(Error);
  expect(api.applied(`refund-order-${orderId}`)).toBe(1);
}

describe('the refund service killed while the payments API holds its answer', () => {
  it('finishes the refund once the killed process’s lease runs out, and the API applies it once', async () => {
    const body = { customer: 'ada@example.com', amount: 2500 };
    await killDuringRefund('killed', '1001', body);

    // Nobody asks again: the restarted service's relay takes the refund over by itself.
    const restarted = await startService('killed');
    await restarted.service.waitForLine(/recovered refund-order-1001: succeeded$/);
    expect(api.applied('refund-order-1001')).toBe(1);

    const retried = await refund(restarted.url, '1001', body);
    expect(retried.status).toBe(200);
    expect(await retried.json()).toMatchObject({ order: '1001', payout: { reference: 'refund-1001', amount: 2500 }, replayed: true });
    expect(api.applied('refund-order-1001')).toBe(1);
  });

  it('answers a client retrying while the killed process still holds the refund with the one payout', async () => {
    const body = { customer: 'lin@example.com', amount: 700 };
    await killDuringRefund('held', '1002', body);

    // Sent at once: it waits out the dead process's lease, then gets the payout already made.
    const restarted = await startService('held');
    const retried = await refund(restarted.url, '1002', body);
    expect(retried.status).toBe(200);
    expect(await retried.json()).toMatchObject({ order: '1002', payout: { reference: 'refund-1002', amount: 700 }, replayed: true });
    expect(api.applied('refund-order-1002')).toBe(1);
  });
});

describe('the refund service answering its own clients', () => {
  it('answers a client retrying a paid refund with the same payout, without paying again', async () => {
    const { url } = await startService('retries');
    const body = { customer: 'grace@example.com', amount: 4200 };
    const first = await refund(url, '2002', body);
    expect(first.status).toBe(200);
    const paid = (await first.json()) as { payout: { id: string } };

    const again = await refund(url, '2002', body);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ order: '2002', payout: paid.payout, replayed: true });
    expect(api.applied('refund-order-2002')).toBe(1);
  });

  it('refuses a retry of a refund with another amount and pays nothing more', async () => {
    const { url } = await startService('mismatch');
    expect((await refund(url, '3003', { customer: 'alan@example.com', amount: 1000 })).status).toBe(200);
    const other = await refund(url, '3003', { customer: 'alan@example.com', amount: 9000 });
    expect(other.status).toBe(409);
    expect(await other.json()).toMatchObject({ code: 'refund_differs' });
    expect(api.applied('refund-order-3003')).toBe(1);
  });
});
