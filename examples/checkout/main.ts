/**
 * A checkout page that cannot charge twice. Each purchase is one durable-fetch call: its
 * Idempotency-Key and body are journaled in IndexedDB (the browser default, `indexedDbStore()`)
 * before the request leaves, and every retry reuses that key. If the page is reloaded or closed
 * while the purchase is in flight, the next load finds it pending and `recover()` resends it with
 * the same key at once (the browser's Web Locks show the earlier page is gone; without them it
 * waits out that page's lease first), so the server answers with the purchase it already made
 * instead of a new one. Offline, a purchase waits in the journal:
 * `autoRecover` sends it when the network is back, and the service worker (`sw.ts`) does so
 * even if the tab has been closed by then.
 */
import { createClient, type DurableResponse, type PendingIntent } from 'durable-fetch';
import { requestBackgroundRecovery } from 'durable-fetch/browser';

function element<T extends HTMLElement>(selector: string): T {
  const found = document.querySelector<T>(selector);
  if (!found) throw new Error(`The page has no ${selector}`);
  return found;
}

const main = element<HTMLElement>('main');
const form = element<HTMLFormElement>('#checkout');
const creditsInput = element<HTMLInputElement>('#credits');
const buyButton = element<HTMLButtonElement>('#buy');
const balanceOutput = element<HTMLOutputElement>('#balance');
const log = element<HTMLOListElement>('#log');

type Tone = 'info' | 'retry' | 'ok' | 'error';

function say(text: string, tone: Tone = 'info'): void {
  const line = document.createElement('li');
  line.className = tone;
  line.textContent = text;
  log.append(line);
}

/** Keys are UUIDs: their first block tells purchases apart on screen. */
function short({ idempotencyKey }: { idempotencyKey: string }): string {
  return idempotencyKey.slice(0, 8);
}

function label(event: { idempotencyKey: string }): string {
  return `Purchase ${short(event)}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function busy(isBusy: boolean): void {
  main.setAttribute('aria-busy', String(isBusy));
  buyButton.disabled = isBusy;
}

const api = createClient({
  // The dev server proxies /api to the demo API, so the page only ever calls its own origin.
  prefix: new URL('/api/', location.href),
  retry: { limit: 4, backoffLimit: 4_000 },
  timeout: 15_000,
  // Where the browser has no Web Locks (Safari before 15.4), a page closed mid-purchase keeps its
  // claim on the purchase until this lease runs out, and the next load waits that long before
  // finishing it; elsewhere the next load finishes it at once. Renewed every leaseMs/3 while a
  // purchase is in flight, so a page still sending never loses it (default 30 s: too long to keep
  // a reload waiting).
  leaseMs: 5_000,
  // recover() again when the network comes back and when the tab is shown again.
  autoRecover: true,
  on: {
    attempt: (event) => say(`${label(event)}: attempt ${event.attempt}`),
    retry: (event) =>
      say(`${label(event)}: attempt ${event.attempt} failed (${event.reason}), retrying in ${Math.round(event.delay)} ms`, 'retry'),
    replay: (event) => say(`${label(event)}: the server replayed its earlier answer (${event.status})`),
    journalAnswer: (event) => say(`${label(event)}: answered from the journal (${event.state})`),
    recovery: (event) => {
      say(`Recovered purchase ${short(event)}: ${event.state}`, event.state === 'succeeded' ? 'ok' : 'error');
      if (event.state === 'succeeded') void answerUnanswered().then(showBalance);
    },
  },
});

// Finishes purchases left pending after every tab has closed (sw.ts). Served by Vite as a module.
const worker = navigator.serviceWorker?.register('/sw.ts', { type: 'module' }).catch((error: unknown) => {
  say(`No service worker: ${describe(error)}`, 'error');
  return undefined;
});

/** The purchase this browser started and has not seen answered: a later load asks for its answer with its key. */
const UNANSWERED = 'checkout:unanswered';

interface Unanswered {
  idempotencyKey: string;
  credits: number;
}

let answering: Promise<void> | undefined;

/**
 * Once the purchase left unanswered is settled (recovered here, in another tab or by the service
 * worker), asking again with its key shows its answer, from the journal, with no request.
 */
function answerUnanswered(): Promise<void> {
  answering ??= (async () => {
    const saved = localStorage.getItem(UNANSWERED);
    if (saved === null) return;
    const { idempotencyKey, credits } = JSON.parse(saved) as Unanswered;
    if ((await api.pending()).some((intent) => intent.idempotencyKey === idempotencyKey)) return;
    await purchase(idempotencyKey, credits).catch((error: unknown) => say(`${label({ idempotencyKey })}: ${describe(error)}`, 'error'));
  })().finally(() => (answering = undefined));
  return answering;
}

/** The API's answer to a purchase. */
interface CreditPurchase {
  id: string;
  credits: number;
  balance: number;
}

/** What a purchase answer says was bought, e.g. `cp_0001, 100 credits`. */
async function purchased(response: DurableResponse): Promise<string> {
  const purchase = (await response.json()) as CreditPurchase;
  return `${purchase.id}, ${purchase.credits} credits`;
}

function marks(response: DurableResponse): string {
  const attempts = `${response.attempts} attempt${response.attempts === 1 ? '' : 's'}`;
  return response.replayed ? `${attempts}, replayed` : attempts;
}

async function showBalance(): Promise<void> {
  try {
    const { credits } = await api.get('v1/balance').json<{ credits: number }>();
    balanceOutput.value = String(credits);
  } catch (error) {
    balanceOutput.value = '?';
    say(`Could not read the balance: ${describe(error)}`, 'error');
  }
}

/**
 * `recover()` takes a purchase whose page has closed at once where the browser shows that page
 * gone (Web Locks); what it leaves is still held under a lease: by a page the browser cannot show
 * gone (no Web Locks), or by another open tab still sending it. Waits until those leases run out.
 */
async function leasesOver(pending: PendingIntent[]): Promise<boolean> {
  const waitMs = Math.max(0, ...pending.map((intent) => (intent.parkedUntil === undefined ? intent.leaseUntil - Date.now() : 0)));
  if (waitMs === 0) return false;
  say(`Waiting ${Math.ceil(waitMs / 1000)} s for the earlier page's claim to run out…`);
  await new Promise((resolve) => setTimeout(resolve, waitMs + 1));
  return true;
}

