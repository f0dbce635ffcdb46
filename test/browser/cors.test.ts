/**
 * No CORS surprises: the test page and the test server are two origins (the page's dev server and
 * 127.0.0.1 on another port), so every keyed write is a cross-origin request. The server records
 * each preflight's Access-Control-Request-Headers: what the SDK makes the browser ask leave for.
 */
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { createClient } from '../../src/index.browser.js';
import { useJournals } from './journals.js';
import { testServer } from './test-server.js';

const server = testServer(inject('serverUrl'));
const newJournal = useJournals();

beforeEach(() => server.reset());

/** A path no earlier test has sent to: a browser may have cached a URL's preflight (Access-Control-Max-Age). */
const freshPath = () => `v1/payouts?cors=${crypto.randomUUID()}`;

describe('a cross-origin keyed write', () => {
  it('with json preflights for content-type and the key header, and nothing else', async () => {
    expect(new URL(server.url).origin).not.toBe(location.origin);
    const path = freshPath();
    const client = createClient({ prefix: server.url, store: newJournal().open() });

    const response = await client.post(path, { json: { amount: 5 } });
    await client.close();

    expect(response.status).toBe(201);
    const { preflights, requests } = await server.state();
    expect(preflights).toEqual([{ path: `/${path}`, method: 'POST', headers: 'content-type,idempotency-key' }]);
    expect(requests).toEqual([expect.objectContaining({ method: 'POST', path: `/${path}`, key: response.idempotencyKey })]);
  });

  it('with a form body (a CORS-safelisted type) preflights for the key header alone', async () => {
    const path = freshPath();
    const client = createClient({ prefix: server.url, store: newJournal().open() });

    await client.post(path, { body: new URLSearchParams({ amount: '5' }) });
    await client.close();

    expect((await server.state()).preflights).toEqual([{ path: `/${path}`, method: 'POST', headers: 'idempotency-key' }]);
  });

  it('with a custom keyHeader preflights for that header instead', async () => {
    const path = freshPath();
    const client = createClient({ prefix: server.url, store: newJournal().open(), keyHeader: 'X-Request-Id' });

    await client.post(path, { json: {} });
    await client.close();

    expect((await server.state()).preflights).toEqual([{ path: `/${path}`, method: 'POST', headers: 'content-type,x-request-id' }]);
  });
});
