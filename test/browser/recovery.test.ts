/**
 * A page that dies (a reload, a closed tab, a crash) between "sent" and "answered" leaves its
 * intent in IndexedDB; the next page's client finds it and finishes it with the original key, so
 * the server runs it once. Each side runs in a page of its own: nothing passes between them but
 * the origin's IndexedDB (and its Web Locks, through which a page that has closed is seen gone).
 *
 * What the server applied is counted on the server, per key: a browser may resend a request by
 * itself when a connection is cut, so raw request counts are asserted only where nothing is cut.
 */
import { beforeEach, describe, expect, inject, it, onTestFinished, vi } from 'vitest';
import { commands } from 'vitest/browser';
import { createClient, type IntentStore, NetworkError } from '../../src/index.browser.js';
import type { IntentSummary } from '../../src/stores/store.js';
import { type Journal, useJournals, whenLetGo } from './journals.js';
import {
  type AbandonOptions,
  type PageSetup,
  type Purchase,
  type RecoveryReport,
  recordingFetch,
  type RepeatedPurchase,
  type SentRequest,
  type StartedPurchase,
} from './recovery-page.js';
import { EVERY_ANSWER_LOST, EVERY_REQUEST_LOST, testServer } from './test-server.js';

const server = testServer(inject('serverUrl'));
const newJournal = useJournals();
const AUTHORIZATION = 'Bearer sk_shop_1';

beforeEach(() => server.reset());

/** This page's client: one attempt per call, as if the page went away after it. */
function clientHere(store: IntentStore, sent: SentRequest[] = []) {
  return createClient({
    prefix: server.url,
    store,
    headers: { Authorization: AUTHORIZATION },
    retry: { limit: 0 },
    timeout: 5_000,
    fetch: recordingFetch(sent),
  });
}

const inFreshPage = {
  recover: (storeName: string) =>
    commands.runInFreshPage<RecoveryReport>('./recovery-page.ts', 'recoverPending', setupFor(storeName)),
  startPurchase: (storeName: string, order: Purchase) =>
    commands.runInFreshPage<StartedPurchase>('./recovery-page.ts', 'startPurchase', setupFor(storeName), order),
  abandonPurchase: (storeName: string, order: Purchase, options: AbandonOptions = {}) =>
    commands.runInFreshPage<SentRequest[]>('./recovery-page.ts', 'abandonPurchase', setupFor(storeName), order, options),
  purchaseAgain: (storeName: string, order: Purchase) =>
    commands.runInFreshPage<RepeatedPurchase>('./recovery-page.ts', 'purchaseAgain', setupFor(storeName), order),
  recoverWhenTold: (storeName: string, channelName: string) =>
    commands.runInFreshPage<RecoveryReport>('./recovery-page.ts', 'recoverWhenTold', setupFor(storeName), channelName),
};

/** `count` tabs, each with its client open on the journal; `go()` has them all call recover() at once. */
async function tabsReadyToRecover(storeName: string, count: number): Promise<{ go(): Promise<RecoveryReport[]> }> {
  const channel = new BroadcastChannel(`tabs-${crypto.randomUUID()}`);
  let ready = 0;
  const allReady = new Promise<void>((resolve) => {
    channel.onmessage = (event) => event.data === 'ready' && ++ready === count && resolve();
  });
  const tabs = Promise.all(Array.from({ length: count }, () => inFreshPage.recoverWhenTold(storeName, channel.name)));
  // A tab that failed before saying ready fails the start rather than leaving it waiting.
  await Promise.race([allReady, tabs.then(() => Promise.reject(new Error('a tab finished before it was told to recover')))]);
  return {
    go() {
      channel.postMessage('go');
      return tabs.finally(() => channel.close());
    },
  };
}

/**
 * A tab of its own that starts `order` and stays open with its request in flight, its client the
 * owner of the intent; resolves once the request has gone out. `close()` closes the tab, the
 * request still in flight, and resolves what it sent; a test that fails first closes it too.
 */