/** Finishes what an earlier load of this page started and never saw answered. */
async function recoverInterrupted(): Promise<void> {
  const pending = await api.pending();
  if (pending.length === 0) {
    say('No interrupted purchases.');
    return;
  }
  const count = pending.length === 1 ? '1 interrupted purchase' : `${pending.length} interrupted purchases`;
  say(`Found ${count}; finishing with the original key…`);
  // Each outcome is shown by the `recovery` listener.
  await api.recover();
  if (await leasesOver(await api.pending())) await api.recover();
}

/** One purchase, under a key the page remembers for as long as the purchase may still go through. */
async function purchase(idempotencyKey: string, credits: number): Promise<void> {
  localStorage.setItem(UNANSWERED, JSON.stringify({ idempotencyKey, credits } satisfies Unanswered));
  let response: DurableResponse;
  try {
    response = await api.post('v1/credit_purchases', { json: { credits }, idempotencyKey });
  } catch (error) {
    if (!(await api.pending()).some((intent) => intent.idempotencyKey === idempotencyKey)) localStorage.removeItem(UNANSWERED);
    throw error;
  }
  localStorage.removeItem(UNANSWERED);
  say(`${label(response)}: bought ${await purchased(response)} (${marks(response)})`, 'ok');
}

async function buy(credits: number): Promise<void> {
  busy(true);
  try {
    await purchase(crypto.randomUUID(), credits);
  } catch (error) {
    say(`Purchase failed: ${describe(error)}`, 'error');
    if ((await api.pending()).length > 0) {
      say('It is still journaled as pending: it is sent when the network is back, by this page or, once it has closed, by the service worker.', 'error');
      const registration = await worker;
      if (registration) await requestBackgroundRecovery(registration);
    }
  } finally {
    await showBalance();
    busy(false);
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void buy(creditsInput.valueAsNumber);
});

async function start(): Promise<void> {
  try {
    await recoverInterrupted();
    await answerUnanswered();
  } catch (error) {
    say(`Recovery failed: ${describe(error)}`, 'error');
  }
  await showBalance();
  busy(false);
}

void start();
