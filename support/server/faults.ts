/**
 * Faults the server can be told to inject, and helpers to script them reproducibly.
 */
import { seededRandom } from '../../src/testing/bytes.js';
import type { SeenRequest } from './types.js';

export type Fault =
  /** The socket is destroyed before the operation is applied: nothing happened. */
  | { kind: 'drop-before' }
  /** The operation is applied and its answer stored, then the socket is destroyed: the lost answer. */
  | { kind: 'drop-after' }
  /** An answer from a failing server or proxy; nothing applied, nothing cached. */
  | { kind: 'status'; status: number; retryAfter?: string }
  /** 429; nothing applied. */
  | { kind: 'rate-limit'; retryAfter: string }
  /** Applied at once; the answer is written only after `ms`, so a client timeout fires first. */
  | { kind: 'slow'; ms: number }
  /** The dialect's answer to a concurrent twin of an in-flight request; nothing applied. */
  | { kind: 'in-flight' }
  /**
   * Applied and its answer stored at once (a repeat of the key is replayed), but never written:
   * the request hangs until the client gives up or goes away, as a page closed mid-request does.
   */
  | { kind: 'no-answer' }
  /** A redirect (301, 302, 303, 307, 308) to `location`; nothing applied. */
  | { kind: 'redirect'; status: number; location: string };

export type FaultScript = (req: SeenRequest) => Fault | undefined;

/** One of each kind of fault, for stress runs; a slow answer should outlast the client's timeout. */
export function everyFault(slowMs: number): Fault[] {
  return [
    { kind: 'drop-before' },
    { kind: 'drop-after' },
    { kind: 'status', status: 503 },
    { kind: 'status', status: 500 },
    { kind: 'rate-limit', retryAfter: '0' },
    { kind: 'slow', ms: slowMs },
    { kind: 'in-flight' },
  ];
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function isWrite(method: string): boolean {
  return WRITE_METHODS.has(method);
}

export { seededRandom };

function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** FNV-1a over UTF-16 code units, then mixed: a stable number per request identity. */
function hashString(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** Unkeyed requests have no identity but their content. */
function identity(req: SeenRequest): string {
  const content = req.key === undefined ? req.body : '';
  return [req.tenant, req.key ?? '', String(req.attempt), req.method, req.path, content].join('\u0000');
}

export interface FaultOnFirstAttemptsOptions {
  /** Chance that an eligible attempt gets a fault. Default 0.8: "most". */
  probability?: number;
  /** Attempts 1..upToAttempt are eligible. Default 1: retries always get through. */
  upToAttempt?: number;
  /** Only writes are eligible (default true): reads are never the thing under test. */
  writesOnly?: boolean;
}

/**
 * Faults on most first attempts, one of `kinds` each.
 *
 * With a numeric seed each decision is derived from the request itself (tenant, key, attempt,
 * method, path, body), so a run is reproducible however concurrent requests interleave. With a
 * random function the decisions follow arrival order instead.
 */
export function faultOnFirstAttempts(
  kinds: readonly Fault[],
  source: number | (() => number),
  options: FaultOnFirstAttemptsOptions = {},
): FaultScript {
  if (kinds.length === 0) throw new Error('faultOnFirstAttempts needs at least one fault kind');
  const probability = options.probability ?? 0.8;
  const upToAttempt = options.upToAttempt ?? 1;
  const writesOnly = options.writesOnly ?? true;
  return (req) => {
    if (writesOnly && !isWrite(req.method)) return undefined;
    if (req.attempt > upToAttempt) return undefined;
    const rng = typeof source === 'number' ? seededRandom(hashString(identity(req), source)) : source;
    if (rng() >= probability) return undefined;
    return kinds[Math.floor(rng() * kinds.length)] ?? kinds[0];
  };
}

/** `fault` for the first request that matches (every request by default), then nothing. */
export function faultOnce(fault: Fault, match: (req: SeenRequest) => boolean = () => true): FaultScript {
  let used = false;
  return (req) => {
    if (used || !match(req)) return undefined;
    used = true;
    return fault;
  };
}

/** The first script with an opinion decides. */
export function combineFaults(...scripts: ReadonlyArray<FaultScript | undefined>): FaultScript {
  return (req) => {
    for (const script of scripts) {
      const fault = script?.(req);
      if (fault) return fault;
    }
    return undefined;
  };
}
