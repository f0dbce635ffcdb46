/**
 * What events and messages say about an operation: its key, method and URL, never its body,
 * headers or a secret in its URL; and the `end` event every caller and every recovery emits.
 */
import type { OperationAbout, PreparedCall, Settlement } from './call-types.js';
import { maskUrl } from './credentials.js';
import { emit } from './events.js';
import type { ClientRuntime } from './runtime.js';
import type { Intent } from './stores/store.js';

/** What the events and messages say about an intent: never its body, headers or a secret in its URL. */
export function describe(intent: Pick<Intent, 'idempotencyKey' | 'method' | 'url'>, runtime: ClientRuntime) {
  // A journal row may hold what the client never writes (userinfo): shown without it.
  return { idempotencyKey: intent.idempotencyKey, method: intent.method, url: maskUrl(String(intent.url), runtime.config.secretParams) };
}
/** describe() of a call, whose URL is still parsed. */
export function describeCall(call: PreparedCall, runtime: ClientRuntime) {
  return describe({ idempotencyKey: call.idempotencyKey, method: call.method, url: call.url.href }, runtime);
}
/** The operation's end, for traces and logs: how it settled and whether the journal answered. */
export function emitEnd(about: OperationAbout, { state, replayed = false, attempts = 0, error }: Settlement, runtime: ClientRuntime): void {
  emit(runtime.config.on, 'end', { ...about, state, replayed, attempts, ...(error === undefined ? {} : { error }) });
}