async function tabHolding(storeName: string, order: Purchase): Promise<{ close(): Promise<SentRequest[]> }> {
  const channel = new BroadcastChannel(`holder-${crypto.randomUUID()}`);
  const sent = new Promise<void>((resolve) => {
    channel.onmessage = (event) => event.data === 'sent' && resolve();
  });
  const tab = commands.runInFreshPage<SentRequest[]>('./recovery-page.ts', 'holdPurchase', setupFor(storeName), order, channel.name);
  let closing: Promise<SentRequest[]> | undefined;
  const close = () => {
    if (closing === undefined) {
      channel.postMessage('close');
      closing = tab.finally(() => channel.close());
    }
    return closing;
  };
  onTestFinished(async () => void (await close().catch(() => {})));
  await Promise.race([sent, tab.then(() => Promise.reject(new Error('the tab closed before its request went out')))]);
  return { close };
}

/** The journal's record of `order`, as `list()` gives it: owner and lease included. */
async function journaled(journal: Journal, order: Purchase): Promise<IntentSummary> {
  const found = (await journal.open().list()).find((intent) => intent.idempotencyKey === order.idempotencyKey);
  if (found === undefined) throw new Error(`no intent for ${order.idempotencyKey}`);
  return found;
}

/** Until the server has applied `order` once (it applies on arrival, before any answer). */
async function untilApplied(order: Purchase): Promise<void> {
  await vi.waitFor(async () => expect(await server.applied(order.idempotencyKey)).toBe(1), { timeout: 10_000, interval: 20 });
}

/** The default lease, 30 s: an owner's intent is leased for about that long from its last write. */
const DEFAULT_LEASE_MS = 30_000;

function setupFor(storeName: string): PageSetup {
  return { serverUrl: server.url, storeName, authorization: AUTHORIZATION };
}

/** Requests the server has seen since it had seen `from`. */
async function requestsSince(from: number) {
  return (await server.state()).requests.slice(from);
}

/**
 * A purchase this page sends while the network loses it (the request or the answer), failing with
 * NetworkError; the client is then closed, as the page unloads, which records the intent as
 * pending and released.
 */
async function purchaseLostHere(store: IntentStore, order: Purchase): Promise<void> {
  const here = clientHere(store);
  await expect(here.post('v1/purchases', order)).rejects.toThrow(NetworkError);
  await here.close();
}

const purchase = (item: string): Purchase => ({
  idempotencyKey: `purchase-${crypto.randomUUID()}`,
  json: { item, quantity: 1, cents: 4_999 },
});

