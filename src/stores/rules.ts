/**
 * The store contract's rules, as code: what an intent is called, what `create`, `update` and
 * `claim` do to a whole record at the store's now, when an intent may be claimed, compacted or was
 * expired at its claim, which states are known, and the size and transaction refusals. Each is
 * written once, here; stores that keep whole records call them, and stores that speak SQL or Lua
 * register or derive theirs from them.
 */
import type { ClaimRequest, CreateOptions, Intent, IntentChange, IntentState, IntentSummary } from './store.ts';

/**
 * An intent is identified by key + method + origin + path within its scope: seed 001 lets one key
 * serve several routes, so only the server may judge a key reused on another route; two hosts
 * never share an intent.
 */
export function intentId(idempotencyKey: string, method: string, url: URL): string {
  return `${method} ${url.origin}${url.pathname} ${idempotencyKey}`;
}

/**
 * `intent` as `create` stores it at the store's `now`: journaled now, its key's TTL and an owner's
 * lease counted from now, whatever clock the writer read. Unowned, `leaseUntil` stays as it was.
 */
export function rebased(intent: Intent, now: number): Intent {
  const { createdAt } = intent;
  return {
    ...intent,
    createdAt: now,
    updatedAt: now,
    expiresAt: now + (intent.expiresAt - createdAt),
    leaseUntil: intent.owner === null ? intent.leaseUntil : now + (intent.leaseUntil - createdAt),
    version: 1,
  };
}

/**
 * Applies a compare-and-set write to a whole record at the store's `now`, for stores that keep
 * whole records: the fields given (undefined ones left as they are), `leaseMs` as an instant,
 * `updatedAt`, and the version bumped. Resolves the new version.
 */
export function applyChange(intent: Intent, change: IntentChange, now: number): number {
  const { leaseMs, ...fields } = change;
  for (const [field, value] of Object.entries(fields)) {
    if (value !== undefined) Object.assign(intent, { [field]: value });
  }
  if (leaseMs !== undefined) intent.leaseUntil = now + leaseMs;
  intent.updatedAt = now;
  return ++intent.version;
}

/** A claim taking `intent` at the store's `now`, for stores that keep whole records. */
export function applyClaim(intent: Intent, request: Pick<ClaimRequest, 'owner' | 'leaseMs'>, now: number): void {
  intent.owner = request.owner;
  intent.leaseUntil = now + request.leaseMs;
  intent.updatedAt = now;
  intent.version++;
}

/**
 * Whether the key's TTL had passed when the intent was claimed: `updatedAt` of a claimed intent
 * is the store's now at the claim, so no clock of the claimant's takes part.
 */
export function isExpiredAtClaim(intent: Pick<Intent, 'updatedAt' | 'expiresAt'>): boolean {
  return intent.updatedAt > intent.expiresAt;
}

/** A settled intent past its retention may be dropped; unknown outcomes and unknown records never are. */
export function isCompactable(intent: Pick<Intent, 'state' | 'expiresAt'>, now: number): boolean {
  return (intent.state === 'succeeded' || intent.state === 'failed') && intent.expiresAt <= now;
}

/** The summary `list` gives of a whole intent, for stores that keep whole records: a new object, payloads left out. */
export function toSummary({ body: _body, response: _response, headers: _headers, traceparent: _traceparent, ...summary }: Intent): IntentSummary {
  return summary;
}

/**
 * Whether a claimant may take the intent at the store's `now`: the rule `claim` applies, for
 * stores that filter in code. `isGone` says whether the store can see that an owner is dead.
 */
export function isClaimable(intent: IntentSummary, request: ClaimRequest, now: number, isGone: (owner: string) => boolean = () => false): boolean {
  return (
    intent.scope === request.scope &&
    (request.id === undefined || intent.id === request.id) &&
    request.origins.includes(intent.origin) &&
    request.states.includes(intent.state) &&
    (request.unchangedBefore === undefined || intent.updatedAt < request.unchangedBefore) &&
    !request.excluding?.includes(intent.id) &&
    (intent.leaseUntil <= now || (intent.owner !== null && isGone(intent.owner)))
  );
}

/**
 * A body or stored answer larger than the store keeps: refused before anything is written. Its
 * message names the store's option; the client tells it from a store that is down (an answer too
 * big to journal settles its intent without it, rather than being resent).
 */
export class PayloadTooLargeError extends Error {
  constructor(what: string, bytes: number, store: string, maxBodyBytes: number) {
    super(`The ${what} is ${bytes} bytes; the ${store} keeps at most ${maxBodyBytes} (option maxBodyBytes).`);
    this.name = 'PayloadTooLargeError';
  }
}

/** Refuses a record whose request body or stored answer is larger than `maxBodyBytes`, before it is copied or written. */
export function checkPayloads(record: Pick<Intent, 'body'> | IntentChange, maxBodyBytes: number, store: string): void {
  const sizes: [string, Uint8Array | undefined][] = [
    ['request body', 'body' in record ? record.body : undefined],
    ['stored answer body', 'response' in record ? record.response?.body : undefined],
  ];
  for (const [what, bytes] of sizes) {
    if (bytes && bytes.byteLength > maxBodyBytes) throw new PayloadTooLargeError(what, bytes.byteLength, store, maxBodyBytes);
  }
}

/** The states this version understands; a record in any other was written by a newer version. */
export function isKnownState(state: string): state is IntentState {
  return state === 'pending' || state === 'succeeded' || state === 'failed' || state === 'expired';
}

/** For stores with no transactions of their own: a `transaction` given to them is a mistake to say out loud. */
export function refuseTransaction(options: CreateOptions | undefined, store: string): void {
  if (options?.transaction !== undefined) {
    throw new TypeError(`${store} cannot write in your transaction: only postgresStore takes \`transaction\`.`);
  }
}
