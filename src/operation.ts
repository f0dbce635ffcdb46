/**
 * One logical operation: key → journal → own → attempts → classify → settle.
 *
 * Nothing is sent until the intent's `create` has resolved (one durable commit on the critical
 * path). The outcome is recorded after the caller has its answer: if the process dies first, the
 * intent is still pending under the same key, and recovery gets the server's replay.
 */
import { acquire } from './acquire.js';
import { stoppedWaiting, WaitedForOwner } from './call-errors.js';
import type { PreparedCall, Settlement } from './call-types.js';
import type { ClientRuntime } from './runtime.js';
import { sendOwned } from './send.js';
import { timeLimit } from './time-limit.js';

/**
 * A call's operation: journal it (or find it journaled), take ownership, send, settle. `totalTimeout`
 * bounds all of it, a wait for another owner included. Its callers emit `start` and `end`, each its own.
 */
export async function runCall(call: PreparedCall, runtime: ClientRuntime, signal: AbortSignal): Promise<Settlement> {
  const total = timeLimit(signal, call.totalTimeout);
  return operate(call, runtime, signal, total.signal)
    .catch((error: unknown): Settlement => ({ state: error instanceof WaitedForOwner ? 'pending' : undefined, error: stoppedWaiting(error, signal, total.expired) }))
    .finally(() => total.end());
}
async function operate(call: PreparedCall, runtime: ClientRuntime, signal: AbortSignal, deadline: AbortSignal): Promise<Settlement> {
  const acquired = await acquire(call, runtime, deadline);
  return 'state' in acquired ? acquired : sendOwned(acquired, call, runtime, signal, deadline);
}