describe('a purchase whose answer was lost before a reload', () => {
  it('is finished by the next page exactly once, with its original key and body', async () => {
    const journal = newJournal();
    const order = purchase('lamp');
    await server.faults(EVERY_ANSWER_LOST);
    await purchaseLostHere(journal.open(), order);
    expect(await server.applied(order.idempotencyKey)).toBe(1);
    await server.faults(null);
    const before = (await server.state()).requests.length;

    const next = await inFreshPage.recover(journal.name);

    expect(next.pending).toEqual([
      expect.objectContaining({
        idempotencyKey: order.idempotencyKey,
        method: 'POST',
        url: `${server.url}/v1/purchases`,
        origin: new URL(server.url).origin,
        state: 'pending',
        attempts: 1,
        leaseUntil: expect.any(Number),
      }),
    ]);
    expect(next.sent).toEqual([
      {
        method: 'POST',
        url: `${server.url}/v1/purchases`,
        key: order.idempotencyKey,
        authorization: AUTHORIZATION,
        contentType: 'application/json',
        body: JSON.stringify(order.json),
      },
    ]);
    expect(next.outcomes).toEqual([
      {
        idempotencyKey: order.idempotencyKey,
        state: 'succeeded',
        status: 201,
        replayed: true,
        attempts: 1,
        body: expect.objectContaining({ key: order.idempotencyKey, received: order.json }),
      },
    ]);
    expect(await requestsSince(before)).toEqual([
      expect.objectContaining({ key: order.idempotencyKey, outcome: 'replayed', status: 201 }),
    ]);
    expect(await server.applied(order.idempotencyKey, AUTHORIZATION)).toBe(1);
    expect((await server.state()).appliedTotal).toBe(1);
  });

  it('leaves nothing for a recover() after that', async () => {
    const journal = newJournal();
    const order = purchase('desk');
    await server.faults(EVERY_ANSWER_LOST);
    await purchaseLostHere(journal.open(), order);
    await server.faults(null);
    await inFreshPage.recover(journal.name);
    const before = (await server.state()).requests.length;

    const here = clientHere(journal.open());
    expect(await here.recover()).toEqual([]);
    expect(await here.pending()).toEqual([]);
    expect(await requestsSince(before)).toEqual([]);
    expect(await server.applied(order.idempotencyKey)).toBe(1);
    expect((await server.state()).appliedTotal).toBe(1);
  });

  it('answers the same purchase again from the journal the recovery settled', async () => {
    const journal = newJournal();
    const order = purchase('chair');
    await server.faults(EVERY_ANSWER_LOST);
    await purchaseLostHere(journal.open(), order);
    await server.faults(null);
    await inFreshPage.recover(journal.name);
    const before = (await server.state()).requests.length;

    // The user clicks "buy" again on the reloaded page, with the key the page kept.
    const again = await clientHere(journal.open()).post('v1/purchases', order);

    expect([again.status, again.replayed, again.attempts]).toEqual([201, true, 0]);
    expect(await again.json()).toMatchObject({ key: order.idempotencyKey, received: order.json });
    expect(await requestsSince(before)).toEqual([]);
    expect(await server.applied(order.idempotencyKey)).toBe(1);
  });
});

describe('a purchase started in a page that has since closed', () => {
  it('is finished here exactly once, and a later page finds nothing left to do', async () => {
    const journal = newJournal();
    const order = purchase('rug');
    await server.faults(EVERY_ANSWER_LOST);
    const closed = await inFreshPage.startPurchase(journal.name, order);
    expect(closed).toMatchObject({ settled: 'rejected', error: 'NetworkError' });
    expect(closed.sent.map((request) => request.key)).toEqual([order.idempotencyKey]);
    expect(await server.applied(order.idempotencyKey)).toBe(1);
    await server.faults(null);
    const before = (await server.state()).requests.length;

    const sent: SentRequest[] = [];
    const here = clientHere(journal.open(), sent);
    expect((await here.pending()).map((intent) => [intent.idempotencyKey, intent.state])).toEqual([
      [order.idempotencyKey, 'pending'],
    ]);
    const [outcome, ...others] = await here.recover();

    expect(others).toEqual([]);
    expect(outcome).toMatchObject({ idempotencyKey: order.idempotencyKey, state: 'succeeded' });
    expect(outcome?.response?.replayed).toBe(true);
    expect(await outcome?.response?.json()).toMatchObject({ key: order.idempotencyKey, received: order.json });
    expect(sent).toEqual([closed.sent[0]]);
    expect(await requestsSince(before)).toEqual([
      expect.objectContaining({ key: order.idempotencyKey, outcome: 'replayed' }),
    ]);
    expect(await server.applied(order.idempotencyKey, AUTHORIZATION)).toBe(1);

    const later = await inFreshPage.recover(journal.name);
    expect(later).toEqual({ pending: [], outcomes: [], sent: [] });
    expect(await server.applied(order.idempotencyKey)).toBe(1);
  });
});

