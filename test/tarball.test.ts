/**
 * The package as users get it: `npm pack`, the tarball installed into an empty project with none
 * of the optional peers (pg, redis, vitest, @opentelemetry/api), then used the way a newcomer
 * does — the bin through npx, every entry point imported, the public types compiled — on the
 * toolchain's Node 24 and, for the version message, the system's Node 20. dist/ is built by the
 * node project's globalSetup. Offline-friendly: the four dependencies come from npm's cache.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findNode20 } from './support/node20.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');
const VERSION_MESSAGE = /^durable-fetch needs Node\.js 22\.13 or later \(for node:sqlite\); this is Node\.js 20\.\d+\.\d+\. Upgrade Node\.js\.$/;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a user's shell: none of the npm_* variables `npm test` sets (npm would take
 * npm_config_local_prefix for the project and install into this checkout), the npm cache and
 * registry kept; `node` is the given binary's, first on PATH, and no node_modules/.bin is.
 */
function userEnv(node: string): NodeJS.ProcessEnv {
  const kept = Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) || /^npm_config_(cache|registry)$/i.test(name));
  const path = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '' && !dir.includes('node_modules'));
  return { ...Object.fromEntries(kept), PATH: [dirname(node), ...path].join(delimiter) };
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

// Journals one intent (enqueue sends nothing), as an application would, through both Node entries.
const JOURNAL_SCRIPT = `
import { createClient } from 'durable-fetch';
import { sqliteStore } from 'durable-fetch/node';

const api = createClient({ prefix: 'https://api.example.com/v1/', store: sqliteStore('.idempotency/intents.db') });
const { idempotencyKey } = await api.enqueue('POST', 'payouts?token=s3cret', { json: { amount: 500 }, idempotencyKey: 'payout-42' });
await api.close();
console.log(idempotencyKey);
`;

// Every entry point, imported: what each exports, or how it fails.
const IMPORT_SCRIPT = `
const entries = ['durable-fetch', 'durable-fetch/node', 'durable-fetch/browser', 'durable-fetch/testing', 'durable-fetch/otel', 'durable-fetch/postgres', 'durable-fetch/redis', 'durable-fetch/sw'];
const results = {};
const modules = {};
for (const entry of entries) {
  try {
    modules[entry] = await import(entry);
    results[entry] = { exports: Object.keys(modules[entry]).sort() };
  } catch (error) {
    results[entry] = { code: error.code, message: error.message };
  }
}
const root = modules['durable-fetch'];
const browser = modules['durable-fetch/browser'];
results.sameClasses = root.IdempotencyError === browser.IdempotencyError && root.HTTPError === browser.HTTPError && root.memoryStore === browser.memoryStore;
console.log(JSON.stringify(results));
`;

// What a browser app in TypeScript writes: no @types/node.
const BROWSER_TYPES = `
import { createClient, HTTPError, IdempotencyError, indexedDbStore, requestBackgroundRecovery, type ClientOptions, type DurableClient, type DurableResponse, type PendingIntent } from 'durable-fetch/browser';
import { createClient as createDefaultClient, memoryStore, type IntentStore, type RecoveryOutcome } from 'durable-fetch';
import { finishPendingIntents } from 'durable-fetch/sw';

const options: ClientOptions = { prefix: 'https://api.example.com/v1/', store: indexedDbStore({ name: 'app' }) };
const api: DurableClient = createClient(options);
const store: IntentStore = memoryStore();
void [createDefaultClient, store, requestBackgroundRecovery, finishPendingIntents];

export async function pay(): Promise<PendingIntent[]> {
  try {
    const res: DurableResponse = await api.post('payouts', { json: { amount: 500 } });
    const body: { id: string } = await res.json();
    void body;
  } catch (error) {
    if (!(error instanceof HTTPError || error instanceof IdempotencyError)) throw error;
  }
  const outcomes: RecoveryOutcome[] = await api.recover();
  void outcomes;
  return api.pending();
}
`;

