/**
 * A real HTTP server that behaves like the idempotent APIs the SDK must survive, and misbehaves on
 * cue: it drops connections before or after doing the work, answers 5xx and 429, stalls, and
 * answers as if a twin request were in flight.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { jsonAnswer, type Answer } from './answer.js';
import { handleControl, type ControlTarget } from './control.js';
import { DIALECT_RULES, type Dialect, type DialectRules } from './dialects.js';
import { isWrite, type Fault, type FaultScript } from './faults.js';
import { answerPreflight, drop, flatHeaders, readBody, send } from './http.js';
import { KeyStore } from './keys.js';
import { Ledger } from './ledger.js';
import type { Outcome, SeenPreflight, SeenRequest, TestServer, TestServerOptions } from './types.js';

export type { Answer } from './answer.js';
export { DIALECTS, DIALECT_RULES, REPLAY_HEADER_NAMES, isDialect, type Dialect } from './dialects.js';
export {
  combineFaults,
  faultOnFirstAttempts,
  faultOnce,
  seededRandom,
  type Fault,
  type FaultOnFirstAttemptsOptions,
  type FaultScript,
} from './faults.js';
export type { Outcome, SeenRequest, TestServer, TestServerOptions } from './types.js';

interface Result {
  answer: Answer;
  outcome: Outcome;
  extraHeaders?: Record<string, string>;
  /** Stores the answer under its key; deferred for a slow answer so twins see it in flight meanwhile. */
  commit?: () => void;
}

function sha256(...parts: Array<string | Buffer>): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\u0000');
  return hash.digest('hex');
}