describe('a purchase lost on its way to the server', () => {
  it('is sent by the next page and applied then, once', async () => {
    const journal = newJournal();
    const order = purchase('vase');
    await server.faults(EVERY_REQUEST_LOST);
    await purchaseLostHere(journal.open(), order);
    expect(await server.applied(order.idempotencyKey)).toBe(0);
    await server.faults(null);

    const next = await inFreshPage.recover(journal.name);

    expect(next.outcomes).toEqual([
      expect.objectContaining({ idempotencyKey: order.idempotencyKey, state: 'succeeded', status: 201, replayed: false }),
    ]);
    expect(next.sent.map((request) => [request.key, request.body])).toEqual([
      [order.idempotencyKey, JSON.stringify(order.json)],
    ]);
    expect(await server.applied(order.idempotencyKey)).toBe(1);
  });
});

describe('several purchases left pending by one page', () => {
  it('are each finished once by the next page, oldest first', async () => {
    const journal = newJournal();
    const orders = [purchase('pen'), purchase('ink'), purchase('paper')];
    const here = clientHere(journal.open());
    await server.faults(EVERY_ANSWER_LOST);
    for (const order of orders) await expect(here.post('v1/purchases', order)).rejects.toThrow(NetworkError);
    await here.close();
    await server.faults(null);

    const next = await inFreshPage.recover(journal.name);

    const keys = orders.map((order) => order.idempotencyKey);
    expect(next.pending.map((intent) => intent.idempotencyKey)).toEqual(keys);
    expect(next.sent.map((request) => request.key)).toEqual(keys);
    expect(next.outcomes.map((outcome) => [outcome.idempotencyKey, outcome.state, outcome.replayed])).toEqual(
      keys.map((key) => [key, 'succeeded', true]),
    );
    const { applied, appliedTotal } = await server.state();
    expect(keys.map((key) => applied[key])).toEqual([1, 1, 1]);
    expect(appliedTotal).toBe(3);
  });
});

describe('a purchase whose tab closed mid-request, still owning it, under the default lease', () => {
  it("is finished by the next page's first recover(), at once, when its request was still in flight", async () => {
    const journal = newJournal();
    const order = purchase('clock');
    // The server applies the purchase and keeps its answer, but never sends it: the tab closes first.
    await server.faults({ once: { kind: 'no-answer' } });
    const tab = await tabHolding(journal.name, order);
    await untilApplied(order);
    const owned = await journaled(journal, order);
    expect(owned.leaseUntil - owned.updatedAt).toBe(DEFAULT_LEASE_MS);

    const closed = await tab.close();
    expect(closed.map((request) => request.key)).toEqual([order.idempotencyKey]);
    await whenLetGo(owned.owner!);
    const next = await inFreshPage.recover(journal.name);

    // Listed still leased, for most of 30 s to come, and finished all the same by the first pass.
    expect(next.pending).toEqual([expect.objectContaining({ idempotencyKey: order.idempotencyKey, state: 'pending' })]);
    expect(next.pending[0]!.leaseUntil).toBeGreaterThanOrEqual(owned.leaseUntil);
    expect(next.outcomes).toEqual([
      expect.objectContaining({ idempotencyKey: order.idempotencyKey, state: 'succeeded', status: 201, replayed: true, attempts: 1 }),
    ]);
    expect(next.sent.map((request) => [request.key, request.body])).toEqual([[order.idempotencyKey, JSON.stringify(order.json)]]);
    expect(Date.now()).toBeLessThan(owned.leaseUntil);
    expect(await server.applied(order.idempotencyKey, AUTHORIZATION)).toBe(1);
    expect((await server.state()).appliedTotal).toBe(1);
  });

  it("is finished by the next page's first recover(), at once, when its answer was lost", async () => {
    const journal = newJournal();
    const order = purchase('kettle');
    const closed = await inFreshPage.abandonPurchase(journal.name, order);
    expect(closed.map((request) => request.key)).toEqual([order.idempotencyKey]);
    expect(await server.applied(order.idempotencyKey)).toBe(1);
    const owned = await journaled(journal, order);
    expect(owned.leaseUntil - owned.updatedAt).toBe(DEFAULT_LEASE_MS);
    await whenLetGo(owned.owner!);
    const before = (await server.state()).requests.length;

    const next = await inFreshPage.recover(journal.name);

    expect(next.outcomes).toEqual([
      expect.objectContaining({ idempotencyKey: order.idempotencyKey, state: 'succeeded', status: 201, replayed: true, attempts: 1 }),
    ]);
    expect(Date.now()).toBeLessThan(owned.leaseUntil);
    expect(await requestsSince(before)).toEqual([expect.objectContaining({ key: order.idempotencyKey, outcome: 'replayed' })]);
    expect(await server.applied(order.idempotencyKey, AUTHORIZATION)).toBe(1);
    expect(await inFreshPage.recover(journal.name)).toEqual({ pending: [], outcomes: [], sent: [] });
  });
});

