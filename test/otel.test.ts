import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClient, memoryStore } from '../src/index.js';
import { tracing } from '../src/otel.js';
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

  it('calls the app’s own listeners too', async () => {
    const seen: string[] = [];
    const api = createClient({ prefix: server.url, store: memoryStore(), on: tracing({ tracer, on: { attempt: () => void seen.push('attempt'), end: () => void seen.push('end') } }) });
    await api.post('v1/payouts', { json: {} });
    expect(seen).toEqual(['attempt', 'end']);
  });
});
