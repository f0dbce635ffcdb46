/**
 * What counts as a secret, in one place: header names that may carry a credential, and query
 * parameters that may. A journal outlives the process and its backups outlive the journal, so
 * both lists are broad on purpose: a false positive costs a header not replayed, a false
 * negative leaks a key.
 */

/** auth, key, token, secret, session, signature, cookie, password, credential, in any header name. */
const CREDENTIAL_HEADER = /auth|key|token|secret|session|signature|cookie|passw|credential/i;

/** Query parameters masked wherever a URL is shown (errors, events, `pending()`, the CLI). */
export const DEFAULT_SECRET_PARAMS: readonly string[] = [
  'api_key',
  'apikey',
  'key',
  'token',
  'access_token',
  'signature',
  'sig',
  'password',
  'secret',
];

/**
 * Whether a header name may carry a credential: never journaled, whatever `persistHeaders` says.
 * The idempotency key header itself is named by the client and exempt (it is not a secret).
 */
export function isCredentialHeader(name: string): boolean {
  return CREDENTIAL_HEADER.test(name);
}

const MASK = '***';

/**
 * The URL as it may be shown to a person: credential-like query values replaced by `***`.
 * The journal keeps the URL as sent (recovery must send the same request); only its display is
 * masked. Userinfo never gets this far: it is refused before anything is stored.
 */
export function maskUrl(url: string, secretParams: ReadonlySet<string>): string {
  const hashAt = url.indexOf('#');
  const end = hashAt === -1 ? url.length : hashAt;
  const queryAt = url.indexOf('?');
  if (queryAt === -1 || queryAt > end) return url;
  // Pair by pair, so the URL shown is the one sent (same order, same escapes) but for the values.
  const pairs = url.slice(queryAt + 1, end).split('&').map((pair) => {
    const name = pair.split('=', 1)[0] ?? '';
    return secretParams.has(formDecode(name).toLowerCase()) ? `${name}=${MASK}` : pair;
  });
  return `${url.slice(0, queryAt + 1)}${pairs.join('&')}${url.slice(end)}`;
}

/**
 * A URL read back from somewhere the client did not write it (a journal row, a redirect's
 * Location) as it may be shown: userinfo dropped, then `maskUrl`. An unparsable one is shown
 * without its query.
 */
export function showUrl(url: string, secretParams: ReadonlySet<string>): string {
  // The common case, a URL with no '@' at all, costs no parse.
  if (!url.includes('@')) return maskUrl(url, secretParams);
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return maskUrl(url, secretParams);
    parsed.username = '';
    parsed.password = '';
    return maskUrl(parsed.href, secretParams);
  } catch {
    return `${url.split(/[?#]/, 1)[0]?.replace(/\/\/[^/]*@/, '//')} (query hidden: unparsable URL)`;
  }
}

/** A query name as URLSearchParams reads it (`+` is a space); a malformed escape stays as written. */
function formDecode(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return text;
  }
}