describe('the same purchase again, from the next page, after the page that started it closed', () => {
  it('goes ahead at once, waiting for no lease, and is applied once', async () => {
    const journal = newJournal();
    const order = purchase('toaster');
    await inFreshPage.abandonPurchase(journal.name, order);
    const owned = await journaled(journal, order);
    await whenLetGo(owned.owner!);

    // The user clicks "buy" again on the reloaded page, with the key the page kept.
    const again = await inFreshPage.purchaseAgain(journal.name, order);

    expect(again).toMatchObject({ status: 201, replayed: true, attempts: 1, ownerWaits: [] });
    expect(again.sent.map((request) => request.key)).toEqual([order.idempotencyKey]);
    expect(Date.now()).toBeLessThan(owned.leaseUntil);
    expect(await server.applied(order.idempotencyKey, AUTHORIZATION)).toBe(1);
    expect((await journal.open().get(owned.scope, owned.id))?.state).toBe('succeeded');
  });
});

describe('two live tabs', () => {
  it("leave each other's purchases alone: a live tab's is neither recovered nor sent by the other, whose call with its key waits, saying for whom and until when", async () => {
    const journal = newJournal();
    const order = purchase('teapot');
    await server.faults({ once: { kind: 'no-answer' } });
    const tab = await tabHolding(journal.name, order);
    await untilApplied(order);
    const owned = await journaled(journal, order);
    const before = (await server.state()).requests.length;

    // This tab: its recover() finds the purchase leased to a live owner, and takes nothing.
    const sent: SentRequest[] = [];
    const store = journal.open();
    const waits: Array<{ owner: string; leaseUntil: number }> = [];
    let waiting!: () => void;
    const waited = new Promise<void>((resolve) => (waiting = resolve));
    const here = createClient({
      prefix: server.url,
      store,
      headers: { Authorization: AUTHORIZATION },
      retry: { limit: 0 },
      timeout: 5_000,
      // Less than the lease: a call that had to wait the lease out would fail.
      totalTimeout: 20_000,
      fetch: recordingFetch(sent),
      on: {
        ownerWait: ({ owner, leaseUntil }) => {
          waits.push({ owner, leaseUntil });
          waiting();
        },
      },
    });
    expect(await here.recover()).toEqual([]);
    expect(await store.get(owned.scope, owned.id)).toMatchObject({ owner: owned.owner, version: owned.version, state: 'pending' });

    // The user clicks "buy" here too: the call waits for the tab that owns the purchase.
    const again = here.post('v1/purchases', order);
    await waited;
    expect(waits).toEqual([{ owner: owned.owner, leaseUntil: expect.any(Number) }]);
    expect(waits[0]!.leaseUntil).toBeGreaterThanOrEqual(owned.leaseUntil);
    expect(waits[0]!.leaseUntil).toBeLessThanOrEqual(Date.now() + DEFAULT_LEASE_MS);
    expect(sent).toEqual([]);
    expect(await requestsSince(before)).toEqual([]);

    // The owning tab closes: the waiting call takes the purchase over, long before the lease ends.
    await tab.close();
    const response = await again;

    expect([response.status, response.replayed, response.attempts]).toEqual([201, true, 1]);
    expect(Date.now()).toBeLessThan(owned.leaseUntil);
    expect(waits).toHaveLength(1);
    expect(sent.map((request) => request.key)).toEqual([order.idempotencyKey]);
    expect(await server.applied(order.idempotencyKey, AUTHORIZATION)).toBe(1);
    expect((await server.state()).appliedTotal).toBe(1);
    await here.close();
  });
});