// What a Node service in TypeScript writes (with @types/node, as Node projects have).
const NODE_TYPES = `
import { createClient, IdempotencyMismatchError, type DurableEvents, type Intent, type IntentStore } from 'durable-fetch';
import { openSqliteReadOnly, sqliteStore, type SqliteStore, type SqliteStoreOptions } from 'durable-fetch/node';

const options: SqliteStoreOptions = {};
const store: SqliteStore = sqliteStore('.idempotency/intents.db', options);
const on: DurableEvents = { end: (event) => console.log(event.idempotencyKey) };
const api = createClient({ prefix: 'https://api.example.com/v1/', store, on });
const asStore: IntentStore = store;

export async function payout(amount: number): Promise<Intent[]> {
  try {
    await api.post('payouts', { json: { amount }, idempotencyKey: 'payout-1' });
  } catch (error) {
    if (!(error instanceof IdempotencyMismatchError)) throw error;
  }
  const reader = openSqliteReadOnly(store.path);
  reader.close();
  return [];
}
void asStore;
`;

describe('the package as users get it: packed, installed without its optional peers', () => {
  let work: string;
  let app: string;
  let node24: NodeJS.ProcessEnv;
  let node20: NodeJS.ProcessEnv;
  let node20Binary: string;
  // As a user types it; npm_config_yes=false: npx may never fetch a package, only run the one installed.
  const npx = (env: NodeJS.ProcessEnv, ...args: string[]) => run('npx', ['durable-fetch', ...args], app, { ...env, npm_config_yes: 'false' });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'durable-fetch-tarball-'));
    app = join(work, 'app');
    node24 = userEnv(process.execPath);
    node20Binary = findNode20();
    node20 = userEnv(node20Binary);
    const packed = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], ROOT, node24);
    if (packed.code !== 0) throw new Error(`npm pack failed: ${packed.stderr}`);
    const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
    await mkdir(app);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    const installed = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, filename)], app, node24);
    if (installed.code !== 0) throw new Error(`npm install of the tarball failed: ${installed.stderr}`);
    await writeFile(join(app, 'journal.mjs'), JOURNAL_SCRIPT);
    await writeFile(join(app, 'imports.mjs'), IMPORT_SCRIPT);
    await writeFile(join(app, 'browser-types.ts'), BROWSER_TYPES);
    await writeFile(join(app, 'node-types.ts'), NODE_TYPES);
  }, 120_000);
  afterAll(() => (work ? rm(work, { recursive: true, force: true }) : undefined));

  it('installs only its four dependencies: no pg, redis, vitest or @opentelemetry/api', async () => {
    const installed = await readdir(join(app, 'node_modules'));
    expect(installed).toEqual(expect.arrayContaining(['durable-fetch', 'ky', 'p-retry', 'uuid', 'idb-keyval']));
    for (const peer of ['pg', 'redis', 'vitest', '@opentelemetry']) expect(installed).not.toContain(peer);
  });

  it('npx durable-fetch --help prints the usage, exit 0', async () => {
    const result = await npx(node24, '--help');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^Usage: durable-fetch list \[path\]/);
    expect(result.stdout).toContain('durable-fetch migrate --postgres URL');
  });

  it('npx durable-fetch list shows the pending intent a script journaled through durable-fetch and durable-fetch/node', async () => {
    const journaled = await run(process.execPath, ['journal.mjs'], app, node24);
    expect(journaled).toEqual({ code: 0, stdout: 'payout-42\n', stderr: '' });
    const result = await npx(node24, 'list');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const [header, row, blank, total] = result.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^STATE\s+AGE\s+METHOD\s+URL\s+ATTEMPTS\s+LEASE\s+KEY TTL\s+SCOPE\s+KEY$/);
    expect(row).toMatch(/^pending\s+\d+s\s+POST\s+https:\/\/api\.example\.com\/v1\/payouts\?token=\*\*\*\s+0\s+free\s+live\s+default\s+payout-42$/);
    expect([blank, total]).toEqual(['', '1 intent(s), 1 pending, 0 expired.']);
  });

  it('list --postgres or --redis without the peer says, in one line, which package to install: exit 1', async () => {
    expect(await npx(node24, 'list', '--postgres', 'postgres://x')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'durable-fetch: --postgres needs the npm package "pg": npm install pg\n',
    });
    expect(await npx(node24, 'list', '--redis', 'redis://x')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'durable-fetch: --redis needs the npm package "redis": npm install redis\n',
    });
  });

  it('migrate --postgres prints the DDL without pg, connecting to nothing', async () => {
    const result = await npx(node24, 'migrate', '--postgres', 'postgres://nobody@203.0.113.1/none', '--schema', 'billing');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('CREATE TABLE IF NOT EXISTS "billing"."durable_fetch_intents" (');
    expect(result.stdout).toContain('CREATE TABLE IF NOT EXISTS "billing"."durable_fetch_intents_owners" (');
    expect(result.stdout.match(/CREATE INDEX IF NOT EXISTS/g)).toHaveLength(3);
  });

  it("on Node 20 the bin says what the library says: the version it needs, one line, exit 1", async () => {
    const library = await run(node20Binary, ['--input-type=module', '-e', "import('durable-fetch').catch((error) => { console.log(error.message); })"], app, node20);
    expect(library.stdout.trim()).toMatch(VERSION_MESSAGE);
    for (const args of [['--help'], ['list'], ['migrate', '--postgres', 'postgres://x']]) {
      const result = await npx(node20, ...args);
      expect(result).toEqual({ code: 1, stdout: '', stderr: `durable-fetch: ${library.stdout.trim()}\n` });
    }
  });

  it('imports each entry point: the peer-free ones work, /postgres and /redis say what to install, /testing and /otel name their missing peer', async () => {
    const result = await run(process.execPath, ['imports.mjs'], app, node24);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const entries = JSON.parse(result.stdout) as Record<string, { exports?: string[]; code?: string; message?: string }> & { sameClasses: boolean };
    expect(entries['durable-fetch']?.exports).toEqual(expect.arrayContaining(['createClient', 'memoryStore', 'HTTPError', 'IdempotencyError']));
    expect(entries['durable-fetch/node']?.exports).toEqual(['openSqliteReadOnly', 'sqliteStore']);
    expect(entries['durable-fetch/browser']?.exports).toEqual(
      expect.arrayContaining(['createClient', 'indexedDbStore', 'requestBackgroundRecovery', 'BACKGROUND_SYNC_TAG', 'HTTPError', 'memoryStore']),
    );
    expect(entries['durable-fetch/sw']?.exports).toEqual(['BACKGROUND_SYNC_TAG', 'finishPendingIntents']);
    expect(entries.sameClasses).toBe(true);
    expect(entries['durable-fetch/postgres']).toEqual({
      code: 'ERR_MODULE_NOT_FOUND',
      message: 'durable-fetch/postgres needs the npm package "pg", an optional peer dependency of durable-fetch that is not installed: npm install pg',
    });
    expect(entries['durable-fetch/redis']).toEqual({
      code: 'ERR_MODULE_NOT_FOUND',
      message: 'durable-fetch/redis needs the npm package "redis", an optional peer dependency of durable-fetch that is not installed: npm install redis',
    });
    // Static imports, so that /otel bundles for browsers and /testing shares the runner's vitest: Node's own error, naming the peer.
    expect(entries['durable-fetch/testing']).toMatchObject({ code: 'ERR_MODULE_NOT_FOUND', message: expect.stringContaining("Cannot find package 'vitest'") });
    expect(entries['durable-fetch/otel']).toMatchObject({ code: 'ERR_MODULE_NOT_FOUND', message: expect.stringContaining("Cannot find package '@opentelemetry/api'") });
  });

  it('its public types compile under tsc --strict: a browser app without @types/node, a Node service with it', async () => {
    const strict = ['--strict', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022'];
    expect(await run(TSC, [...strict, '--lib', 'es2022,dom,dom.iterable', 'browser-types.ts'], app, node24)).toEqual({ code: 0, stdout: '', stderr: '' });
    const nodeTypes = ['--lib', 'es2022,dom', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules', '@types')];
    expect(await run(TSC, [...strict, ...nodeTypes, 'node-types.ts'], app, node24)).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});
