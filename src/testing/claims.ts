import type { ClaimRequest, IntentStore } from '../stores/store.js';
import { ORIGIN } from './intents.js';

/** A claim over `makeIntent`'s scope and origin, for `owner`, with a minute's lease. */
export function claimRequest(overrides: Partial<ClaimRequest> = {}): ClaimRequest {
  return {
    scope: 'tenant-a',
    origins: [ORIGIN],
    states: ['pending'],
    owner: 'claimant-1',
    leaseMs: 60_000,
    limit: 100,
    ...overrides,
  };
}

/** Calls `claim` until it takes nothing; resolves every id taken, in order. */
export async function claimUntilEmpty(store: IntentStore, request: ClaimRequest): Promise<string[]> {
  const ids: string[] = [];
  for (let claimed = await store.claim(request); claimed.length > 0; claimed = await store.claim(request)) {
    ids.push(...claimed.map((intent) => intent.id));
  }
  return ids;
}
