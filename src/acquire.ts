/**
 * Acquiring an intent: journal it (or find it journaled), then own it — at once when it is new,
 * by claiming it when another owner's lease has ended or that owner is gone, after a wait (event
 * `ownerWait`, bounded by the call's `totalTimeout`) while a live owner holds it.
 */
import { parked, WaitedForOwner } from './call-errors.js';
import type { Owned, PreparedCall, Settlement } from './call-types.js';
import { emit } from './events.js';
import { refuseIfDamaged } from './integrity.js';
import { answerFromJournal, guardedStore, journal, newIntent } from './journal-gate.js';
import { Lease, monotonicNow } from './ownership.js';
import type { ClientRuntime } from './runtime.js';
import { describe } from './about.js';
import { isExpiredAtClaim } from './stores/store.js';
import { sleep } from './time-limit.js';

/** How long a caller waits between looks at an intent another owner holds. */
const OWNER_POLL_MS = 250;
/**
 * Journals the call's intent, or finds it journaled: answered from the journal, refused, or
 * pending — then it takes the intent over as soon as no live owner holds it (a claim of that one
 * intent, which the store grants when the lease has ended or the owner is gone), saying while it
 * waits (event `ownerWait`). `deadline` ends the wait.
 */
export async function acquire(call: PreparedCall, runtime: ClientRuntime, deadline: AbortSignal): Promise<Owned | Settlement> {
  const store = guardedStore(call, runtime);
  const owner = await store.owner();
  const fresh = newIntent(call, runtime, owner);
  let askedAt = monotonicNow();
  let existing = await journal(call, runtime, fresh);
  let waitingFor: string | undefined;
  let unownedBefore = false;
  for (;;) {
    if (existing === undefined) return { intent: fresh, lease: new Lease(runtime.store, fresh, runtime.config.leaseMs, askedAt) };
    const answered = answerFromJournal(existing, call, runtime);
    if (answered !== undefined) return answered;
    askedAt = monotonicNow();
    const [claimed] = await store.claimOne(owner, existing.origin);
    if (claimed !== undefined) {
      const lease = new Lease(runtime.store, claimed, runtime.config.leaseMs, askedAt);
      if (!isExpiredAtClaim(claimed)) {
        // Read back from the journal: sent only if it still matches itself. Damaged, it is let go untouched.
        const damaged = await refuseIfDamaged(claimed, runtime);
        if (damaged === undefined) return { intent: claimed, lease };
        await lease.finish({ owner: null, leaseMs: 0 }).catch(() => false);
        return { state: 'pending', error: damaged };
      }
      // The key's TTL passed while nobody held it: an unknown outcome, kept and refused.
      await lease.finish({ state: 'expired', owner: null, leaseMs: 0 });
      return answerFromJournal({ ...claimed, state: 'expired' }, call, runtime)!;
    }
    askedAt = monotonicNow();
    existing = (await store.get()) ?? (await store.create(fresh));
    if (existing?.state !== 'pending') continue;
    // Unowned yet not claimable: parked — unless it was released just after the claim looked.
    if (existing.owner === null) {
      if (unownedBefore) return parked(existing, runtime);
      unownedBefore = true;
      continue;
    }
    unownedBefore = false;
    if (existing.owner !== waitingFor) {
      waitingFor = existing.owner;
      emit(runtime.config.on, 'ownerWait', { ...describe(existing, runtime), owner: existing.owner, leaseUntil: existing.leaseUntil });
    }
    const owned = existing;
    await sleep(OWNER_POLL_MS, deadline).catch((reason: unknown) => {
      throw new WaitedForOwner(owned, reason);
    });
  }
}
