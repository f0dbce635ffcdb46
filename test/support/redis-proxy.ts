/**
 * A TCP proxy in front of a Redis server, for tests that must catch one command on its way: it
 * passes every connection through byte for byte, and can stop at the next call of a script (by
 * its SHA1) — before Redis gets it, or after Redis has run it, its reply kept from the client.
 * A connection to Redis that fails or ends ends the client's connection too, as Redis's own would.
 */
import { once } from 'node:events';
import { type Socket, connect, createServer } from 'node:net';

export interface RedisProxy {
  /** `redis://127.0.0.1:<port>`: connect here instead of to Redis. */
  url: string;
  /**
   * Resolves when the `nth` EVALSHA of `sha` from now (1: the next) goes through: `before` keeps it
   * from Redis; `after` lets Redis run it and keeps Redis's answer from the client. Nothing more
   * passes on that connection either way: the test then crashes Redis, which ends it.
   */
  trap(sha: string, when: 'before' | 'after', nth?: number): Promise<void>;
  /** While blocked, every new connection is closed at once, as if Redis could not be reached from here. */
  block(blocked: boolean): void;
  close(): Promise<void>;
}

export async function startRedisProxy(redisUrl: string): Promise<RedisProxy> {
  const { hostname, port } = new URL(redisUrl);
  const sockets = new Set<Socket>();
  let armed: { sha: string; when: 'before' | 'after'; left: number; sprung: () => void } | undefined;
  let blocked = false;

  const server = createServer((client) => {
    if (blocked) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(port), hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
      socket.on('error', () => {});
    }
    let stopped = false;
    let answerAwaited: (() => void) | undefined;
    client.on('data', (chunk: Buffer) => {
      if (stopped) return;
      const trap = armed;
      if (trap && chunk.includes(trap.sha) && --trap.left === 0) {
        armed = undefined;
        if (trap.when === 'before') {
          stopped = true;
          trap.sprung();
          return;
        }
        answerAwaited = trap.sprung;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (stopped) return;
      if (answerAwaited) {
        stopped = true;
        answerAwaited();
        answerAwaited = undefined;
        return;
      }
      client.write(chunk);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as { port: number };

  return {
    url: `redis://127.0.0.1:${address.port}`,
    trap: (sha, when, nth = 1) => new Promise<void>((sprung) => (armed = { sha, when, left: nth, sprung })),
    block(on) {
      blocked = on;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
