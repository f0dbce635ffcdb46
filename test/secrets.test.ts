import type { ServerResponse } from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { createClient, memoryStore, type ClientOptions, type DurableEvents, type IntentStore } from '../src/index.js';
import { sqliteStore } from '../src/node.js';
import { type RawRequest, useRawServer } from './support/raw-server.js';
import { tempDir } from './support/sqlite.js';

const server = useRawServer();

/** By path: /ok answers 201 with credentials in its headers, /fail 400, /drop loses the connection. */
function byPath(request: RawRequest, res: ServerResponse) {
  const path = request.path.split('?')[0];
  if (path === '/v1/drop') return void res.socket?.destroy();
  if (path === '/v1/fail') {
    res.writeHead(400, { 'content-type': 'application/json' });
    return void res.end('{"error":"amount_invalid"}');
  }
  res.writeHead(201, { 'content-type': 'application/json', 'set-cookie': 'sid=PLANTED_setcookie_a41; HttpOnly', 'x-api-key': 'PLANTED_answer_apikey_b52' });
  res.end('{"id":"po_1"}');
}

/** Whatever a person or a log could see: messages, String(), the request an error names, and its cause. */
function shown(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (!(item instanceof Error)) return item;
    const { request, cause } = item as Error & { request?: Request };
    return { name: item.name, message: item.message, string: String(item), request: request?.url, cause: cause === undefined ? undefined : String(cause) };
  });
}

/** Every event of every kind, as the app's logger would write it. */
function capturing(lines: string[]): DurableEvents {
  const log = (name: string) => (event: unknown) => void lines.push(`${name} ${shown(event)}`);
  return { attempt: log('attempt'), retry: log('retry'), replay: log('replay'), journalAnswer: log('journalAnswer'), recovery: log('recovery'), error: log('error') };
}

async function cli(...args: string[]): Promise<string> {
  let text = '';
  const code = await main(args, (line) => (text += `${line}\n`), (line) => (text += `${line}\n`));
  expect(code).toBe(0);
  return text;
}

/** Every byte of every file under `dir`, each file's name with it. */
async function filesUnder(dir: string): Promise<Array<{ name: string; bytes: Buffer }>> {
  const names = await readdir(dir, { recursive: true, withFileTypes: true });
  return Promise.all(names.filter((entry) => entry.isFile()).map(async (entry) => ({ name: entry.name, bytes: await readFile(join(entry.parentPath, entry.name)) })));
}

const DEFAULT_PARAMS = ['api_key', 'apikey', 'key', 'token', 'access_token', 'signature', 'sig', 'password', 'secret'];

describe('userinfo in the request URL', () => {
  it.each([
    ['an absolute URL string', (url: string) => `http://PLANTED_user:PLANTED_pass@${new URL(url).host}/v1/ok`],
    ['a URL object', (url: string) => new URL(`http://PLANTED_user:PLANTED_pass@${new URL(url).host}/v1/ok`)],
    ['a user alone', (url: string) => `http://PLANTED_user@${new URL(url).host}/v1/ok`],
  ])('in %s is refused with a TypeError before any I/O, without repeating it', async (_name, input) => {
    const store = memoryStore();
    const error = await createClient({ store }).post(input(server.url), { json: {} }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TypeError);
    expect(shown(error)).not.toMatch(/PLANTED/);
    expect(await store.list()).toEqual([]);
    expect(server.requests).toEqual([]);
  });
});

