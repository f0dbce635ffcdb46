/**
 * A bare node:http server for tests that need what the fault-injecting test server does not
 * keep: each request's exact body bytes and every header whatever the key header is called,
 * and answers written by hand (a body that trickles, headers then silence, Set-Cookie).
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach } from 'vitest';

export interface RawRequest {
  method: string;
  /** Path with query, as received. */
  path: string;
  /** Lower-case names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: Buffer;
}

/** Answers one request; the default answers 201 with a small JSON body. */
export type RawHandler = (request: RawRequest, res: ServerResponse) => void;

export interface RawServer {
  /** 'http://127.0.0.1:PORT' (also its origin). */
  url: string;
  /** Every request whose body arrived whole, in arrival order. */
  requests: RawRequest[];
  /** Replaces how the server answers (until `reset`). */
  answer(handler: RawHandler): void;
  /** Forgets requests and goes back to the default answer. */
  reset(): void;
  /** Closes every open socket (stalled answers included), then the server. */
  close(): Promise<void>;
}

export const created: RawHandler = (_request, res) => {
  res.writeHead(201, { 'content-type': 'application/json' });
  res.end('{"ok":true}');
};

export async function startRawServer(): Promise<RawServer> {
  const requests: RawRequest[] = [];
  const sockets = new Set<Socket>();
  let handler: RawHandler = created;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      const request = { method: req.method ?? '', path: req.url ?? '', headers, body: Buffer.concat(chunks) };
      requests.push(request);
      handler(request, res);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answer: (next) => (handler = next),
    reset() {
      requests.length = 0;
      handler = created;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One raw server for the file, reset before each test, closed after all. */
export function useRawServer(): RawServer {
  let current: RawServer | undefined;
  beforeAll(async () => {
    current = await startRawServer();
  });
  beforeEach(() => current?.reset());
  afterAll(() => current?.close());
  return new Proxy({} as RawServer, {
    get(_, property) {
      if (current === undefined) throw new Error('the raw server is started in beforeAll: use it inside tests');
      const value = Reflect.get(current, property);
      return typeof value === 'function' ? value.bind(current) : value;
    },
  });
}
