import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { type RedisServer, type RedisServerOptions, startRedisServer } from '../../support/redis-server.js';

export { type RedisServer, type RedisServerOptions, startRedisServer };

/** A server for the file's tests: started before the first, stopped after the last. */
export function useRedisServer(options?: RedisServerOptions): () => RedisServer {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startRedisServer(options);
  });
  afterAll(() => server?.stop());
  return () => {
    if (!server) throw new Error('The Redis server is not started yet: call it inside a test.');
    return server;
  };
}

/** A key prefix no other test uses: a fresh, empty store on a shared server. */
export function freshKeyPrefix(): string {
  return `test-${randomUUID()}:`;
}
