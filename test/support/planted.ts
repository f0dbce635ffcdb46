/**
 * Intents written into a journal behind the client's back, as another process, version or hand
 * would: whole (their id and fingerprint follow from their request by the client's own rules), so
 * that a test can damage exactly what it means to.
 */
import { requestFingerprint, webCryptoSha256 } from '../../src/fingerprint.js';
import { intentId, type Intent } from '../../src/stores/store.js';
import { makeIntent } from '../../src/testing/intents.js';

/** A pending, unowned intent journaled just now for `url`, with its id, origin and fingerprint as a call would have them. */
export async function wholeIntent(overrides: Partial<Intent> & { url: string; idempotencyKey: string }): Promise<Intent> {
  const now = Date.now();
  const url = new URL(overrides.url);
  const method = overrides.method ?? 'POST';
  const body = 'body' in overrides ? overrides.body : new TextEncoder().encode('{"amount":700}');
  const intent = makeIntent({ scope: 'default', createdAt: now, updatedAt: now, expiresAt: now + 60 * 60_000, ...overrides, method, url: url.href, origin: url.origin });
  if (body === undefined) delete intent.body;
  else intent.body = body;
  intent.id = overrides.id ?? intentId(intent.idempotencyKey, method, url);
  intent.fingerprint = overrides.fingerprint ?? (await requestFingerprint(method, url, { bytes: body }, webCryptoSha256));
  return intent;
}