describe('credential-like query parameters', () => {
  const clientWith = (store: IntentStore, lines: string[], options: ClientOptions = {}) =>
    createClient({ prefix: server.url, store, retry: { limit: 0 }, on: capturing(lines), ...options });

  it.each([...DEFAULT_PARAMS, 'API_KEY', 'Token'])('%s is sent as is, journaled as sent, and masked in errors, events and pending()', async (name) => {
    server.answer(byPath);
    const store = memoryStore();
    const lines: string[] = [];
    const secret = `PLANTED_${name}_value`;
    const error = await clientWith(store, lines).post('v1/drop', { json: {}, searchParams: { [name]: secret, n: '1' } }).catch((caught: unknown) => caught);

    expect(server.requests[0]?.path).toBe(`/v1/drop?${name}=${secret}&n=1`);
    const [summary] = await store.list();
    expect(summary?.url).toBe(`${server.url}/v1/drop?${name}=${secret}&n=1`);
    const pending = await clientWith(store, lines).pending();
    expect(pending[0]?.url).toBe(`${server.url}/v1/drop?${name}=***&n=1`);
    expect(lines.length).toBeGreaterThan(0);
    expect(shown([error, lines, pending])).not.toContain(secret);
  });

  it('a name given in secretParams is masked too, and the default names still are', async () => {
    server.answer(byPath);
    const store = memoryStore();
    const lines: string[] = [];
    const client = clientWith(store, lines, { secretParams: ['session_ref'] });
    const error = await client.post('v1/fail', { json: {}, searchParams: { session_ref: 'PLANTED_custom', token: 'PLANTED_token' } }).catch((caught: unknown) => caught);

    expect(server.requests[0]?.path).toBe('/v1/fail?session_ref=PLANTED_custom&token=PLANTED_token');
    expect((error as Error).message).toContain('/v1/fail?session_ref=***&token=***');
    expect(shown([error, lines])).not.toMatch(/PLANTED/);
  });

  it('the CLI masks the default names, and a name given with --secret-param', async () => {
    server.answer(byPath);
    const dir = await tempDir();
    const store = sqliteStore(join(dir, 'intents.db'));
    await clientWith(store, [], { secretParams: ['session_ref'] })
      .post('v1/drop', { json: {}, searchParams: { session_ref: 'PLANTED_custom', access_token: 'PLANTED_token' } })
      .catch(() => undefined);
    await store.close();

    const table = await cli('list', dir, '--secret-param', 'session_ref');
    const json = await cli('list', dir, '--json', '--secret-param=session_ref');
    expect(table).toContain('/v1/drop?session_ref=***&access_token=***');
    expect(shown([table, json])).not.toMatch(/PLANTED/);
    // Without being told, the CLI cannot know the name: the defaults are still masked.
    expect(await cli('list', dir)).toContain('session_ref=PLANTED_custom&access_token=***');
  });
});

describe('credential headers', () => {
  it.each(['x-auth-key', 'ocp-apim-subscription-key', 'x-functions-key', 'cookie', 'set-cookie', 'x-session-id', 'authorization', 'proxy-authorization', 'x-api-key', 'x-csrf-token', 'x-client-secret', 'x-hub-signature', 'x-credential'])(
    '%s is refused in the client’s persistHeaders',
    (name) => {
      expect(() => createClient({ store: memoryStore(), persistHeaders: ['content-type', name] })).toThrow(TypeError);
      expect(() => createClient({ store: memoryStore(), persistHeaders: [name.toUpperCase()] })).toThrow(/persistHeaders cannot include/);
    },
  );

  it('are dropped from answers before they are journaled, so a journal answer never hands them out', async () => {
    server.answer(byPath);
    const store = memoryStore();
    const api = createClient({ prefix: server.url, store, retry: { limit: 0 } });
    const live = await api.post('v1/ok', { json: {}, idempotencyKey: 'answer-with-cookie' });
    expect(live.headers.get('x-api-key')).toBe('PLANTED_answer_apikey_b52');
    await api.flush();

    const [summary] = await store.list();
    const stored = await store.get(summary!.scope, summary!.id);
    expect(stored?.response?.headers).toEqual(expect.objectContaining({ 'content-type': 'application/json' }));
    expect(stored?.response?.headers).not.toHaveProperty('set-cookie');
    expect(stored?.response?.headers).not.toHaveProperty('x-api-key');
    const fromJournal = await api.post('v1/ok', { json: {}, idempotencyKey: 'answer-with-cookie' });
    expect([fromJournal.replayed, fromJournal.headers.get('set-cookie'), fromJournal.headers.get('x-api-key')]).toEqual([true, null, null]);
  });
});

