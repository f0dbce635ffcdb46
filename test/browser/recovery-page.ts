/**
 * What a page does after a reload (or in another tab), loaded by `runInFreshPage`: it builds its
 * own client on the journal's store name, and knows nothing of the page that started the work but
 * what IndexedDB kept. Results cross back to the test as plain JSON.
 */
import { indexedDbStore } from '../../src/browser.js';
import { type ClientOptions, createClient, type DurableClient, type PendingIntent } from '../../src/index.browser.js';

export interface PageSetup {
  serverUrl: string;
  storeName: string;
  /** This page's credential: sent by its client, never found in the journal. */
  authorization: string;
}

/** A request as this page's client handed it to fetch. */
export interface SentRequest {
  method: string;
  url: string;
  key: string | null;
  authorization: string | null;
  contentType: string | null;
  body: string;
}

export interface RecoveredOutcome {
  idempotencyKey: string;
  state: string;
  status?: number;
  replayed?: boolean;
  attempts?: number;
  body?: unknown;
  error?: string;
}

export interface RecoveryReport {
  pending: PendingIntent[];
  outcomes: RecoveredOutcome[];
  sent: SentRequest[];
}

/** Lists what the journal holds pending, then recovers it. */
export async function recoverPending(setup: PageSetup): Promise<RecoveryReport> {
  return withClient(setup, async (client, sent) => {
    const pending = await client.pending();
    return { pending, outcomes: await recovered(client), sent };
  });
}

/**
 * One of several tabs racing to recover: opens the journal, says `ready` on the BroadcastChannel
 * `channelName`, and recovers when told `go`.
 */
export async function recoverWhenTold(setup: PageSetup, channelName: string): Promise<RecoveryReport> {
  const channel = new BroadcastChannel(channelName);
  const go = new Promise<void>((resolve) => {
    channel.onmessage = (event) => event.data === 'go' && resolve();
  });
  try {
    return await withClient(setup, async (client, sent) => {
      // Opened before the race, so every tab starts recovering at once.
      const pending = await client.pending();
      channel.postMessage('ready');
      await go;
      return { pending, outcomes: await recovered(client), sent };
    });
  } finally {
    channel.close();
  }
}

/** One recover() pass, its outcomes as plain JSON. */
async function recovered(client: DurableClient): Promise<RecoveredOutcome[]> {
  const outcomes: RecoveredOutcome[] = [];
  for (const { idempotencyKey, state, response, error } of await client.recover()) {
    outcomes.push({
      idempotencyKey,
      state,
      ...(response === undefined
        ? {}
        : { status: response.status, replayed: response.replayed, attempts: response.attempts, body: await response.json() }),
      ...(error === undefined ? {} : { error: error instanceof Error ? error.name : String(error) }),
    });
  }
  return outcomes;
}

export interface Purchase {
  idempotencyKey: string;
  json: unknown;
}

export interface StartedPurchase {
  settled: 'resolved' | 'rejected';
  /** The name of the error the call rejected with. */
  error?: string;
  sent: SentRequest[];
}

/** Starts a purchase with no retries; reports how the call ended, as the page closes right after. */
export async function startPurchase(setup: PageSetup, purchase: Purchase): Promise<StartedPurchase> {
  return withClient(setup, async (client, sent) => {
    try {
      await client.post('v1/purchases', purchase);
      return { settled: 'resolved', sent };
    } catch (error) {
      return { settled: 'rejected', error: error instanceof Error ? error.name : String(error), sent };
    }
  });
}

export interface AbandonOptions {
  /** The page's lease; the client's default (30 s) when absent. */
  leaseMs?: number;
  /** The page has no Web Locks (as in Safari before 15.4, or outside a secure context): its owner is seen through its lease alone. */
  withoutWebLocks?: boolean;
}

/**
 * Sends a purchase and is gone before its answer arrives, as a tab closed mid-request: the page
 * closes while its client still owns the intent, so nothing releases it; its lease ends
 * `leaseMs` after its last renewal. Resolves what was sent, once the server has answered it.
 */
