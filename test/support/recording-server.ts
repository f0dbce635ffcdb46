/**
 * A payouts API that keeps a record of every request: its key, who sent it, when it arrived and
 * when it ended (answered, or its socket closed). By default it does NOT deduplicate — every
 * request is a payout — so a double send by live owners shows up as a key applied twice, and two
 * owners at once as two open requests for one key. With `dedupe`, it behaves like the APIs we call:
 * a key seen before is answered with the first answer (409 while that one is still open).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  key: string;
  /** The `x-sender` header: which process sent it. */
  sender: string;
  /** process.hrtime-based ms, comparable within the test process. */
  arrivedAt: number;
  endedAt: number | undefined;
  /** 'applied' (a payout ran), 'replayed', 'in-flight' (409), or 'closed' (the client went away first). */
  outcome: 'applied' | 'replayed' | 'in-flight' | 'closed' | undefined;
}

export interface RecordingServerOptions {
  dedupe?: boolean;
  /** How long to hold each answer, ms (0: answer at once). Called per request. */
  hold?: (request: RecordedRequest) => number;
  /** Holds the answer until the promise settles (after `hold`, if both are given): the test says when. */
  holdUntil?: (request: RecordedRequest) => Promise<unknown> | undefined;
  /** Runs as each request arrives, before anything is applied: e.g. a check that its intent is journaled. */
  onArrival?: (request: RecordedRequest) => void;
}

export interface RecordingServer {
  url: string;
  requests: RecordedRequest[];
  /** How many payouts ran for the key. */
  applied(key: string): number;
  /** Keys whose payout ran more than once. */
  appliedTwice(): string[];
  /** For each key, the most requests open at one moment, and keys for which that exceeded one. */
  overlapping(): string[];
  /** Errors thrown by `onArrival`, kept to be asserted (a throwing check must not pass silently). */
  arrivalErrors: unknown[];
  /** Resolves once no request is open. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const now = () => performance.timeOrigin + performance.now();

export async function startRecordingServer(options: RecordingServerOptions = {}): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  /** The first answer of each key, once it was given. */
  const answers = new Map<string, string>();
  const payouts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const arrivalErrors: unknown[] = [];
  let open = 0;
  let idleWaiters: Array<() => void> = [];

  function end(record: RecordedRequest, outcome: RecordedRequest['outcome']): void {
    if (record.endedAt !== undefined) return;
    record.endedAt = now();
    record.outcome ??= outcome;
    if (--open === 0) for (const resolve of idleWaiters.splice(0)) resolve();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const key = String(req.headers['idempotency-key'] ?? '');
    const record: RecordedRequest = { key, sender: String(req.headers['x-sender'] ?? ''), arrivedAt: now(), endedAt: undefined, outcome: undefined };
    requests.push(record);
    open++;
    res.on('close', () => end(record, 'closed'));
    try {
      options.onArrival?.(record);
    } catch (error) {
      arrivalErrors.push(error);
    }
    if (options.dedupe && payouts.has(key)) {
      const answer = answers.get(key);
      record.outcome = answer === undefined ? 'in-flight' : 'replayed';
      res.writeHead(answer === undefined ? 409 : 201, { 'content-type': 'application/json', ...(answer === undefined ? {} : { 'idempotent-replayed': 'true' }) });
      res.end(answer ?? JSON.stringify({ error: { code: 'idempotency_key_in_use', message: 'A request with this idempotency key is in progress' } }));
      return;
    }
    record.outcome = 'applied';
    const count = (payouts.get(key) ?? 0) + 1;
    payouts.set(key, count);
    const answer = JSON.stringify({ id: `po_${key}_${count}`, body: Buffer.concat(chunks).toString() });
    const reply = () => {
      answers.set(key, answer);
      if (res.destroyed) return;
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(answer);
    };
    const hold = options.hold?.(record) ?? 0;
    const until = options.holdUntil?.(record);
    const held = () => (until === undefined ? reply() : void until.then(reply, reply));
    if (hold > 0) setTimeout(held, hold);
    else held();
  }

  const server = createServer((req, res) => void handle(req, res));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    arrivalErrors,
    applied: (key) => payouts.get(key) ?? 0,
    appliedTwice: () => [...payouts].filter(([, count]) => count > 1).map(([key]) => key),
    overlapping() {
      const byKey = Map.groupBy(requests, (request) => request.key);
      return [...byKey].filter(([, list]) => list.some((a) => list.some((b) => a !== b && a.arrivedAt < (b.endedAt ?? Infinity) && b.arrivedAt < (a.endedAt ?? Infinity)))).map(([key]) => key);
    },
    idle: () => (open === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve))),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      idleWaiters = [];
    },
  };
}
