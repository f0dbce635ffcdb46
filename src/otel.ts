/**
 * durable-fetch/otel: traces in one line — `createClient({ on: tracing() })`.
 *
 * A span per logical operation (`durable-fetch POST`), and under it a client span per attempt
 * following the HTTP client semantic conventions (`http.request.method`, `url.full` — with
 * secret query and fragment values masked —, `server.address`, `http.response.status_code`,
 * `error.type`, `http.request.resend_count`). The operation span carries the idempotency key,
 * whether the answer was a replay or came from the journal, and the intent's final state.
 * Everything is built from the client's events, so a client without it pays nothing.
 *
 * Each new intent is journaled with its operation's `traceparent` (for `enqueue()`, the caller's
 * span): when `recover()` or `relay()` later sends it — in this process or another — the recovery's
 * operation span links to that original operation.
 */
import { context, isSpanContextValid, type Link, type Span, type SpanContext, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { DurableEvents, OperationEvent } from './events.js';

export interface TracingOptions {
  /** Default: `trace.getTracer('durable-fetch')` from the global provider. */
  tracer?: Tracer;
  /** Your own listeners, called as well. */
  on?: DurableEvents;
}

const slot = ({ idempotencyKey, method, url }: OperationEvent) => `${method} ${url} ${idempotencyKey}`;

/** Listeners that turn a client's events into OpenTelemetry spans; pass them as `on`. */
export function tracing({ tracer = trace.getTracer('durable-fetch'), on = {} }: TracingOptions = {}): DurableEvents {
  const operations = new Map<string, Span>();
  const attempts = new Map<string, Span>();

  return {
    ...on,
    start(event) {
      // Started inside the caller's context, so the operation is a child of whatever span the caller is in.
      const original = event.traceparent === undefined ? undefined : spanContextOf(event.traceparent);
      const links: Link[] = original === undefined ? [] : [{ context: original, attributes: { 'durable_fetch.link': 'journaled by' } }];
      const span = tracer.startSpan(`durable-fetch ${event.method}`, {
        kind: SpanKind.INTERNAL,
        links,
        attributes: {
          'durable_fetch.idempotency_key': event.idempotencyKey,
          'durable_fetch.recovery': event.recovery,
          'http.request.method': event.method,
          'url.full': event.url,
        },
      });
      operations.set(slot(event), span);
      return on.start?.(event);
    },
    traceparent(event) {
      // A call asks from inside its operation span; enqueue() has none, and gives the caller's.
      const span = operations.get(slot(event)) ?? trace.getSpan(context.active());
      const own = span === undefined ? undefined : traceparentOf(span.spanContext());
      return own ?? on.traceparent?.(event);
    },
    attempt(event) {
      const parent = operations.get(slot(event));
      const url = new URL(event.url);
      const span = tracer.startSpan(
        event.method,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'http.request.method': event.method,
            'url.full': event.url,
            'server.address': url.hostname,
            'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
            'http.request.resend_count': event.attempt - 1,
            'durable_fetch.idempotency_key': event.idempotencyKey,
          },
        },
        parent === undefined ? context.active() : trace.setSpan(context.active(), parent),
      );
      attempts.set(slot(event), span);
      return on.attempt?.(event);
    },
    attemptEnd(event) {
      const span = attempts.get(slot(event));
      attempts.delete(slot(event));
      if (span !== undefined) {
        if (event.status !== undefined) span.setAttribute('http.response.status_code', event.status);
        const failed = event.error !== undefined || (event.status !== undefined && event.status >= 400);
        if (failed) {
          span.setAttribute('error.type', event.error instanceof Error ? event.error.name : String(event.status));
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
        span.setAttribute('durable_fetch.reached_server', String(event.reachedServer));
        span.end();
      }
      return on.attemptEnd?.(event);
    },
    journalAnswer(event) {
      operations.get(slot(event))?.setAttribute('durable_fetch.journal_answer', event.state);
      return on.journalAnswer?.(event);
    },
    end(event) {
      const span = operations.get(slot(event));
      operations.delete(slot(event));
      if (span !== undefined) {
        span.setAttributes({
          'durable_fetch.state': event.state ?? 'untouched',
          'durable_fetch.replayed': event.replayed,
          'durable_fetch.attempts': event.attempts,
        });
        if (event.error !== undefined) {
          span.setAttribute('error.type', event.error instanceof Error ? event.error.name : 'error');
          span.setStatus({ code: SpanStatusCode.ERROR, message: event.error instanceof Error ? event.error.message : String(event.error) });
        }
        span.end();
      }
      return on.end?.(event);
    },
  };
}

/** A span context as a W3C `traceparent` (version 00), or undefined for an invalid (non-recording) one. */
function traceparentOf(span: SpanContext): string | undefined {
  if (!isSpanContextValid(span)) return undefined;
  return `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The span context a stored `traceparent` names, as a remote one (it may come from another process). */
function spanContextOf(traceparent: string): SpanContext | undefined {
  const [, traceId = '', spanId = '', flags = ''] = traceparent.split('-');
  const span: SpanContext = { traceId, spanId, traceFlags: Number.parseInt(flags, 16), isRemote: true };
  return isSpanContextValid(span) && !Number.isNaN(span.traceFlags) ? span : undefined;
}
