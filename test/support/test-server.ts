import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startTestServer } from '../../support/server/index.js';
import type { TestServer, TestServerOptions } from '../../support/server/types.js';

/**
 * One test server for the file, started before its tests, clean (no faults, nothing seen or
 * applied) before each, closed after all. Reads like the server itself: `server.url`.
 */
export function useTestServer(options: TestServerOptions = { dialect: 'seed004' }): TestServer {
  let current: TestServer | undefined;
  beforeAll(async () => {
    current = await startTestServer(options);
  });
  beforeEach(() => {
    current?.reset();
    current?.setFaults(undefined);
  });
  afterAll(() => current?.close());
  return new Proxy({} as TestServer, {
    get(_, property) {
      if (current === undefined) throw new Error('the test server is started in beforeAll: use it inside tests');
      const value = Reflect.get(current, property);
      return typeof value === 'function' ? value.bind(current) : value;
    },
  });
}
