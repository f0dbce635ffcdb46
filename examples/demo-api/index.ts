/**
 * A small idempotent API to try durable-fetch against: payouts and credit purchases, with
 * `Idempotency-Key` handled as seed 004 documents it, and faults injected into first attempts so
 * retries, replays and recovery happen where you can watch them.
 *
 *   POST /v1/payouts           { id, recipient, amount }   → 201 payout
 *   POST /v1/credit_purchases  { credits }                 → 201 purchase
 *   GET  /v1/payouts                                       → { data: [payout...] }
 *   GET  /v1/balance                                       → { credits }
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FAULT_KINDS, type FaultKind, faultPicker, SLOW_ANSWER_MS } from './faults.js';
import { type Answer, errorAnswer, fingerprint, isValidKey, jsonAnswer, KeyMemory } from './keys.js';
import { Ledger } from './ledger.js';

export { FAULT_KINDS, isFaultKind, SLOW_ANSWER_MS, type FaultKind } from './faults.js';
export type { CreditPurchase, Payout } from './ledger.js';

export interface DemoApiOptions {
  /** Default 0: any free port (read it from `url`). */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Share of first attempts (of writes) that meet a fault, 0..1. Default 0.3. */
  faultRate?: number;
  /** Makes the faults reproducible: the same requests in the same order meet the same faults. */
  seed?: number;
  /** One line per request handled: what the API did and which fault it injected. Default: silent. */
  log?: (line: string) => void;
  /** Which faults to inject. Default: all of them (503, lost answer, 429, slow answer). */
  faults?: readonly FaultKind[];
  /** How long a slow answer is held, ms. Default `SLOW_ANSWER_MS` (1 500). */
  slowMs?: number;
}

export interface DemoApi {
  /** `http://host:port`, without a trailing slash. */
  url: string;
  close(): Promise<void>;
  /** How many times the operation sent with this Idempotency-Key was applied: 1 is the goal. */
  applied(key: string): number;
  /** Operations applied, keyed or not. */
  appliedTotal(): number;
}

type Write = (ledger: Ledger, body: unknown, key: string | undefined) => Answer;
type Read = (ledger: Ledger) => Answer;

const WRITES: Record<string, Write> = {
  '/v1/payouts': (ledger, body, key) => ledger.createPayout(body, key),
  '/v1/credit_purchases': (ledger, body, key) => ledger.purchaseCredits(body, key),
};

const READS: Record<string, Read> = {
  '/': () => jsonAnswer(200, { name: 'durable-fetch demo API', routes: ['POST /v1/payouts', 'POST /v1/credit_purchases', 'GET /v1/payouts', 'GET /v1/balance'] }),
  '/v1/payouts': (ledger) => jsonAnswer(200, { data: ledger.payouts }),
  '/v1/balance': (ledger) => jsonAnswer(200, { credits: ledger.credits }),
};

const MAX_BODY_BYTES = 1 << 20;

/** Browser pages on any origin may call the demo, send their key and credentials, and read the replay marker. */
function corsHeaders(req: IncomingMessage): Record<string, string> {
  const origin = req.headers.origin;
  if (origin === undefined) return {};
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Credentials': 'true',
    'Access-Control-Expose-Headers': 'Idempotency-Replayed, Retry-After',
    Vary: 'Origin',
  };
}

function answerPreflight(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(204, {
    ...corsHeaders(req),
    'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
    // Echoed rather than `*`: a wildcard never covers Authorization.
    'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? 'Authorization, Content-Type, Idempotency-Key',
    'Access-Control-Max-Age': '600',
  });
  res.end();
}

function send(req: IncomingMessage, res: ServerResponse, answer: Answer, extraHeaders: Record<string, string> = {}): void {
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(answer.status, {
    ...corsHeaders(req),
    ...answer.headers,
    ...extraHeaders,
    'Content-Length': String(Buffer.byteLength(answer.body)),
  });
  res.end(answer.body);
}

/** The whole body as text, or undefined when it is too large or the client went away. */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.destroy();
        resolve(undefined);
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(undefined));
  });
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

