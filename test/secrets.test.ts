import type { ServerResponse } from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { createClient, memoryStore, type ClientOptions, type DurableEvents, type IntentStore } from '../src/index.js';
import { sqliteStore } from '../src/node.js';
import { postgresStore } from '../src/stores/postgres.js';
import { redisStore } from '../src/stores/redis.js';
import { makeIntent } from '../src/testing/intents.js';
import { type RawRequest, useRawServer } from './support/raw-server.js';
import { wholeIntent } from './support/planted.js';
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

/** Some of the names the secret rule holds secret (test/credentials.unit.test.ts has them all). */
const RULE_PARAMS = ['api_key', 'apikey', 'key', 'token', 'access_token', 'signature', 'sig', 'password', 'secret', 'client_secret', 'refresh_token', 'code'];

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

  it.each([...RULE_PARAMS, 'API_KEY', 'Token'])('%s is sent as is, journaled as sent, and masked in errors, events and pending()', async (name) => {
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

  it('a name given in secretParams is masked too, and the rule’s names still are', async () => {
    server.answer(byPath);
    const store = memoryStore();
    const lines: string[] = [];
    const client = clientWith(store, lines, { secretParams: ['shop_ref'] });
    const error = await client.post('v1/fail', { json: {}, searchParams: { shop_ref: 'PLANTED_custom', token: 'PLANTED_token' } }).catch((caught: unknown) => caught);

    expect(server.requests[0]?.path).toBe('/v1/fail?shop_ref=PLANTED_custom&token=PLANTED_token');
    expect((error as Error).message).toContain('/v1/fail?shop_ref=***&token=***');
    expect(shown([error, lines])).not.toMatch(/PLANTED/);
  });

  it('the CLI masks the rule’s names, and a name given with --secret-param', async () => {
    server.answer(byPath);
    const dir = await tempDir();
    const store = sqliteStore(join(dir, 'intents.db'));
    await clientWith(store, [], { secretParams: ['shop_ref'] })
      .post('v1/drop', { json: {}, searchParams: { shop_ref: 'PLANTED_custom', access_token: 'PLANTED_token' } })
      .catch(() => undefined);
    await store.close();

    const table = await cli('list', dir, '--secret-param', 'shop_ref');
    const json = await cli('list', dir, '--json', '--secret-param=shop_ref');
    expect(table).toContain('/v1/drop?shop_ref=***&access_token=***');
    expect(shown([table, json])).not.toMatch(/PLANTED/);
    // Without being told, the CLI cannot know the name: the rule’s are still masked.
    expect(await cli('list', dir)).toContain('shop_ref=PLANTED_custom&access_token=***');
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
      secretParams: ['shop_ref'],
      retry: { limit: 1, delay: () => 0 },
      timeout: 5_000,
      on: capturing(lines),
    };
    const api = createClient(options);
    // A call's own header that is no credential is journaled, for recovery.
    const perCall = { headers: { 'X-Request-Source': 'nightly' } };
    const query = { token: 'PLANTED_query_token_0a7', shop_ref: 'PLANTED_custom_param_1b8' };
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
    const cliOutput = [await cli('list', journal, '--secret-param', 'shop_ref'), await cli('list', journal, '--json', '--secret-param', 'shop_ref')];
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

/** Every event there is, each payload as a logger would write it: JSON with errors spelled out, and as console.log prints it. */
function everyEvent(lines: string[]): DurableEvents {
  const log = (name: string) => (event: unknown) => void lines.push(`${name} ${reveal(event)}`);
  return {
    start: log('start'), attempt: log('attempt'), attemptEnd: log('attemptEnd'), retry: log('retry'), throttle: log('throttle'),
    replay: log('replay'), journalAnswer: log('journalAnswer'), ownerWait: log('ownerWait'), unstoredAnswer: log('unstoredAnswer'),
    end: log('end'), recovery: log('recovery'), error: log('error'),
    traceparent: (event) => void lines.push(`traceparent ${reveal(event)}`),
  };
}

/**
 * All a person or a log could see of a value: JSON.stringify with every Error spelled out (name,
 * message, stack, its own fields, its request's and response's URLs, its cause, all the way
 * down), Responses and Requests by URL; and util.inspect, as console.log or a crash prints it.
 */
function reveal(value: unknown): string {
  const json = JSON.stringify(value, (_key, item: unknown) => {
    if (item instanceof Response) return { response: item.url, status: item.status };
    if (item instanceof Request) return { request: item.url, method: item.method };
    if (!(item instanceof Error)) return item;
    const { request, response, cause } = item as Error & { request?: Request; response?: Response };
    return { ...item, name: item.name, message: item.message, stack: item.stack, string: String(item), request, response, cause };
  });
  return `${json}\n${inspect(value, { depth: 12 })}`;
}

/** The CLI in-process: its exit code, and all it printed. */
async function cliRun(...args: string[]): Promise<{ code: number; text: string }> {
  let text = '';
  const code = await main(args, (line) => (text += `${line}\n`), (line) => (text += `${line}\n`));
  return { code, text };
}

/** Query names that reached errors, events, pending(), recovery outcomes and the CLI unmasked before the rule was one. */
const LEAKED_NAMES = [
  'X-Amz-Signature', 'X-Amz-Credential', 'X-Amz-Security-Token', 'X-Goog-Signature', 'X-Goog-Credential', 'client_secret', 'refresh_token',
  'id_token', 'api-key', 'session_id', 'auth', 'jwt', 'code', 'sig',
];

describe('every text the package makes, in runs with secrets planted everywhere, holds none of them', () => {
  it('errors of every kind, every event, pending(), recover() outcomes, the CLI, store errors', { timeout: 60_000 }, async () => {
    let busy = true;
    server.answer((request, res) => {
      const path = request.path.split(/[?#]/)[0];
      if (path === '/v1/drop' && busy) return void res.socket?.destroy();
      if (path === '/v1/stall' && busy) return; // never answered
      if (path === '/v1/fail') return void res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"amount_invalid"}');
      if (path === '/v1/busy' && busy) return void res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"busy"}');
      const replayed = path === '/v1/replayed' ? { 'idempotent-replayed': 'true' } : {};
      res.writeHead(201, { 'content-type': 'application/json', ...replayed });
      res.end(path === '/v1/big' ? JSON.stringify({ padding: 'x'.repeat(4096) }) : '{"id":"po_1"}');
    });
    const dir = await tempDir();
    const journal = join(dir, '.idempotency');
    const store = sqliteStore(join(journal, 'intents.db'));
    const lines: string[] = [];
    const errors: unknown[] = [];
    const shownThings: unknown[] = [];
    const failure = async (call: () => unknown) => {
      try {
        await call();
      } catch (error) {
        errors.push(error);
        return;
      }
      expect.unreachable('the call should fail');
    };
    const query: Record<string, string> = Object.fromEntries(LEAKED_NAMES.map((name, n) => [name, `PLANTED_query_${n}`]));
    query.amount = '5';
    const options: ClientOptions = {
      prefix: server.url,
      store,
      // Credentials live on the client: a call may not bring its own (recovery could not send it again).
      headers: { Authorization: 'Bearer PLANTED_bearer', 'X-Api-Key': 'PLANTED_apikey_header', Cookie: 'sid=PLANTED_cookie', 'X-Session-Id': 'PLANTED_session_header' },
      retry: { limit: 1, delay: () => 0 },
      timeout: 400,
      on: everyEvent(lines),
    };
    const api = createClient(options);
    const call = (extra: Record<string, unknown> = {}) => ({
      json: { amount: 1 },
      searchParams: query,
      ...extra,
    });
    const fragment = '#access_token=PLANTED_fragment_token&state=s1&expires_in=60';

    // Succeeds, is answered from the journal, marked a replay by the server.
    expect((await api.post(`v1/ok${fragment}`, call({ idempotencyKey: 'run-ok' }))).status).toBe(201);
    await api.flush();
    expect((await api.post(`v1/ok${fragment}`, call({ idempotencyKey: 'run-ok' }))).replayed).toBe(true);
    expect((await api.post('v1/replayed', call())).replayed).toBe(true);
    // HTTPError, network error, timeout, 503 retried then HTTPError, mismatch, invalid key.
    await failure(() => api.post('v1/fail', call()));
    await failure(() => api.post(`v1/drop${fragment}`, call({ idempotencyKey: 'run-drop' })));
    await failure(() => api.post('v1/stall', call({ idempotencyKey: 'run-stall' })));
    await failure(() => api.post('v1/busy', call({ idempotencyKey: 'run-busy' })));
    await failure(() => api.post(`v1/ok${fragment}`, call({ idempotencyKey: 'run-ok', json: { amount: 2 } })));
    await failure(() => api.post('v1/ok', call({ idempotencyKey: ' padded ' })));
    // Headers whose values fetch refuses: named, never repeated.
    await failure(() => api.post('v1/ok', call({ headers: { 'X-Api-Key': 'PLANTED_nul_value\0' } })));
    await failure(() => api.post('v1/ok', call({ headers: [['X-Evil', 'PLANTED_crlf_value\r\nX-Injected: 1']] })));
    // Plain requests: ky's own errors, masked too.
    await failure(() => api.get('v1/fail', { searchParams: query, retry: 0 }));
    await failure(() => api.get('v1/drop', { searchParams: query, retry: 0 }));
    // Expired: the key's TTL passed while the intent was pending.
    const shortLived = createClient({ ...options, keyTtlMs: 1 });
    await failure(() => shortLived.post('v1/drop', call({ idempotencyKey: 'run-expired' })));
    await sleep(10);
    await failure(() => shortLived.post('v1/drop', call({ idempotencyKey: 'run-expired' })));
    // The retry budget stops a retry.
    await failure(() => createClient({ ...options, retryBudget: { capacity: 4, retryCost: 5 } }).post('v1/busy', call()));
    // Another owner holds the key: ownerWait, then the wait ends (totalTimeout).
    const holder = createClient({ ...options, timeout: 1_500, retry: 0 }).post('v1/stall', call({ idempotencyKey: 'run-held' }));
    const held = holder.catch((error: unknown) => void errors.push(error));
    while (!server.requests.some((request) => request.path.startsWith('/v1/stall') && request.headers['idempotency-key'] === 'run-held')) await sleep(10);
    await failure(() => createClient({ ...options, totalTimeout: 400 }).post('v1/stall', call({ idempotencyKey: 'run-held' })));
    await held;
    // An answer too big for the store: settled without it (unstoredAnswer).
    const small = sqliteStore(join(dir, 'small', 'intents.db'), { maxBodyBytes: 1024 });
    expect((await createClient({ ...options, store: small }).post('v1/big', call())).status).toBe(201);
    await small.close();
    // The store is closed: a store error.
    const closed = sqliteStore(join(dir, 'closed', 'intents.db'));
    await closed.close();
    await failure(() => createClient({ ...options, store: closed }).post('v1/ok', call()));

    // Rows written by hand: userinfo in the URL, secrets in query and fragment, userinfo in the origin.
    const planted = [
      makeIntent({ scope: 'default', idempotencyKey: 'planted-userinfo', origin: server.url,
        url: `http://PLANTED_row_user:PLANTED_row_pass@${new URL(server.url).host}/v1/ok?token=PLANTED_row_token#code=PLANTED_row_code` }),
      // Whole, as a client writes it (its id and fingerprint follow from its request), or recovery would take it for damaged.
      await wholeIntent({ idempotencyKey: 'planted-query', url: `${server.url}/v1/ok?client_secret=PLANTED_row_secret&n=1#id_token=PLANTED_row_idtoken` }),
      // Its id is opaque, handed back to resolve() as it is: written here as the client writes ids.
      makeIntent({ scope: 'default', idempotencyKey: 'planted-origin', id: 'POST http://elsewhere.test/v1/ok planted-origin', origin: 'http://PLANTED_origin_user:PLANTED_origin_pass@elsewhere.test',
        url: 'http://PLANTED_origin_user:PLANTED_origin_pass@elsewhere.test/v1/ok?jwt=PLANTED_origin_jwt' }),
    ];
    for (const intent of planted) await store.create(intent);

    const pending = await api.pending();
    expect(pending.map((intent) => intent.idempotencyKey)).toEqual(expect.arrayContaining(['run-drop', 'run-expired', 'planted-userinfo', 'planted-query', 'planted-origin']));
    shownThings.push(pending);
    busy = false;
    const outcomes = await createClient(options).recover();
    shownThings.push(outcomes);
    expect(Object.fromEntries(outcomes.map((outcome) => [outcome.idempotencyKey, outcome.state]))).toMatchObject({
      'run-drop': 'succeeded', 'run-stall': 'succeeded', 'run-busy': 'succeeded',
      'planted-userinfo': 'skipped', 'planted-query': 'succeeded', 'planted-origin': 'skipped',
    });
    expect(outcomes.find((outcome) => outcome.idempotencyKey === 'planted-query')?.response?.url).toBe(`${server.url}/v1/ok?client_secret=***&n=1`);
    await api.flush();

    // What was planted was used: sent to the server, or kept in the journal as sent.
    const sent = server.requests.map((request) => request.path).join('\n');
    for (const value of Object.values(query).filter((value) => value.startsWith('PLANTED'))) expect(sent).toContain(value);
    expect(sent).toContain('PLANTED_row_secret');
    expect(server.requests.some((request) => request.headers.authorization === 'Bearer PLANTED_bearer' && request.headers.cookie === 'sid=PLANTED_cookie')).toBe(true);
    const urls = (await store.list()).map((intent) => intent.url).join('\n');
    for (const value of ['PLANTED_fragment_token', 'PLANTED_row_user', 'PLANTED_row_pass', 'PLANTED_origin_jwt']) expect(urls).toContain(value);
    await api.close();

    const cliOutput = [await cliRun('list', journal), await cliRun('list', journal, '--json')];
    expect(cliOutput.map((run) => run.code)).toEqual([0, 0]);
    // Store errors: a URL they cannot use, in the stores and on the command line.
    const storeErrors: unknown[] = [];
    for (const open of [
      () => redisStore({ url: 'redis//:PLANTED_redis_pass@localhost' }),
      () => redisStore({ url: 'redis://:PLANTED_redis%zz@localhost' }),
      () => postgresStore({ connectionString: 'postgres://app:PLANTED_pg_pass@localhost:port/app' }),
    ]) {
      try {
        open();
        expect.unreachable('the store should refuse the URL');
      } catch (error) {
        expect(error).toBeInstanceOf(TypeError);
        storeErrors.push(error);
      }
    }
    const cliErrors = [
      await cliRun('list', '--redis', 'redis//:PLANTED_cli_redis@localhost'),
      await cliRun('list', '--postgres', 'postgres://app:PLANTED_cli_pg@localhost:port/app'),
      await cliRun('list', '--postgres', 'postgres://app:PLANTED_cli_pg@127.0.0.1:1/app'),
    ];
    expect(cliErrors.map((run) => run.code)).toEqual([2, 2, 1]);

    // Every kind provoked, and every event heard.
    const kinds = new Set(errors.map((error) => (error as Error).name));
    for (const kind of ['HTTPError', 'NetworkError', 'TimeoutError', 'IdempotencyMismatchError', 'IdempotencyKeyInvalidError', 'IdempotencyKeyExpiredError',
      'RetryBudgetError', 'IdempotencyConflictError', 'IdempotencyStoreError', 'TypeError']) expect(kinds).toContain(kind);
    const heard = new Set(lines.map((line) => line.split(' ', 1)[0]));
    for (const name of ['start', 'attempt', 'attemptEnd', 'retry', 'throttle', 'replay', 'journalAnswer', 'ownerWait', 'unstoredAnswer', 'end', 'recovery', 'traceparent']) {
      expect(heard, name).toContain(name);
    }

    const everything = [reveal(errors), ...lines, reveal(shownThings), reveal(cliOutput), reveal(storeErrors), reveal(cliErrors)].join('\n');
    expect(everything).toContain('client_secret=***');
    expect(everything).toContain('#access_token=***&state=s1&expires_in=60');
    expect(everything.match(/PLANTED_\w+/g) ?? []).toEqual([]);
  });
});