export async function abandonPurchase({ serverUrl, storeName, authorization }: PageSetup, purchase: Purchase, options: AbandonOptions = {}): Promise<SentRequest[]> {
  if (options.withoutWebLocks) Object.defineProperty(navigator, 'locks', { value: undefined, configurable: true });
  const sent: SentRequest[] = [];
  const send = recordingFetch(sent);
  let resolve!: () => void;
  const answered = new Promise<void>((settle) => (resolve = settle));
  const client = createClient({
    prefix: serverUrl,
    store: indexedDbStore({ name: storeName }),
    headers: { Authorization: authorization },
    retry: { limit: 0 },
    ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    async fetch(input, init) {
      await send(input, init);
      resolve();
      // The answer never reaches the client: the page is closed first.
      return new Promise<Response>(() => {});
    },
  });
  void client.post('v1/purchases', purchase);
  await answered;
  return sent;
}

/**
 * A tab that starts a purchase and stays open with it in flight, its client the owner: says
 * `sent` on the BroadcastChannel `channelName` once its request has gone out, and goes away (the
 * page closes, the request still in flight) when told `close`. The client's default lease; the
 * test decides whether the server ever answers. Resolves what was sent.
 */
export async function holdPurchase(setup: PageSetup, purchase: Purchase, channelName: string): Promise<SentRequest[]> {
  const channel = new BroadcastChannel(channelName);
  const told = new Promise<void>((resolve) => {
    channel.onmessage = (event) => event.data === 'close' && resolve();
  });
  const sent: SentRequest[] = [];
  const send = recordingFetch(sent);
  const client = createClient({
    prefix: setup.serverUrl,
    store: indexedDbStore({ name: setup.storeName }),
    headers: { Authorization: setup.authorization },
    retry: { limit: 0 },
    // In flight for as long as the tab is open: no time limit gives up on it first.
    timeout: false,
    fetch(input, init) {
      const answer = send(input, init);
      channel.postMessage('sent');
      return answer;
    },
  });
  void client.post('v1/purchases', purchase).catch(() => {});
  try {
    await told;
    return sent;
  } finally {
    channel.close();
  }
}

export interface RepeatedPurchase {
  status?: number;
  replayed?: boolean;
  attempts?: number;
  error?: string;
  /** The `ownerWait` events the call emitted: whom it waited for, until when. */
  ownerWaits: Array<{ owner: string; leaseUntil: number }>;
  sent: SentRequest[];
}

/** The purchase again, with its key, as a page does whose user clicks "buy" once more; its outcome and its waits. */
export async function purchaseAgain(setup: PageSetup, purchase: Purchase): Promise<RepeatedPurchase> {
  const ownerWaits: RepeatedPurchase['ownerWaits'] = [];
  return withClient(
    setup,
    async (client, sent) => {
      try {
        const response = await client.post('v1/purchases', purchase);
        return { status: response.status, replayed: response.replayed, attempts: response.attempts, ownerWaits, sent };
      } catch (error) {
        return { error: error instanceof Error ? error.name : String(error), ownerWaits, sent };
      }
    },
    { on: { ownerWait: ({ owner, leaseUntil }) => ownerWaits.push({ owner, leaseUntil }) } },
  );
}

/** A client on the journal, closed (its outcomes recorded, its store released) when `use` is done. */
async function withClient<T>(
  { serverUrl, storeName, authorization }: PageSetup,
  use: (client: DurableClient, sent: SentRequest[]) => Promise<T>,
  options: Pick<ClientOptions, 'on'> = {},
): Promise<T> {
  const sent: SentRequest[] = [];
  const client = createClient({
    prefix: serverUrl,
    store: indexedDbStore({ name: storeName }),
    headers: { Authorization: authorization },
    retry: { limit: 0 },
    timeout: 5_000,
    fetch: recordingFetch(sent),
    ...options,
  });
  try {
    return await use(client, sent);
  } finally {
    await client.close();
  }
}

/** A fetch that notes each request it is handed, body included, then sends it. */
export function recordingFetch(sent: SentRequest[]): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    sent.push({
      method: request.method,
      url: request.url,
      key: request.headers.get('idempotency-key'),
      authorization: request.headers.get('authorization'),
      contentType: request.headers.get('content-type'),
      body: await request.clone().text(),
    });
    return fetch(request);
  };
}