export async function startDemoApi(options: DemoApiOptions = {}): Promise<DemoApi> {
  const { port = 0, host = '127.0.0.1', faultRate = 0.3, seed, log = () => {}, faults = FAULT_KINDS, slowMs = SLOW_ANSWER_MS } = options;
  if (!(slowMs >= 0 && Number.isFinite(slowMs))) throw new RangeError(`slowMs must be a number of milliseconds, got ${slowMs}.`);
  const pickFault = faultPicker(faultRate, faults, seed);
  const ledger = new Ledger();
  const memory = new KeyMemory();
  const heldAnswers = new Set<NodeJS.Timeout>();

  /** Applies the operation, then answers it as the fault (if any) says; `store` caches the answer under its key. */
  function deliver(req: IncomingMessage, res: ServerResponse, label: string, answer: Answer, fault: FaultKind | undefined, store: () => void): void {
    const outcome = answer.status < 300 ? 'applied' : 'refused';
    if (fault === 'lost-answer') {
      store();
      log(`${label} → ${answer.status} ${outcome}, then the connection dropped (injected: the answer is lost)`);
      req.socket.destroy();
      return;
    }
    if (fault === 'slow') {
      log(`${label} → ${outcome}, answer held for ${slowMs} ms (injected: slow answer)`);
      const timer = setTimeout(() => {
        heldAnswers.delete(timer);
        store();
        log(`${label} → ${answer.status} sent after ${slowMs} ms`);
        send(req, res, answer);
      }, slowMs);
      heldAnswers.add(timer);
      return;
    }
    store();
    log(`${label} → ${answer.status} ${outcome}`);
    send(req, res, answer);
  }

  function handleWrite(req: IncomingMessage, res: ServerResponse, path: string, write: Write, text: string): void {
    const method = req.method ?? 'POST';
    const header = req.headers['idempotency-key'];
    const key = typeof header === 'string' ? header : undefined;
    const tenant = req.headers.authorization ?? '';
    const label = `${method} ${path}${key === undefined ? ' (no key)' : ` [${key}]`}`;
    const reply = (answer: Answer, note: string, headers: Record<string, string> = {}): void => {
      log(`${label} → ${answer.status} ${note}`);
      send(req, res, answer, headers);
    };

    if (key !== undefined && !isValidKey(key)) {
      return reply(errorAnswer(400, 'invalid_idempotency_key', 'Idempotency-Key must be 1 to 255 ASCII characters.'), 'invalid key');
    }
    // Faults strike first attempts only, so every operation gets through on a retry.
    const firstAttempt = key === undefined || memory.countAttempt(tenant, key) === 1;
    const fault = firstAttempt ? pickFault() : undefined;
    if (fault === 'unavailable') {
      return reply(errorAnswer(503, 'service_unavailable', 'Injected fault: try again with the same key.'), 'nothing applied (injected: unavailable)');
    }
    if (fault === 'rate-limited') {
      return reply(errorAnswer(429, 'rate_limited', 'Injected fault: slow down.', { 'Retry-After': '1' }), 'nothing applied (injected: rate limited, Retry-After: 1)');
    }
    const apply = () => write(ledger, parseJson(text), key);
    // Without a key the API cannot tell a retry from a new request: each one is applied.
    if (key === undefined) return deliver(req, res, label, apply(), fault, () => {});

    const digest = fingerprint(method, path, text);
    const record = memory.get(tenant, key);
    if (record !== undefined) {
      if (record.fingerprint !== digest) {
        return reply(errorAnswer(422, 'idempotency_key_mismatch', 'This Idempotency-Key was used with another request.'), 'key reused with another body');
      }
      if (record.answer === undefined) {
        const answer = errorAnswer(409, 'idempotency_request_in_progress', 'A request with this Idempotency-Key is still in progress.', { 'Retry-After': '1' });
        return reply(answer, 'still in progress (Retry-After: 1)');
      }
      return reply(record.answer, 'replayed', { 'Idempotency-Replayed': 'true' });
    }
    // Remembered before its answer exists: until that is stored (a slow answer), a twin finds the key in progress.
    const fresh = memory.begin(tenant, key, digest);
    const answer = apply();
    deliver(req, res, label, answer, fault, () => (fresh.answer = answer));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'OPTIONS') return answerPreflight(req, res);
    const text = await readBody(req);
    if (text === undefined) return;
    const url = new URL(req.url ?? '/', 'http://demo.invalid');
    const path = url.pathname + url.search;
    const read = READS[url.pathname];
    const write = WRITES[url.pathname];
    if (req.method === 'GET' && read) return send(req, res, read(ledger));
    if (req.method === 'POST' && write) return handleWrite(req, res, path, write, text);
    if (read || write) return send(req, res, errorAnswer(405, 'method_not_allowed', `${req.method} is not allowed on ${url.pathname}.`));
    send(req, res, errorAnswer(404, 'not_found', `No route for ${url.pathname}.`));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => send(req, res, errorAnswer(500, 'internal_error', String(error))));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${urlHost}:${address.port}`,
    applied: (key) => ledger.applied(key),
    appliedTotal: () => ledger.appliedTotal(),
    close() {
      for (const timer of heldAnswers) clearTimeout(timer);
      heldAnswers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      return closed;
    },
  };
}