function parseBody(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function faultStatusCode(status: number): string {
  if (status === 502) return 'bad_gateway';
  if (status === 503) return 'service_unavailable';
  if (status === 504) return 'gateway_timeout';
  return 'internal_error';
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  let dialect: Dialect = options.dialect ?? 'seed004';
  let faults: FaultScript | undefined = options.faults;
  const now = options.now ?? Date.now;
  const keys = new KeyStore(now, () => options.keyTtlMs ?? DIALECT_RULES[dialect].defaultTtlMs);
  const ledger = new Ledger();
  const requests: SeenRequest[] = [];
  const preflights: SeenPreflight[] = [];
  const sockets = new Set<Socket>();
  const slowTimers = new Set<NodeJS.Timeout>();
  let idleWaiters: Array<() => void> = [];
  let arrivalWaiters: Array<{ count: number; resolve: (r: SeenRequest) => void; reject: (e: Error) => void }> = [];
  let begun = 0;
  /** Requests open now, and the most open at once since the last reset. */
  let open = 0;
  let maxOpen = 0;
  let closed = false;
  let closing: Promise<void> = Promise.resolve();

  function announceArrival(): void {
    begun++;
    arrivalWaiters = arrivalWaiters.filter((waiter) => {
      const seen = requests[waiter.count - 1];
      if (begun < waiter.count || !seen) return true;
      waiter.resolve(seen);
      return false;
    });
  }

  function settleIdle(): void {
    if (slowTimers.size > 0 && !closed) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  function scopeId(rules: DialectRules, tenant: string, method: string, pathname: string, key: string): string {
    return rules.routeScoped ? `${tenant}\u0000${method} ${pathname}\u0000${key}` : `${tenant}\u0000${key}`;
  }

  /** The operation itself: the side effect, or one of the ordinary errors the converse tests need. */
  function operate(rules: DialectRules, seen: SeenRequest, key: string | undefined, pathname: string): Answer {
    if (pathname === '/v1/invalid') {
      return rules.error(422, 'validation_failed', 'amount must be a positive integer');
    }
    if (pathname === '/v1/business-conflict') {
      return rules.error(409, 'already_cancelled', 'booking is already cancelled');
    }
    const sequence = ledger.apply(seen.tenant, key);
    return jsonAnswer(seen.method === 'POST' ? 201 : 200, {
      id: `op_${sequence}`,
      key: key ?? null,
      received: parseBody(seen.body),
      sequence,
    });
  }

  async function processRequest(
    rules: DialectRules,
    seen: SeenRequest,
    key: string | undefined,
    bodyBytes: Buffer,
  ): Promise<Result> {
    const pathname = seen.path.split('?')[0] ?? seen.path;
    if (!pathname.startsWith('/v1/')) {
      return { answer: rules.error(404, 'not_found', `No route for ${pathname}`), outcome: 'not-found' };
    }
    if (seen.method === 'GET' || seen.method === 'HEAD') {
      return { answer: jsonAnswer(200, { ok: true, applied: ledger.appliedTotal() }), outcome: 'read' };
    }
    if (!isWrite(seen.method)) {
      const answer = rules.error(405, 'method_not_allowed', `${seen.method} is not supported`);
      return { answer, outcome: 'not-found' };
    }
    if (key === undefined) return { answer: operate(rules, seen, undefined, pathname), outcome: 'applied' };

    const invalid = rules.keyProblem(key);
    if (invalid) return { answer: invalid, outcome: 'invalid-key' };

    const id = scopeId(rules, seen.tenant, seen.method, pathname, key);
    const fingerprint = rules.routeScoped ? sha256(bodyBytes) : sha256(seen.method, seen.path, bodyBytes);
    const existing = keys.get(id);
    if (existing) {
      let stored = existing.answer;
      if (!stored) {
        if (!rules.twinsWait) return { answer: rules.inFlight(key), outcome: 'in-flight' };
        stored = await existing.stored;
      }
      if (existing.fingerprint !== fingerprint) return { answer: rules.mismatch(key), outcome: 'mismatch' };
      const extraHeaders: Record<string, string> = rules.replayHeader
        ? { [rules.replayHeader[0]]: rules.replayHeader[1] }
        : {};
      return { answer: stored, outcome: 'replayed', extraHeaders };
    }

    // Synchronously with the lookup above, so a twin arriving a moment later finds the key in flight.
    const record = keys.begin(id, fingerprint);
    const answer = operate(rules, seen, key, pathname);
    return { answer, outcome: 'applied', commit: () => record.store(answer) };
  }

  function finish(req: IncomingMessage, res: ServerResponse, seen: SeenRequest, result: Result): void {
    seen.outcome = result.outcome;
    if (res.destroyed || closed) return;
    seen.status = result.answer.status;
    send(req, res, result.answer, result.extraHeaders);
  }

  /** Faults whose answer replaces the whole processing; undefined when processing must run. */
  function faultAnswer(
    rules: DialectRules,
    fault: Fault | undefined,
    seen: SeenRequest,
    key: string | undefined,
  ): Result | undefined {
    switch (fault?.kind) {
      case 'status':
        return {
          answer: rules.error(fault.status, faultStatusCode(fault.status), 'The server could not complete the request'),
          outcome: 'fault',
          extraHeaders: fault.retryAfter === undefined ? {} : { 'Retry-After': fault.retryAfter },
        };
      case 'rate-limit':
        return {
          answer: rules.error(429, 'rate_limited', 'Too many requests'),
          outcome: 'fault',
          extraHeaders: { 'Retry-After': fault.retryAfter },
        };
      case 'redirect':
        return { answer: { status: fault.status, headers: { location: fault.location, 'content-type': 'text/plain' }, body: 'moved' }, outcome: 'fault' };
      case 'in-flight': {
        // Where twins wait (seed 002) and there is a first to wait for, ordinary processing does
        // exactly that and applies nothing, since the key is taken.
        if (rules.twinsWait && key !== undefined) {
          const pathname = seen.path.split('?')[0] ?? seen.path;
          if (keys.get(scopeId(rules, seen.tenant, seen.method, pathname, key))) return undefined;
        }
        return { answer: rules.inFlight(key ?? ''), outcome: 'in-flight' };
      }
      default:
        return undefined;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    if (method === 'OPTIONS') {
      preflights.push({
        path: req.url ?? '/',
        method: req.headers['access-control-request-method'] ?? '',
        headers: req.headers['access-control-request-headers'] ?? '',
      });
      return answerPreflight(req, res);
    }
    const bodyBytes = await readBody(req);
    if (bodyBytes === undefined || closed) return;
    const path = req.url ?? '/';
    if (path.startsWith('/__control/')) return handleControl(control, req, res, path, bodyBytes);

    // The dialect is read once: a test switching dialects must not change a request half-way.
    const rules = DIALECT_RULES[dialect];
    const headers = flatHeaders(req);
    const rawKey = headers['idempotency-key'];
    const key = rawKey === undefined ? undefined : rules.normaliseKey(rawKey);
    const tenant = headers.authorization ?? '';
    const seen: SeenRequest = {
      method,
      path,
      key: rawKey,
      tenant,
      attempt: ledger.countAttempt(tenant, key),
      body: bodyBytes.toString('utf8'),
      headers,
    };
    requests.push(seen);
    maxOpen = Math.max(maxOpen, ++open);
    res.on('close', () => open--);
    let responding: Promise<void>;
    try {
      responding = respond(req, res, rules, seen, key, bodyBytes);
    } finally {
      // respond() runs synchronously up to its first await, so a test woken by this arrival
      // already finds the key in flight.
      announceArrival();
    }
    await responding;
  }

  async function respond(
    req: IncomingMessage,
    res: ServerResponse,
    rules: DialectRules,
    seen: SeenRequest,
    key: string | undefined,
    bodyBytes: Buffer,
  ): Promise<void> {
    const fault = faults?.(seen);
    if (fault) seen.fault = fault;
    if (fault?.kind === 'drop-before') {
      seen.outcome = 'fault';
      drop(req);
      return;
    }
    const replaced = faultAnswer(rules, fault, seen, key);
    if (replaced) return finish(req, res, seen, replaced);

    const result = await processRequest(rules, seen, key, bodyBytes);
    if (fault?.kind === 'drop-after') {
      result.commit?.();
      seen.outcome = result.outcome;
      drop(req);
      return;
    }
    if (fault?.kind === 'no-answer') {
      // The socket stays open until the client lets go of it (or close() destroys it).
      result.commit?.();
      seen.outcome = result.outcome;
      return;
    }
    if (fault?.kind === 'slow') {
      if (closed) return;
      const timer = setTimeout(() => {
        slowTimers.delete(timer);
        result.commit?.();
        finish(req, res, seen, result);
        settleIdle();
      }, fault.ms);
      // A pending slow answer must never keep a test process alive; close() clears it as well.
      timer.unref();
      slowTimers.add(timer);
      return;
    }
    result.commit?.();
    finish(req, res, seen, result);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      send(req, res, jsonAnswer(500, { error: { code: 'test_server_bug', message: String(error) } }));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  const api: TestServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    get dialect() {
      return dialect;
    },
    requests,
    preflights,
    applied(key, tenant) {
      return ledger.applied(DIALECT_RULES[dialect].normaliseKey(key) ?? key, tenant);
    },
    appliedTotal: () => ledger.appliedTotal(),
    appliedUnkeyed: () => ledger.appliedUnkeyed(),
    setFaults(next) {
      faults = next;
    },
    setDialect(next) {
      dialect = next;
    },
    forgetKeys() {
      keys.clear();
    },
    reset() {
      keys.clear();
      ledger.reset();
      requests.length = 0;
      preflights.length = 0;
      begun = 0;
      maxOpen = open;
    },
    maxConcurrent: () => maxOpen,
    waitForRequests(count) {
      const seen = requests[count - 1];
      if (begun >= count && seen) return Promise.resolve(seen);
      if (closed) return Promise.reject(new Error('test server is closed'));
      return new Promise((resolve, reject) => arrivalWaiters.push({ count, resolve, reject }));
    },
    idle() {
      if (slowTimers.size === 0 || closed) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    close() {
      if (closed) return closing;
      closed = true;
      for (const timer of slowTimers) clearTimeout(timer);
      slowTimers.clear();
      settleIdle();
      for (const waiter of arrivalWaiters) waiter.reject(new Error('test server closed'));
      arrivalWaiters = [];
      closing = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      return closing;
    },
  };
  const control: ControlTarget = { server: api, appliedByKey: () => ledger.appliedByKey() };
  return api;
}