describe('a whole run with secrets planted everywhere leaves none in the journal’s files or in anything shown', () => {
  it('calls that succeed, fail, stay pending and are recovered; pending(), events, errors and the CLI', async () => {
    server.answer(byPath);
    const dir = await tempDir();
    const journal = join(dir, '.idempotency');
    const store = sqliteStore(join(journal, 'intents.db'));
    const lines: string[] = [];
    const options: ClientOptions = {
      prefix: server.url,
      store,
      // Credentials live on the client: a call may not bring its own (recovery could not send it again).
      headers: { Authorization: 'Bearer PLANTED_bearer_c63', 'X-Api-Key': 'PLANTED_apikey_header_d74', Cookie: 'session=PLANTED_cookie_e85', 'X-Session-Id': 'PLANTED_sessionid_f96' },
      secretParams: ['session_ref'],
      retry: { limit: 1, delay: () => 0 },
      timeout: 5_000,
      on: capturing(lines),
    };
    const api = createClient(options);
    // A call's own header that is no credential is journaled, for recovery.
    const perCall = { headers: { 'X-Request-Source': 'nightly' } };
    const query = { token: 'PLANTED_query_token_0a7', session_ref: 'PLANTED_custom_param_1b8' };
    const shownThings: unknown[] = [];
    const failure = (call: Promise<unknown>) => call.then(() => expect.unreachable('the call should fail'), (error: unknown) => void shownThings.push(error));

    const ok = await api.post('v1/ok', { json: { amount: 1 }, idempotencyKey: 'run-ok', searchParams: query, ...perCall });
    await api.flush();
    const again = await api.post('v1/ok', { json: { amount: 1 }, idempotencyKey: 'run-ok', searchParams: query, ...perCall });
    expect([ok.status, again.replayed]).toEqual([201, true]);
    await failure(api.post('v1/fail', { json: { amount: -1 }, searchParams: query, ...perCall }));
    await failure(api.post('v1/drop', { json: { amount: 2 }, idempotencyKey: 'run-pending', searchParams: query, ...perCall }));
    await failure(api.post('v1/ok', { json: { amount: 3 }, idempotencyKey: 'run-ok', searchParams: query, ...perCall }));
    // A URL object: with a prefix, a string input is joined to it as a path, as ky 2 does.
    await failure(api.post(new URL(`http://PLANTED_userinfo_user:PLANTED_userinfo_pass@${new URL(server.url).host}/v1/ok`), { json: {}, ...perCall }));
    // A credential of the call's own is refused before anything is journaled, and its error names the header, never its value.
    await failure(api.post('v1/ok', { json: {}, headers: { 'X-Session-Id': 'PLANTED_sessionid_per_call_1c9' } }));
    shownThings.push(await api.pending());

    server.answer((request, res) => byPath({ ...request, path: '/v1/ok' }, res));
    const outcomes = await createClient(options).recover();
    expect(outcomes.map((outcome) => [outcome.idempotencyKey, outcome.state])).toEqual([['run-pending', 'succeeded']]);
    shownThings.push(outcomes);
    await api.flush();

    // The server got every secret it was sent: nothing was lost on the way, only kept out of sight.
    const sent = server.requests.find((request) => request.path.startsWith('/v1/ok'));
    expect(sent?.headers).toMatchObject({ authorization: 'Bearer PLANTED_bearer_c63', 'x-api-key': 'PLANTED_apikey_header_d74', cookie: 'session=PLANTED_cookie_e85' });
    expect(sent?.path).toContain('token=PLANTED_query_token_0a7');
    // The journal keeps the URL as sent: recovery must send the same request.
    expect((await store.list()).map((intent) => intent.url).every((url) => url.includes('token=PLANTED_query_token_0a7'))).toBe(true);

    const whileOpen = await filesUnder(journal);
    await api.close();
    const cliOutput = [await cli('list', journal, '--secret-param', 'session_ref'), await cli('list', journal, '--json', '--secret-param', 'session_ref')];
    const afterClose = await filesUnder(journal);

    expect(whileOpen.map((file) => file.name)).toEqual(expect.arrayContaining(['intents.db', 'intents.db-wal', 'intents.db-shm']));
    const everythingShown = shown([shownThings, lines, cliOutput]);
    expect(lines.length).toBeGreaterThan(5);
    expect(everythingShown).toContain('token=***');
    expect(everythingShown.match(/PLANTED_\w+/g) ?? []).toEqual([]);
    // Headers, cookies and userinfo never reach the files; query values do (the URL as sent), by design.
    const neverStored = ['PLANTED_bearer', 'PLANTED_apikey_header', 'PLANTED_cookie', 'PLANTED_sessionid', 'PLANTED_userinfo', 'PLANTED_setcookie', 'PLANTED_answer_apikey'];
    for (const { name, bytes } of [...whileOpen, ...afterClose]) {
      for (const secret of neverStored) expect(bytes.includes(secret), `${secret} in ${name}`).toBe(false);
    }
  });
});
