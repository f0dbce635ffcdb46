/**
 * Where a memoryStore call's microseconds go: each step of the pipeline (key → fingerprint →
 * prepare → journal → own → attempt → classify → settle → respond) run on its own, many times
 * in a row, through the same internal functions a call uses, and set beside a whole call and a
 * bare ky call at concurrency 1. The steps run from src (under tsx, whose keepNames adds a little
 * to each closure they make); the whole call is the built package, as in the throughput runs.
 * Steps run warm and alone, so their sum is a floor, not an
 * account: what a whole call costs beyond it is scheduling, promises and the garbage the steps
 * leave behind. The profile runs a few times and keeps each figure's lowest: on a shared machine
 * other work only ever adds time.
 */
import { hash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import ky from 'ky';
import { sendAttempt } from '../../src/attempt.js';
import { classifyAnswer } from '../../src/classify.js';
import { memoryStore } from '../../src/index.node.js';
import { fingerprint } from '../../src/fingerprint.js';
import { generateKey } from '../../src/key.js';
import { newIntent } from '../../src/journal-gate.js';
import { type ClientRuntime, startRuntime } from '../../src/runtime.js';
import { Lease } from '../../src/ownership.js';
import { prepareCall } from '../../src/request.js';
import type { PreparedCall } from '../../src/call-types.js';
import { type Answer, callPromise, toDurableResponse, toStoredResponse } from '../../src/response.js';
import { timeLimit } from '../../src/time-limit.js';
import { withRetries } from '../../src/retry.js';
import type { IntentStore } from '../../src/stores/store.js';
import { PAYLOAD, ROUTE } from './clients.js';
import { createClient, memoryStore as shippedMemoryStore } from './shipped.js';

export interface ProfileStep {
  step: string;
  /** Mean wall µs per call. */
  us: number;
  /** What the step runs. */
  what: string;
}

export interface HotPathProfile {
  steps: ProfileStep[];
  /** Sum of the CPU-only steps (everything but the send). */
  stepsUs: number;
  /** One attempt on the wire, as the client sends it (fetch, as no hooks are set). */
  sendUs: number;
  /** The Response a call's promise resolves to (with its body stream), made only when the promise itself is awaited: the shortcuts do without. */
  toResponseUs: number;
  /** A whole api.post().json() with memoryStore, and ky.post().json(), at concurrency 1: wall and this process's CPU. */
  call: { wallUs: number; cpuUs: number };
  ky: { wallUs: number; cpuUs: number };
}

/** Mean µs of `n` runs of `work(0..n-1)` one after another, after `n / 5` untimed ones (`work(n..)`). */
async function perCall(n: number, work: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < Math.ceil(n / 5); i++) await work(n + i);
  const start = performance.now();
  for (let i = 0; i < n; i++) await work(i);
  return ((performance.now() - start) * 1000) / n;
}

async function wallAndCpu(n: number, work: () => Promise<unknown>): Promise<{ wallUs: number; cpuUs: number }> {
  for (let i = 0; i < Math.ceil(n / 5); i++) await work();
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < n; i++) await work();
  const wallUs = ((performance.now() - start) * 1000) / n;
  const used = process.cpuUsage(cpu);
  return { wallUs, cpuUs: (used.user + used.system) / n };
}

export async function profileHotPath(baseUrl: string, iterations: number, repeats: number): Promise<HotPathProfile> {
  const runs: HotPathProfile[] = [];
  for (let r = 0; r < repeats; r++) runs.push(await profileOnce(baseUrl, iterations));
  const least = (pick: (run: HotPathProfile) => number) => Math.min(...runs.map(pick));
  const steps = runs[0]!.steps.map((step, i) => ({ ...step, us: least((run) => run.steps[i]!.us) }));
  return {
    steps,
    stepsUs: steps.reduce((sum, s) => sum + s.us, 0),
    sendUs: least((run) => run.sendUs),
    toResponseUs: least((run) => run.toResponseUs),
    call: { wallUs: least((run) => run.call.wallUs), cpuUs: least((run) => run.call.cpuUs) },
    ky: { wallUs: least((run) => run.ky.wallUs), cpuUs: least((run) => run.ky.cpuUs) },
  };
}

