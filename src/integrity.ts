/**
 * An intent read back from the journal is checked against itself before anything of it is sent
 * again: a flipped bit on disk, a bad restore, a row written by another program or by hand must
 * not become a request nobody made. The fingerprint journaled with the intent is recomputed from
 * its stored method, URL and body bytes by the rule a call uses (`requestFingerprint`); its id and
 * origin must follow from its key, method and URL; and the fields that go on the wire as they are
 * (key, key header and format, headers) must be well formed. A URL carrying userinfo is damage
 * too: the client never journals one.
 *
 * What it cannot see: the stored headers' values and the key header's name are not part of the
 * fingerprint (a changed `Stripe-Account` value, say, still reads as well formed).
 */
import { storedFormEntries } from './body.js';
import { IdempotencyIntegrityError } from './errors.js';
import { emit } from './events.js';
import { requestFingerprint } from './fingerprint.js';
import { validateKey } from './key.js';
import { describe } from './about.js';
import type { ClientRuntime } from './runtime.js';
import { intentId, type Intent, type IntentSummary } from './stores/store.js';

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * What is wrong with the fields of an intent that `list` returns too (no payloads), in words that
 * quote none of it; undefined when nothing is.
 */
export function summaryDamageOf(intent: IntentSummary): string | undefined {
  const { method, idempotencyKey } = intent;
  if (typeof intent.url !== 'string' || typeof method !== 'string' || typeof idempotencyKey !== 'string') return 'its method, URL or key is not text';
  const url = parsed(intent.url);
  if (url === undefined) return 'its URL does not parse';
  if (url.username !== '' || url.password !== '') return 'its URL carries credentials (user:password@), which the client never journals';
  if (url.href !== intent.url) return 'its URL is not written as the client writes URLs';
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'its URL is not http or https';
  if (intent.origin !== url.origin) return 'its recorded origin is not its URL’s';
  if (intent.id !== intentId(idempotencyKey, method, url)) return 'its id does not follow from its key, method and URL';
  try {
    validateKey(idempotencyKey, Number.MAX_SAFE_INTEGER);
  } catch {
    return 'its key is not printable ASCII';
  }
  if (intent.keyFormat !== 'token' && intent.keyFormat !== 'sf-string') return 'its key format is neither token nor sf-string';
  if (typeof intent.keyHeader !== 'string' || !HEADER_NAME.test(intent.keyHeader)) return 'its key header is not a header name';
  if (typeof intent.fingerprint !== 'string') return 'its fingerprint is not text';
  return undefined;
}

/** What is wrong with an intent read back from the journal, payloads included, in words that quote none of it; undefined when nothing is. */
export async function damageOf(intent: Intent, runtime: { config: Pick<ClientRuntime['config'], 'sha256'> }): Promise<string | undefined> {
  const summary = summaryDamageOf(intent);
  if (summary !== undefined) return summary;
  const { method, body } = intent;
  const url = new URL(intent.url);
  if (!wellFormedHeaders(intent.headers)) return 'its stored headers are not valid HTTP headers';
  if (body !== undefined && !(body instanceof Uint8Array)) return 'its body is not bytes';
  if ((await requestFingerprint(method, url, { bytes: body }, runtime.config.sha256)) === intent.fingerprint) return undefined;
  // A FormData was fingerprinted by its entries: read the stored multipart bytes back into them.
  const entries = body === undefined ? undefined : await storedFormEntries(body, intent.headers['content-type']);
  if (entries !== undefined && (await requestFingerprint(method, url, { bytes: body, fingerprintBytes: entries }, runtime.config.sha256)) === intent.fingerprint) return undefined;
  return 'its method, URL and body do not give its stored fingerprint';
}

function parsed(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

function wellFormedHeaders(headers: unknown): headers is Record<string, string> {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) return false;
  try {
    const checked = new Headers();
    for (const [name, value] of Object.entries(headers)) {
      if (typeof value !== 'string' || !HEADER_NAME.test(name)) return false;
      checked.set(name, value);
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * The error for an intent found damaged, said once as the event `damaged` too; undefined when the
 * intent is whole. Whoever holds it sends nothing and releases it, pending: its outcome is as
 * unknown as before, and only an operator can settle it.
 */
export async function refuseIfDamaged(intent: Intent, runtime: ClientRuntime): Promise<IdempotencyIntegrityError | undefined> {
  const reason = await damageOf(intent, runtime);
  return reason === undefined ? undefined : damaged(intent, reason, runtime);
}

/** The error for an intent damaged for `reason`, said as the event `damaged` too. */
export function damaged(intent: IntentSummary, reason: string, runtime: ClientRuntime): IdempotencyIntegrityError {
  const about = describe(intent, runtime);
  const error = new IdempotencyIntegrityError(
    `Intent of key "${about.idempotencyKey}" (${about.method} ${about.url}) is damaged in the journal: ${reason}. Nothing was sent, and it stays ` +
      'pending: check with the API whether the operation ran, then settle it with resolve() (or restore the journal from a backup).',
    { idempotencyKey: about.idempotencyKey, reason },
  );
  emit(runtime.config.on, 'damaged', { ...about, reason, error });
  return error;
}
