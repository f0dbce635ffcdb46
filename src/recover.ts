/**
 * `recover()`: one pass over the unowned intents of the client's scope and origins, claiming only
 * what it is about to send, `concurrency` at a time, each once.
 *
 * Authority: an intent goes only where this client may send — its scope and its `origins` — with
 * the intent's own key header and format, its stored headers and the client's credentials of this
 * moment. Anything else is reported as `skipped`, never sent.
 */
import { claimRequest, concurrencyOf, finishClaimed, own, recoveryTransport, reportSkipped, requireOrigins, signalOf } from './claimed.js';
import { maskUrl } from './credentials.js';
import { emit } from './events.js';
import { monotonicNow } from './ownership.js';
import { damagedRecordError } from './pending.js';
import type { RecoverOptions, RecoveryOutcome } from './recovery-types.js';
import type { ClientRuntime } from './runtime.js';
import type { IntentState } from './stores/store.js';

export type { PendingIntent, RecoverOptions, RecoveryOutcome, RelayOptions } from './recovery-types.js';
export { listPending, resolveIntent } from './pending.js';
export { relayLoop } from './relay.js';

/**
 * One pass: claims the unowned intents of the client's scope and origins, oldest first, only as
 * slots free up — a claimed intent is sent at once, never held while others go first — and
 * resends each once, `concurrency` at a time. Outcomes come back in the order intents were claimed.
 */
export async function recoverOnce(runtime: ClientRuntime, recoverOptions: RecoverOptions = {}): Promise<RecoveryOutcome[]> {
  const origins = requireOrigins(runtime);
  const { resendExpired = false, onProgress } = recoverOptions;
  const concurrency = concurrencyOf(recoverOptions.concurrency, 4);
  const signal = signalOf(recoverOptions.signal);
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError('onProgress must be a function.');
  const states: IntentState[] = resendExpired ? ['pending', 'expired'] : ['pending'];
  const owner = await runtime.owner.id();
  // Damaged records are never claimed: reported once per pass, as skipped.
  const unreadable: RecoveryOutcome[] = [];
  const unsettled = await runtime.store.list({
    scope: runtime.config.scope,
    states,
    onDamaged(record) {
      const error = damagedRecordError(record, runtime);
      const about = { idempotencyKey: error.idempotencyKey, method: record.method ?? '', url: record.url === undefined ? '' : maskUrl(record.url, runtime.config.secretParams) };
      emit(runtime.config.on, 'recovery', { ...about, state: 'skipped', error });
      unreadable.push({ idempotencyKey: about.idempotencyKey, state: 'skipped', url: about.url, error });
    },
  });
  const outcomes = [...unreadable, ...reportSkipped(unsettled, origins, runtime)];
  let total = unsettled.filter((intent) => origins.includes(intent.origin)).length;
  let done = 0;
  runtime.housekeeping.compact();
  const finished: Promise<RecoveryOutcome>[] = [];
  const running = new Set<Promise<unknown>>();
  // The store's time of the pass's first claim: what this pass releases (or others release after
  // it began) is written later, and waits for the next pass rather than being claimed again —
  // except within that very millisecond, where the pass leaves what it took by id.
  let startedAt: number | undefined;
  const takenAtStart: string[] = [];
  while (!signal.aborted) {
    const room = concurrency - running.size;
    const askedAt = monotonicNow();
    const window = startedAt === undefined ? {} : { unchangedBefore: startedAt + 1, excluding: takenAtStart };
    const claimed = room > 0 ? await runtime.store.claim({ ...claimRequest(runtime, owner, origins, states, room), ...window }) : [];
    startedAt ??= claimed[0]?.updatedAt;
    for (const intent of claimed) if (intent.updatedAt === startedAt) takenAtStart.push(intent.id);
    for (const intent of claimed) {
      const outcome = finishClaimed(own(intent, runtime, askedAt), runtime, origins, resendExpired, recoveryTransport(runtime, 0), signal).then((result) => {
        total = Math.max(total, ++done);
        onProgress?.({ done, total, outcome: result });
        return result;
      });
      const tracked = outcome.finally(() => running.delete(tracked));
      running.add(tracked);
      finished.push(outcome);
    }
    if (running.size === 0) break;
    // Full, or nothing more to claim for now: the next claim waits for a slot.
    await Promise.race(running);
  }
  await Promise.allSettled(running);
  outcomes.push(...(await Promise.all(finished)));
  return outcomes;
}
