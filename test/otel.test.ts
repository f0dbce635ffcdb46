import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createClient, memoryStore } from '../src/index.js';
import { sqliteStore } from '../src/node.js';
import { tracing } from '../src/otel.js';
import { tempDir } from './support/sqlite.js';
import { useTestServer } from './support/test-server.js';

const server = useTestServer();
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('test');
const contextManager = new AsyncLocalStorageContextManager();
beforeAll(() => void context.setGlobalContextManager(contextManager.enable()));
afterAll(() => context.disable());
beforeEach(() => exporter.reset());

const spans = () => exporter.getFinishedSpans();

describe('durable-fetch/otel: a span per operation, a client span per attempt', () => {
  it('follows the HTTP client conventions, with the resend count, status and error type of each attempt', async () => {
    const api = createClient({ prefix: server.url, store: memoryStore(), retry: { limit: 2, delay: () => 1 }, on: tracing({ tracer }) });
    server.setFaults((request) => (request.attempt === 1 ? { kind: 'status', status: 503 } : undefined));
    const response = await api.post('v1/payouts?api_key=sk_live_secret', { json: { amount: 1 }, idempotencyKey: 'payout-1' });
    expect(response.status).toBe(201);
    const operation = spans().find((span) => span.name === 'durable-fetch POST')!;
    const attempts = spans().filter((span) => span.name === 'POST');
    expect(attempts.map((span) => [span.attributes['http.request.resend_count'], span.attributes['http.response.status_code'], span.attributes['error.type']])).toEqual([
      [0, 503, '503'],
      [1, 201, undefined],
    ]);
    for (const span of attempts) {
      expect(span.parentSpanContext?.spanId).toBe(operation.spanContext().spanId);
      expect(span.attributes['url.full']).toBe(`${server.url}/v1/payouts?api_key=***`);
      expect(span.attributes['server.address']).toBe('127.0.0.1');
    }
    expect(operation.attributes).toMatchObject({ 'durable_fetch.idempotency_key': 'payout-1', 'durable_fetch.state': 'succeeded', 'durable_fetch.replayed': false, 'durable_fetch.attempts': 2 });
    expect(JSON.stringify(spans().map((span) => span.attributes))).not.toContain('sk_live_secret');
  });

  it('marks an answer from the journal (no attempt span) and a replay, under the caller’s own span', async () => {
    const api = createClient({ prefix: server.url, store: memoryStore(), on: tracing({ tracer }) });
    await api.post('v1/payouts', { json: { amount: 2 }, idempotencyKey: 'payout-2' });
    exporter.reset();
    await tracer.startActiveSpan('checkout', async (parent) => {
      await api.post('v1/payouts', { json: { amount: 2 }, idempotencyKey: 'payout-2' });
      parent.end();
    });
    const operation = spans().find((span) => span.name === 'durable-fetch POST')!;
    const parent = spans().find((span) => span.name === 'checkout')!;
    expect(operation.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(operation.attributes).toMatchObject({ 'durable_fetch.journal_answer': 'succeeded', 'durable_fetch.replayed': true, 'durable_fetch.attempts': 0 });
    expect(spans().filter((span) => span.name === 'POST')).toEqual([]);
  });

  it('a recovery is an operation span of its own, marked as recovery; a failure is an error span', async () => {
    const store = memoryStore();
    const api = createClient({ prefix: server.url, store, retry: 0, on: tracing({ tracer }) });
    server.setFaults(() => ({ kind: 'drop-after' }));
    await expect(api.post('v1/payouts', { json: {}, idempotencyKey: 'payout-3' })).rejects.toThrow();
    server.setFaults(undefined);
    await api.recover();
    const [failed, recovered] = spans().filter((span) => span.name === 'durable-fetch POST');
    expect(failed?.status.code).toBe(2);
    expect(failed?.attributes).toMatchObject({ 'durable_fetch.state': 'pending', 'error.type': 'NetworkError' });
    expect(recovered?.attributes).toMatchObject({ 'durable_fetch.recovery': true, 'durable_fetch.state': 'succeeded', 'durable_fetch.replayed': true });
  });

  it('a recovery by another client, on the journal reopened from disk, links to the operation that journaled the intent', async () => {
    const path = join(await tempDir(), 'intents.db');
    const first = createClient({ prefix: server.url, store: sqliteStore(path), retry: 0, on: tracing({ tracer }) });
    server.setFaults(() => ({ kind: 'drop-after' }));
    await tracer.startActiveSpan('checkout', async (parent) => {
      await expect(first.post('v1/payouts', { json: { amount: 4 }, idempotencyKey: 'payout-4' })).rejects.toThrow();
      parent.end();
    });
    await first.close();
    server.setFaults(undefined);
    const original = spans().find((span) => span.name === 'durable-fetch POST')!;
    exporter.reset();

    const second = createClient({ prefix: server.url, store: sqliteStore(path), on: tracing({ tracer }) });
    await expect(second.recover()).resolves.toMatchObject([{ state: 'succeeded' }]);
    await second.close();
    const recovery = spans().find((span) => span.name === 'durable-fetch POST')!;
    expect(recovery.attributes['durable_fetch.recovery']).toBe(true);
    // Its own trace (nothing waits on it), linked to the original operation span.
    expect(recovery.spanContext().traceId).not.toBe(original.spanContext().traceId);
    expect(recovery.links.map((link) => [link.context.traceId, link.context.spanId, link.context.traceFlags])).toEqual([
      [original.spanContext().traceId, original.spanContext().spanId, original.spanContext().traceFlags],
    ]);
  });

  it('an enqueued intent carries the caller’s span, and the relay’s send links to it', async () => {
    const api = createClient({ prefix: server.url, store: memoryStore(), on: tracing({ tracer }) });
    await tracer.startActiveSpan('handler', async (handler) => {
      await api.enqueue('POST', 'v1/payouts', { json: { amount: 5 }, idempotencyKey: 'payout-5' });
      handler.end();
    });
    const handler = spans().find((span) => span.name === 'handler')!;
    await expect(api.recover()).resolves.toMatchObject([{ state: 'succeeded' }]);
    const recovery = spans().find((span) => span.name === 'durable-fetch POST')!;
    expect(recovery.links.map((link) => link.context.spanId)).toEqual([handler.spanContext().spanId]);
  });

  it('a call outside any trace, or without tracing(), journals no traceparent and its recovery has no link', async () => {
    const store = memoryStore();
    const untraced = createClient({ prefix: server.url, store, retry: 0 });
    server.setFaults(() => ({ kind: 'drop-after' }));
    await expect(untraced.post('v1/payouts', { json: {}, idempotencyKey: 'payout-6' })).rejects.toThrow();
    server.setFaults(undefined);
    const [pending] = await store.claim({ scope: 'default', origins: [new URL(server.url).origin], states: ['pending'], owner: 'probe', leaseMs: 0, limit: 1 });
    expect(pending?.traceparent).toBeUndefined();
    await createClient({ prefix: server.url, store, on: tracing({ tracer }) }).recover();
    expect(spans().find((span) => span.name === 'durable-fetch POST')?.links).toEqual([]);
  });

  it('a traceparent listener that throws or answers garbage journals none, and the call goes on', async () => {
    const store = memoryStore();
    const errors: string[] = [];
    const shapes = [() => { throw new Error('tracer broke'); }, () => 'not-a-traceparent', () => '00-00000000000000000000000000000000-00f067aa0ba902b7-01'];
    for (const [n, traceparent] of shapes.entries()) {
      const api = createClient({ prefix: server.url, store, on: { traceparent, error: ({ listener }) => void errors.push(listener) } });
      await expect(api.post('v1/payouts', { json: {}, idempotencyKey: `payout-7-${n}` })).resolves.toMatchObject({ status: 201 });
    }
    expect(errors).toEqual(['traceparent']);
    const stored = await Promise.all(shapes.map(async (_, n) => (await store.list()).find((intent) => intent.idempotencyKey === `payout-7-${n}`)));
    for (const summary of stored) {
      const intent = await store.get(summary!.scope, summary!.id);
      expect(intent).toBeDefined();
      expect(intent!.traceparent).toBeUndefined();
    }
  });

  it('calls the app’s own listeners too', async () => {
    const seen: string[] = [];
    const api = createClient({ prefix: server.url, store: memoryStore(), on: tracing({ tracer, on: { attempt: () => void seen.push('attempt'), end: () => void seen.push('end') } }) });
    await api.post('v1/payouts', { json: {} });
    expect(seen).toEqual(['attempt', 'end']);
  });
});
