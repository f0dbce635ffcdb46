/**
 * /__control/: the same levers as the TestServer object, over HTTP, for callers that only have the
 * URL (a browser page, a child process). Never faulted, never counted among `requests`.
 *
 *   GET  /__control/state                      dialect, applied counts, requests and preflights seen
 *   GET  /__control/applied?key=K[&tenant=T]   { applied }
 *   POST /__control/reset | /__control/forget-keys
 *   POST /__control/dialect  { "dialect": "stripe" }
 *   POST /__control/faults   null | { "once": Fault } | { "firstAttempts": Fault[], "seed": 1, "probability": 0.8, "upToAttempt": 1 }
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { jsonAnswer } from './answer.js';
import { isDialect } from './dialects.js';
import { faultOnFirstAttempts, faultOnce, type Fault, type FaultScript } from './faults.js';
import { send } from './http.js';
import type { TestServer } from './types.js';

export interface ControlTarget {
  server: TestServer;
  appliedByKey(): Record<string, number>;
}

const FAULT_KINDS = new Set(['drop-before', 'drop-after', 'status', 'rate-limit', 'slow', 'in-flight', 'no-answer', 'redirect']);

function isFault(value: unknown): value is Fault {
  return typeof value === 'object' && value !== null && FAULT_KINDS.has((value as { kind?: unknown }).kind as string);
}

function faultScriptFrom(spec: unknown): FaultScript | undefined {
  if (spec === null) return undefined;
  if (typeof spec !== 'object') throw new Error('expected null or an object');
  const { once, firstAttempts, seed, probability, upToAttempt } = spec as Record<string, unknown>;
  if (once !== undefined) {
    if (!isFault(once)) throw new Error('"once" must be a fault');
    return faultOnce(once);
  }
  if (!Array.isArray(firstAttempts) || !firstAttempts.every(isFault)) {
    throw new Error('"firstAttempts" must be an array of faults');
  }
  return faultOnFirstAttempts(firstAttempts, typeof seed === 'number' ? seed : 1, {
    ...(typeof probability === 'number' ? { probability } : {}),
    ...(typeof upToAttempt === 'number' ? { upToAttempt } : {}),
  });
}

export function handleControl(
  target: ControlTarget,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  body: Buffer,
): void {
  const { server } = target;
  const url = new URL(path, 'http://control.invalid');
  const route = `${req.method ?? 'GET'} ${url.pathname}`;
  const reply = (status: number, value: unknown) => send(req, res, jsonAnswer(status, value));
  try {
    switch (route) {
      case 'GET /__control/state':
        return reply(200, {
          dialect: server.dialect,
          appliedTotal: server.appliedTotal(),
          appliedUnkeyed: server.appliedUnkeyed(),
          applied: target.appliedByKey(),
          requests: server.requests.map(({ method, path: p, key, attempt, fault, outcome, status }) => ({
            method,
            path: p,
            key,
            attempt,
            fault,
            outcome,
            status,
          })),
          preflights: server.preflights,
        });
      case 'GET /__control/applied': {
        const key = url.searchParams.get('key') ?? '';
        const tenant = url.searchParams.get('tenant') ?? undefined;
        return reply(200, { applied: server.applied(key, tenant) });
      }
      case 'POST /__control/reset':
        server.reset();
        return reply(200, { ok: true });
      case 'POST /__control/forget-keys':
        server.forgetKeys();
        return reply(200, { ok: true });
      case 'POST /__control/dialect': {
        const { dialect } = JSON.parse(body.toString('utf8')) as { dialect?: unknown };
        if (!isDialect(dialect)) return reply(400, { error: `unknown dialect ${String(dialect)}` });
        server.setDialect(dialect);
        return reply(200, { ok: true, dialect });
      }
      case 'POST /__control/faults':
        server.setFaults(faultScriptFrom(JSON.parse(body.toString('utf8') || 'null')));
        return reply(200, { ok: true });
      default:
        return reply(404, { error: `no control route ${route}` });
    }
  } catch (error) {
    return reply(400, { error: error instanceof Error ? error.message : String(error) });
  }
}
