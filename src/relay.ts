/**
 * `relay()`: `recover()` running until stopped — claims unowned intents as they appear (enqueued,
 * released, or orphaned by an owner that died or whose lease ran out) and sends up to
 * `concurrency` at once, woken by the store where it can tell (PostgreSQL's NOTIFY), else polling.
 */
import { claimRequest, concurrencyOf, finishClaimed, own, recoveryTransport, requireOrigins, signalOf } from './claimed.js';
import { milliseconds } from './config.js';
import { monotonicNow } from './ownership.js';
import type { RelayOptions } from './recovery-types.js';
import type { ClientRuntime } from './runtime.js';
import type { IntentState } from './stores/store.js';
import { timeLimit, whenAborted } from './time-limit.js';

/**
 * Until `signal` aborts: claims unowned intents as they appear (enqueued, or orphaned once their
 * owner's lease runs out or it dies) and sends up to `concurrency` at once. Stopping aborts what
 * is in flight; each such intent is released, pending, for the next relay.
 */
export async function relayLoop(runtime: ClientRuntime, relayOptions: RelayOptions = {}): Promise<void> {
  const origins = requireOrigins(runtime);
  const { resendExpired = false } = relayOptions;
  // A timer's wait, and how long a failed intent is parked: whole ms a store keeps.
  const pollMs = milliseconds('pollMs', relayOptions.pollMs, 1000);
  const signal = signalOf(relayOptions.signal);
  const concurrency = concurrencyOf(relayOptions.concurrency, 8);
  const states: IntentState[] = resendExpired ? ['pending', 'expired'] : ['pending'];
  const running = new Set<Promise<unknown>>();
  // A store that cannot be reached skips a round, enlisting this client as an owner included: the relay goes on.
  const claim = async (limit: number) => runtime.store.claim(claimRequest(runtime, await runtime.owner.id(), origins, states, limit));
  // A store that can tell when intents appear (PostgreSQL's NOTIFY) wakes the relay at once.
  let wake = () => {};
  const unwatch = runtime.store.watch?.(() => wake());
  while (!signal.aborted) {
    // Armed before the claim: a notification that arrives while claiming still cuts the next wait short.
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const room = concurrency - running.size;
    const askedAt = monotonicNow();
    const claimed = room > 0 ? await claim(room).catch(() => []) : [];
    for (const intent of claimed) {
      const work = finishClaimed(own(intent, runtime, askedAt), runtime, origins, resendExpired, recoveryTransport(runtime, pollMs), signal).finally(() => running.delete(work));
      running.add(work);
    }
    if (room > 0 && claimed.length === room) continue;
    if (claimed.length === 0 && running.size === 0) runtime.housekeeping.idle();
    // Full: wait for a slot. Idle: wait for the next poll. Either way the stop cuts it short.
    const slotFreed = room > claimed.length ? [] : [Promise.race(running)];
    // The poll as a time limit ended after the race: no timer or listener on `signal` outlives a turn.
    // A stop that came while claiming has already aborted it.
    const poll = timeLimit(signal, pollMs);
    await Promise.race([whenAborted(poll.signal), woken, ...slotFreed]).catch(() => {});
    poll.end();
  }
  await Promise.allSettled(running);
  await unwatch?.();
}
