/**
 * What counts as a secret, in one place: one rule for header names and for the names of query
 * and fragment parameters alike. A journal outlives the process and its backups outlive the
 * journal, so the rule is broad on purpose: a false positive costs a harmless value shown as
 * `***` (or a header not replayed), a false negative leaks a key.
 *
 * A name is secret when, lower-cased and with everything but letters and digits removed
 * (`X-Api-Key` → `xapikey`, `user[password]` → `userpassword`), it contains one of
 * {@link SECRET_WORDS}; or when one of its words (split at anything but letters and digits) is
 * one of {@link SECRET_WORD_PARTS}; or when it is one of the client's own `secretParams`, compared
 * the same way. The cloud providers' signed URLs are covered by the words: AWS SigV4's
 * `X-Amz-Credential`, `X-Amz-Signature` and `X-Amz-Security-Token` (SigV2's `AWSAccessKeyId` and
 * `Signature`), Google Cloud Storage's `X-Goog-Credential` and `X-Goog-Signature` (V2's
 * `Signature`), CloudFront's `Signature` and `Key-Pair-Id`, and Azure's SAS signature `sig`. The
 * other parameters of those URLs (`X-Amz-Date`, `X-Amz-Expires`, `X-Goog-SignedHeaders`, SAS
 * `sv`, `se`, `sp`, `sr`, `st`, `spr`…) say what the signature grants and until when: they grant
 * nothing without it, and are shown.
 */

/** Secret wherever they occur in a name: `client_secret`, `refresh_token`, `X-Amz-Credential`, `auth`, `zip_code`… */
export const SECRET_WORDS: readonly string[] = [
  'token',
  'secret',
  'signature',
  'credential',
  'key',
  'passw',
  'pwd',
  'auth',
  'session',
  'sessid',
  'code',
  'jwt',
  'cookie',
  'csrf',
  'xsrf',
  'saml',
  'assertion',
];

/**
 * Too short to look for inside words (`design`, `inside`, `compass`), secret as a word of their
 * own: Azure SAS `sig`, a session's `sid` (`connect.sid`), `pass`.
 */
export const SECRET_WORD_PARTS: readonly string[] = ['sig', 'sid', 'pass'];

const WORD_PARTS: ReadonlySet<string> = new Set(SECRET_WORD_PARTS);
const NO_NAMES: ReadonlySet<string> = new Set();

/** A name as the rule compares it: lower-case letters and digits only. */
function squashed(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '');
}

/** The client's `secretParams` (or the CLI's `--secret-param`), as {@link isSecretName} compares them. */
export function secretNames(names: Iterable<string>): ReadonlySet<string> {
  return new Set([...names].map(squashed).filter((name) => name !== ''));
}

/**
 * The rule: whether a header, query or fragment parameter name may carry a secret. `extra`: the
 * client's own names, from {@link secretNames}.
 */
export function isSecretName(name: string, extra: ReadonlySet<string> = NO_NAMES): boolean {
  const flat = squashed(name);
  if (SECRET_WORDS.some((word) => flat.includes(word)) || extra.has(flat)) return true;
  return name.toLowerCase().split(/[^a-z0-9]+/).some((part) => WORD_PARTS.has(part));
}

/**
 * Idempotency key headers that the rule would call credentials (they contain `key` or `token`),
 * and may name the client's `keyHeader` all the same: `Idempotency-Key` (the IETF draft, Stripe,
 * Adyen, GoCardless…), `X-Idempotency-Key`, `Cko-Idempotency-Key` (Checkout.com), and the words
 * `idempotency-token`, `idempotent-key` and `request-key`, after any prefix that is no secret
 * itself (`X-Acme-Idempotency-Key` is accepted, `X-Auth-Idempotency-Key` is not).
 */
export const IDEMPOTENCY_KEY_HEADER_ENDINGS: readonly string[] = ['idempotency-key', 'idempotency-token', 'idempotent-key', 'request-key'];

/** Whether `name` can carry the idempotency key rather than a credential: no secret, or a known key header. */
export function isKeyHeaderName(name: string): boolean {
  if (!isSecretName(name)) return true;
  const lower = name.toLowerCase();
  const ending = IDEMPOTENCY_KEY_HEADER_ENDINGS.find((end) => lower === end || lower.endsWith(`-${end}`) || lower.endsWith(`_${end}`));
  return ending !== undefined && !isSecretName(lower.slice(0, lower.length - ending.length));
}

const MASK = '***';

/**
 * The URL as it may be shown to a person: the values of secret-named query and fragment
 * parameters replaced by `***`, and any userinfo (`user:password@`) removed. Everything else is
 * shown as it was written (same order, same escapes). The journal keeps the URL as sent
 * (recovery must send the same request); only its display is masked. The client refuses userinfo
 * before anything is stored, but a journal may hold rows written by others; a URL that does not
 * even parse is masked as text all the same.
 */
export function maskUrl(url: string, extra: ReadonlySet<string> = NO_NAMES): string {
  const bare = withoutUserinfo(url);
  const hashAt = bare.indexOf('#');
  const beforeHash = hashAt === -1 ? bare : bare.slice(0, hashAt);
  const queryAt = beforeHash.indexOf('?');
  let shown = queryAt === -1 ? beforeHash : `${beforeHash.slice(0, queryAt + 1)}${maskPairs(beforeHash.slice(queryAt + 1), extra)}`;
  // The fragment never reaches the server, but OAuth puts tokens there (`#access_token=…`), and
  // single-page apps a query of their own (`#/callback?code=…`): its pairs are masked alike.
  if (hashAt !== -1) shown += `#${maskPairs(bare.slice(hashAt + 1), extra)}`;
  return shown;
}

/** `name=value` pairs split at `&` or `;` (some servers take either), each secret name's value masked. */
function maskPairs(text: string, extra: ReadonlySet<string>): string {
  return text
    .split(/([&;])/)
    .map((pair, index) => {
      if (index % 2 === 1) return pair;
      const equals = pair.indexOf('=');
      if (equals === -1) return pair;
      const name = pair.slice(0, equals);
      return isSecretName(formDecode(name), extra) ? `${name}=${MASK}` : pair;
    })
    .join('');
}

/** The URL without `user:password@`; a URL that does not parse loses whatever precedes an `@` in its authority. */
function withoutUserinfo(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url.replace(/^([^/\\@?#]*[/\\]{0,2})[^/\\]*@/, '$1');
  }
  if (parsed.username === '' && parsed.password === '') return url;
  parsed.username = '';
  parsed.password = '';
  return parsed.href;
}

/** A parameter name as URLSearchParams reads it (`+` is a space); a malformed escape stays as written. */
function formDecode(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return text;
  }
}