describe('a purchase whose tab closed mid-request, in a browser without Web Locks', () => {
  it('is left to its owner until the lease runs out, then finished here exactly once', async () => {
    const journal = newJournal();
    const order = purchase('clock');
    const leaseMs = 1_000;
    // Without Web Locks the closed page's owner cannot be seen gone: only its lease tells.
    const closed = await inFreshPage.abandonPurchase(journal.name, order, { leaseMs, withoutWebLocks: true });
    expect(closed.map((request) => request.key)).toEqual([order.idempotencyKey]);
    expect(await server.applied(order.idempotencyKey)).toBe(1);
    const before = (await server.state()).requests.length;

    const sent: SentRequest[] = [];
    const here = clientHere(journal.open(), sent);
    const [held, ...others] = await here.pending();
    expect(others).toEqual([]);
    expect(held).toMatchObject({ idempotencyKey: order.idempotencyKey, state: 'pending' });
    expect(held!.leaseUntil).toBeGreaterThan(Date.now());
    // Its owner might still be at work: nothing is claimed, nothing sent.
    expect(await here.recover()).toEqual([]);
    expect(sent).toEqual([]);

    await new Promise((resolve) => setTimeout(resolve, held!.leaseUntil - Date.now() + 50));
    const outcomes = await here.recover();

    expect(outcomes).toMatchObject([{ idempotencyKey: order.idempotencyKey, state: 'succeeded' }]);
    expect(outcomes[0]?.response?.replayed).toBe(true);
    expect(sent.map((request) => [request.key, request.body])).toEqual([[order.idempotencyKey, JSON.stringify(order.json)]]);
    expect(await requestsSince(before)).toEqual([expect.objectContaining({ key: order.idempotencyKey, outcome: 'replayed' })]);
    expect(await server.applied(order.idempotencyKey, AUTHORIZATION)).toBe(1);
  });
});

describe('three tabs recovering the same pending purchase at the same instant', () => {
  it('send it once between them: one tab claims it, the others find nothing to do', async () => {
    const journal = newJournal();
    const order = purchase('lamp');
    await server.faults(EVERY_REQUEST_LOST);
    await purchaseLostHere(journal.open(), order);
    await server.faults(null);
    const before = (await server.state()).requests.length;
    const tabs = await tabsReadyToRecover(journal.name, 3);

    const reports = await tabs.go();

    // Every tab saw the purchase pending, its lease over, before the race.
    expect(reports.map((report) => report.pending.map((intent) => intent.idempotencyKey))).toEqual([
      [order.idempotencyKey],
      [order.idempotencyKey],
      [order.idempotencyKey],
    ]);
    expect(reports.flatMap((report) => report.sent)).toEqual([
      expect.objectContaining({ key: order.idempotencyKey, body: JSON.stringify(order.json) }),
    ]);
    expect(reports.flatMap((report) => report.outcomes)).toEqual([
      expect.objectContaining({ idempotencyKey: order.idempotencyKey, state: 'succeeded', status: 201, replayed: false }),
    ]);
    expect(await requestsSince(before)).toEqual([expect.objectContaining({ key: order.idempotencyKey, outcome: 'applied' })]);
    expect(await server.applied(order.idempotencyKey)).toBe(1);
  });
});
