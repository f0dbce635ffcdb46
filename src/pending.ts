/**
 * The unknown outcomes: `pending()` lists them (never a body or a header, URLs masked), and
 * `resolve()` lets an operator settle one by hand, claiming a pending one first so that no owner
 * is sending it meanwhile.
 */
import { describe } from './about.js';
import { maskUrl } from './credentials.js';
import { IdempotencyError, IdempotencyIntegrityError } from './errors.js';
import { emit } from './events.js';
import type { PendingIntent } from './recovery-types.js';
import type { ClientRuntime } from './runtime.js';
import { type DamagedRecord, describeDamaged, type Intent, type IntentSummary, UNSETTLED_STATES } from './stores/store.js';

/**
 * Intents of unknown outcome in the client's scope, oldest first. A damaged record (times out of
 * range, no intent's shape) is left out and said as the event `damaged`: its outcome is unknown
 * too, but nothing of it can be shown or sent.
 */
export async function listPending(runtime: ClientRuntime): Promise<PendingIntent[]> {
  const intents = await runtime.store.list({ scope: runtime.config.scope, states: UNSETTLED_STATES, onDamaged: (record) => damagedRecordError(record, runtime) });
  return intents.map((intent) => toPendingIntent(intent, runtime));
}

/**
 * The error for a record the store could not read as an intent, said as the event `damaged` too:
 * its key, method and URL where they are text (else empty), the URL masked.
 */
export function damagedRecordError(record: DamagedRecord, runtime: ClientRuntime): IdempotencyIntegrityError {
  const { idempotencyKey = '', method = '', url = '', reason } = record;
  const about = { idempotencyKey, method, url: url === '' ? '' : maskUrl(url, runtime.config.secretParams) };
  const error = new IdempotencyIntegrityError(
    `The journal's record of ${describeDamaged(record)} cannot be read: ${reason}. Nothing of it was sent or changed; check with the API whether ` +
      'the operation ran, then repair or delete the record by hand (or restore the journal from a backup).',
    { idempotencyKey, reason },
  );
  emit(runtime.config.on, 'damaged', { ...about, reason, error });
  return error;
}
function toPendingIntent(intent: IntentSummary, runtime: ClientRuntime): PendingIntent {
  const { scope, id, idempotencyKey, method, origin, state, attempts, createdAt, updatedAt, expiresAt, leaseUntil } = intent;
  const { url } = describe(intent, runtime);
  // The recorded origin is shown as a URL is: a row written by hand may hold anything.
  const shown: PendingIntent = { scope, id, idempotencyKey, method, url, origin: maskUrl(origin, runtime.config.secretParams), state: state as PendingIntent['state'], attempts, createdAt, updatedAt, expiresAt, leaseUntil };
  if (intent.owner === null && leaseUntil > Date.now()) shown.parkedUntil = leaseUntil;
  return shown;
}
/**
 * An operator's verdict on an unknown outcome (checked with the API): `expired`, or `pending`
 * with nobody holding it, becomes `succeeded` or `failed` for good. A pending intent is claimed
 * first, so no owner can be sending it while it is settled; a parked one (a server's
 * Retry-After), which nobody may claim before its wait is over, is settled at the version read,
 * with nobody holding it — the verdict sends nothing, so it need not wait.
 */
export async function resolveIntent(runtime: ClientRuntime, intent: Pick<PendingIntent, 'scope' | 'id'>, state: 'succeeded' | 'failed'): Promise<void> {
  if (state !== 'succeeded' && state !== 'failed') throw new TypeError(`resolve() settles an intent as 'succeeded' or 'failed', got ${String(state)}.`);
  const stored = await runtime.store.get(intent.scope, intent.id);
  if (stored === undefined) throw new TypeError(`No intent ${intent.id} in scope ${intent.scope}.`);
  const { idempotencyKey } = stored;
  if (stored.state !== 'expired' && stored.state !== 'pending') {
    throw new IdempotencyError(`Intent of key "${idempotencyKey}" cannot be resolved: it is already ${stored.state}.`, { idempotencyKey });
  }
  let version = stored.version;
  if (stored.state === 'pending') {
    const owner = await runtime.owner.id();
    const [claimed] = await runtime.store.claim({ scope: stored.scope, origins: [stored.origin], states: ['pending'], owner, leaseMs: runtime.config.leaseMs, limit: 1, id: stored.id });
    // Unowned yet not claimable: parked. Written at the version read, the verdict fails if anyone has taken it since.
    if (claimed === undefined && stored.owner !== null) {
      throw new IdempotencyError(`Intent of key "${idempotencyKey}" cannot be resolved: an owner is still working on it.`, { idempotencyKey });
    }
    if (claimed !== undefined) version = claimed.version;
  }
  const written = await runtime.store.update(stored.scope, stored.id, version, { state, owner: null, leaseMs: 0 });
  if (written === undefined) throw new IdempotencyError(`Intent of key "${idempotencyKey}" changed while it was being resolved; look again.`, { idempotencyKey });
}
