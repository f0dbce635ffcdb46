import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll } from 'vitest';

export const ORIGIN = 'https://api.test';

/** One msw server per test file, failing on any request no handler expects. */
export function useMsw() {
  const server = setupServer();
  beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());
  return server;
}

/** Answers every write to `path` with `answer`, recording each request's key and body. */
export function answering(path: string, answer: () => Response) {
  const seen: Array<{ method: string; key: string | null; body: string }> = [];
  const handler = http.all(`${ORIGIN}${path}`, async ({ request }) => {
    seen.push({ method: request.method, key: request.headers.get('idempotency-key'), body: await request.text() });
    return answer();
  });
  return { handler, seen };
}

export { http, HttpResponse };
