import type { Intent, IntentState } from '../stores/store.js';

/** The origin `makeIntent` uses unless told otherwise. */
export const ORIGIN = 'https://api.example.test';

/** A state no version of durable-fetch writes yet: what a record from a newer version looks like. */
export const UNKNOWN_STATE = 'archived-by-a-newer-version' as IntentState;

let made = 0;

/**
 * A fresh pending, unowned intent as the client journals it, with a new id and a day's TTL;
 * `overrides` replace any field. The store re-bases its times on its own clock: only their
 * distances from `createdAt` (the TTL, an owner's lease) are kept.
 */
export function makeIntent(overrides: Partial<Intent> = {}): Intent {
  const n = ++made;
  const key = `key-${n}`;
  const createdAt = overrides.createdAt ?? 1_700_000_000_000 + n;
  const origin = overrides.origin ?? ORIGIN;
  return {
    scope: 'tenant-a',
    id: `POST ${origin}/payouts ${key}`,
    idempotencyKey: key,
    method: 'POST',
    url: `${origin}/payouts?n=${n}`,
    origin,
    headers: { 'content-type': 'application/json' },
    keyHeader: 'Idempotency-Key',
    keyFormat: 'token',
    body: new TextEncoder().encode(JSON.stringify({ payout: n })),
    fingerprint: `fingerprint-${n}`,
    createdAt,
    updatedAt: createdAt,
    expiresAt: createdAt + 24 * 60 * 60 * 1000,
    attempts: 0,
    state: 'pending',
    owner: null,
    leaseUntil: 0,
    version: 1,
    ...overrides,
  };
}

/** A record without its instants, which the store sets on its own clock: what a test compares of it. */
export function timeless<T extends Partial<Intent>>(record: T): Omit<T, 'createdAt' | 'updatedAt' | 'expiresAt' | 'leaseUntil'> {
  const { createdAt: _createdAt, updatedAt: _updatedAt, expiresAt: _expiresAt, leaseUntil: _leaseUntil, ...rest } = record;
  return rest;
}

/** `count` intents made by `makeIntent`, each with the same overrides. */
export function makeIntents(count: number, overrides: Partial<Intent> = {}): Intent[] {
  return Array.from({ length: count }, () => makeIntent(overrides));
}