async function profileOnce(baseUrl: string, iterations: number): Promise<HotPathProfile> {
  const sha256 = (data: Uint8Array) => hash('sha256', data, 'hex');
  const store: IntentStore = memoryStore();
  const options: ClientRuntime = startRuntime({ prefix: baseUrl, store }, { defaultStore: () => store, sha256 });
  const n = iterations;
  const steps: ProfileStep[] = [];
  const step = async (name: string, what: string, work: (i: number) => unknown) => {
    const us = await perCall(n, work);
    steps.push({ step: name, us, what });
    return us;
  };

  // Warm-up runs included, each index gets its own inputs: a call, an intent, a lease, an answer.
  const calls: PreparedCall[] = [];
  const url = new URL(ROUTE, baseUrl);
  const body = new TextEncoder().encode(JSON.stringify(PAYLOAD));

  const keyUs = await step('key', 'uuid v4 (generateKey)', () => generateKey());
  const fingerprintUs = await step('fingerprint', 'SHA-256 of method, path and body (node:crypto, sync)', () => fingerprint('POST', url, body, sha256));
  const prepareUs = await perCall(n, async (i) => {
    calls[i] = await prepareCall('POST', ROUTE, { json: PAYLOAD }, options);
  });
  steps.push({
    step: 'prepare (rest)',
    us: Math.max(0, prepareUs - keyUs - fingerprintUs),
    what: `prepareCall ${prepareUs.toFixed(1)} µs minus key and fingerprint: headers merged, URL, JSON encoded, body bytes`,
  });
  await step('journal create', 'newIntent + memoryStore.create (a copy in)', (i) => store.create(newIntent(calls[i]!, options, 'bench-owner')));

  await step('signals', 'per attempt: the time limits (timer + AbortController, src/time-limit.ts), and a flight AbortController', () => {
    const controller = new AbortController();
    const limit = timeLimit(controller.signal, 10_000);
    limit.end();
    return limit.signal;
  });
  const signal = new AbortController().signal;
  await step('retry loop', 'withRetries (p-retry) around an attempt that succeeds', () => withRetries(async () => 1, { policy: options.config.retry, signal }));

  const answers: Answer[] = [];
  const first = calls[0]!;
  const sendUs = await perCall(n, async (i) => {
    answers[i] = await sendAttempt({ url: first.url, method: 'POST', headers: first.headers, body: first.body, shownUrl: first.url.href, idempotencyKey: first.idempotencyKey }, 10_000, signal, options);
  });
  const answer = answers[0]!;
  await step('classify', 'classifyAnswer (2xx: replay headers only)', () => classifyAnswer(answer, options.config));
  // One lease at a time, as at concurrency 1: created, then finished with the outcome.
  await step('own + settle', 'new Lease (renewal setInterval) + toStoredResponse + lease.settle (memoryStore.update, a copy in)', (i) => {
    const call = calls[i]!;
    const lease = new Lease(store, { scope: call.scope, id: call.id, version: 1, owner: 'bench-owner' }, options.config.leaseMs, performance.now());
    return lease.settle({ state: 'succeeded', attempts: 1, owner: null, leaseMs: 0, response: toStoredResponse(answers[i] ?? answer) });
  });
  await step('respond', "the call's promise and its .json() shortcut (decodes the bytes in hand, JSON.parse; no Response made)", () =>
    callPromise(Promise.resolve({ answer, idempotencyKey: 'k', attempts: 1 })).json(),
  );
  const stepsUs = steps.reduce((sum, s) => sum + s.us, 0);
  const toResponseUs = await perCall(n, () => toDurableResponse({ answer, idempotencyKey: 'k', attempts: 1 }));

  const api = createClient({ prefix: baseUrl, store: shippedMemoryStore() });
  const call = await wallAndCpu(n, () => api.post(ROUTE, { json: PAYLOAD }).json());
  await api.close();
  const kyWhole = await wallAndCpu(n, () => ky.post(url, { json: PAYLOAD, retry: 0 }).json());
  return { steps, stepsUs, sendUs, toResponseUs, call, ky: kyWhole };
}
