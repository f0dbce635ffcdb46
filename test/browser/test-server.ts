/**
 * The test server's levers (support/server/control.ts), pulled over HTTP from a browser page: the
 * server runs in Node (global-setup.ts), so a page only has its URL.
 */
import type { Fault } from '../../support/server/faults.js';
import type { Outcome } from '../../support/server/types.js';

/** What /__control/state reports of each request: no headers and no body. */
export interface SeenByServer {
  method: string;
  path: string;
  /** The Idempotency-Key header as received; absent when the request had none. */
  key?: string;
  attempt: number;
  fault?: Fault;
  outcome?: Outcome;
  /** Absent when the connection was dropped. */
  status?: number;
}

export interface ServerState {
  dialect: string;
  appliedTotal: number;
  appliedUnkeyed: number;
  /** Side effects per key, summed over tenants. */
  applied: Record<string, number>;
  /** Every request seen since the last reset, in arrival order; CORS preflights excluded. */
  requests: SeenByServer[];
  /** Every CORS preflight seen since the last reset, in arrival order. */
  preflights: Array<{ path: string; method: string; headers: string }>;
}

export type FaultPlan =
  | null
  | { once: Fault }
  | { firstAttempts: Fault[]; seed?: number; probability?: number; upToAttempt?: number };

export interface TestServerControl {
  url: string;
  /** Forgets keys, requests and applied counts, lifts every fault, and speaks seed 004 again. */
  reset(): Promise<void>;
  faults(plan: FaultPlan): Promise<void>;
  /** The server forgets every key, as after its TTL. */
  forgetKeys(): Promise<void>;
  state(): Promise<ServerState>;
  /** Side effects run for `key`, for one tenant (its Authorization header) or all of them. */
  applied(key: string, tenant?: string): Promise<number>;
}

export function testServer(url: string): TestServerControl {
  const call = async <T>(method: 'GET' | 'POST', route: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${url}/__control/${route}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new Error(`${method} /__control/${route}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };

  return {
    url,
    async reset() {
      await call('POST', 'reset');
      await call('POST', 'faults', null);
      await call('POST', 'dialect', { dialect: 'seed004' });
    },
    faults: (plan) => call('POST', 'faults', plan),
    forgetKeys: () => call('POST', 'forget-keys'),
    state: () => call('GET', 'state'),
    async applied(key, tenant) {
      const query = new URLSearchParams({ key, ...(tenant === undefined ? {} : { tenant }) });
      return (await call<{ applied: number }>('GET', `applied?${query}`)).applied;
    },
  };
}

/**
 * Every answer for every write is lost: the server applies the first and replays the rest, and
 * drops each connection either way.
 *
 * Not `{ once: drop-after }`: when a dropped connection was a reused keep-alive one, the browser
 * (Chromium and Firefox alike) resends the request by itself (the same request, key included)
 * before fetch() sees an error, so a single drop usually never reaches the client. Losing every
 * attempt gets past those resends.
 */
export const EVERY_ANSWER_LOST: FaultPlan = {
  firstAttempts: [{ kind: 'drop-after' }],
  probability: 1,
  upToAttempt: Number.MAX_SAFE_INTEGER,
};

/** Every write is lost on the way in: the server never applies it. */
export const EVERY_REQUEST_LOST: FaultPlan = {
  firstAttempts: [{ kind: 'drop-before' }],
  probability: 1,
  upToAttempt: Number.MAX_SAFE_INTEGER,
};
