import { describe, expect, it } from 'vitest';
import { isKeyHeaderName, isSecretName, maskUrl, secretNames } from '../src/credentials.js';
import { createClient, memoryStore } from '../src/index.js';

/** Names that reached errors, events, pending(), recovery outcomes and the CLI unmasked before, and the rule's own words. */
const SECRET = [
  // Cloud providers' signed URLs: AWS SigV4 and SigV2, Google Cloud Storage V4 and V2, CloudFront, Azure SAS.
  'X-Amz-Signature', 'X-Amz-Credential', 'X-Amz-Security-Token', 'x-amz-security-token', 'AWSAccessKeyId', 'Signature',
  'X-Goog-Signature', 'X-Goog-Credential', 'Key-Pair-Id', 'sig',
  // OAuth and the like.
  'client_secret', 'refresh_token', 'id_token', 'access_token', 'code', 'auth_code', 'client_assertion', 'SAMLResponse', 'jwt',
  // Keys, sessions, passwords.
  'api-key', 'api_key', 'apikey', 'API_KEY', 'key', 'token', 'Token', 'secret', 'password', 'passwd', 'pwd', 'pass', 'user[password]',
  'session_id', 'sessionId', 'PHPSESSID', 'JSESSIONID', 'connect.sid', 'auth', 'oauth_token', 'signature', '_csrf',
  // Header names.
  'Authorization', 'Proxy-Authorization', 'Cookie', 'Set-Cookie', 'X-Api-Key', 'X-Auth-Token', 'X-CSRF-Token', 'X-XSRF-TOKEN',
  'X-Hub-Signature-256', 'Ocp-Apim-Subscription-Key', 'X-Functions-Key', 'X-Session-Id', 'X-Credential', 'X-Client-Secret',
];

/** Ordinary names, and the signed URLs' parameters that grant nothing without their signature. */
const ORDINARY = [
  'amount', 'currency', 'page', 'sort', 'limit', 'offset', 'n', 'id', 'user_id', 'email', 'state', 'expand', 'q', 'signup', 'design',
  'inside', 'compass', 'passenger', 'assign',
  'X-Amz-Algorithm', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Goog-Algorithm', 'X-Goog-Date', 'X-Goog-Expires',
  'sv', 'se', 'sp', 'sr', 'st', 'spr', 'Expires', 'Policy',
  'content-type', 'accept', 'accept-encoding', 'content-encoding', 'stripe-account', 'stripe-version', 'x-tenant', 'user-agent',
];

describe('the secret rule', () => {
  it.each(SECRET)('%s is secret', (name) => {
    expect(isSecretName(name)).toBe(true);
  });

  it.each(ORDINARY)('%s is not', (name) => {
    expect(isSecretName(name)).toBe(false);
  });

  it('adds the client’s own names, compared without case or separators, and never takes any away', () => {
    const extra = secretNames(['tenant_ref', '']);
    for (const name of ['tenant_ref', 'Tenant-Ref', 'TENANTREF']) expect(isSecretName(name, extra)).toBe(true);
    expect(isSecretName('tenant', extra)).toBe(false);
    expect(isSecretName('token', extra)).toBe(true);
  });
});

describe('maskUrl', () => {
  it.each([
    ['query values of secret names', 'https://api.test/v1?amount=1&token=abc&page=2', 'https://api.test/v1?amount=1&token=***&page=2'],
    ['every signed-URL parameter that grants', 'https://b.s3.test/o?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F2013&X-Amz-Date=20130721T201207Z&X-Amz-Security-Token=t&X-Amz-Signature=f0',
      'https://b.s3.test/o?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***&X-Amz-Date=20130721T201207Z&X-Amz-Security-Token=***&X-Amz-Signature=***'],
    ['an Azure SAS', 'https://a.blob.test/c/b?sv=2022-11-02&se=2030-01-01&sr=b&sp=r&sig=abc%3D', 'https://a.blob.test/c/b?sv=2022-11-02&se=2030-01-01&sr=b&sp=r&sig=***'],
    ['escaped and form-encoded names', 'https://api.test/?api%5Fkey=a&user%5Bpassword%5D=b&refresh+token=c&q=a%20b', 'https://api.test/?api%5Fkey=***&user%5Bpassword%5D=***&refresh+token=***&q=a%20b'],
    ['pairs split at ;', 'https://api.test/?a=1;token=abc', 'https://api.test/?a=1;token=***'],
    ['an OAuth fragment', 'https://app.test/cb#access_token=abc&token_type=bearer&expires_in=3600&state=xyz', 'https://app.test/cb#access_token=***&token_type=***&expires_in=3600&state=xyz'],
    ['a single-page app’s fragment query', 'https://app.test/#/callback?code=abc&page=1', 'https://app.test/#/callback?code=***&page=1'],
    ['a fragment with no pairs, left as it is', 'https://app.test/docs?page=1#section-2', 'https://app.test/docs?page=1#section-2'],
    ['userinfo, removed', 'https://user:pw@api.test/v1?x=1', 'https://api.test/v1?x=1'],
    ['a user alone, removed', 'https://tok@api.test/v1', 'https://api.test/v1'],
    ['userinfo in a URL that does not parse', 'redis//:pw@host/0', 'redis//host/0'],
    ['a bare query word, left as it is', 'https://api.test/v1?verbose', 'https://api.test/v1?verbose'],
    ['a URL with nothing secret, as written', 'https://api.test/v1/Pay%20outs?b=2&a=1', 'https://api.test/v1/Pay%20outs?b=2&a=1'],
  ])('masks %s', (_what, url, shown) => {
    expect(maskUrl(url)).toBe(shown);
  });

  it('masks the client’s own names too', () => {
    expect(maskUrl('https://api.test/?tenant_ref=t1&page=2#tenant-ref=t2', secretNames(['tenant_ref']))).toBe('https://api.test/?tenant_ref=***&page=2#tenant-ref=***');
  });
});

describe('keyHeader', () => {
  it.each(['Idempotency-Key', 'idempotency-key', 'X-Idempotency-Key', 'Cko-Idempotency-Key', 'X-Acme-Idempotency-Key', 'Idempotency-Token', 'X-Request-Key', 'X-Request-Id', 'PayPal-Request-Id'])(
    '%s may carry the key',
    (name) => {
      expect(isKeyHeaderName(name)).toBe(true);
      expect(() => createClient({ store: memoryStore(), keyHeader: name })).not.toThrow();
    },
  );

  it.each(['X-Api-Key', 'Api-Key', 'Authorization', 'Cookie', 'X-Auth-Token', 'X-Session-Key', 'X-Auth-Idempotency-Key', 'X-Amz-Security-Token'])(
    '%s is refused: a credential would be journaled and shown as the key',
    (name) => {
      expect(isKeyHeaderName(name)).toBe(false);
      expect(() => createClient({ store: memoryStore(), keyHeader: name })).toThrow(TypeError);
      expect(() => createClient({ store: memoryStore(), keyHeader: name })).toThrow(/^keyHeader cannot be/);
    },
  );
});

describe('invalid header values are named, never repeated', () => {
  const BAD_VALUES: Array<[string, HeadersInit]> = [
    ['a line break in a record', { 'X-Evil': 'PLANTED_crlf\r\nX-Injected: 1' }],
    ['a NUL in an API key', { 'X-Api-Key': 'PLANTED_nul\0tail' }],
    ['a NUL in pairs', [['X-Api-Key', 'PLANTED_pairs\0tail']]],
  ];

  it.each(BAD_VALUES)('per call: %s is a TypeError naming the header; nothing is journaled or sent', async (_what, headers) => {
    const store = memoryStore();
    let sent = 0;
    const api = createClient({ prefix: 'https://api.test/', store, fetch: async () => (sent++, new Response('{}', { status: 201 })) });
    const error = await api.post('v1/payouts', { json: {}, headers }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/^headers: the value of header "X-(Evil|Api-Key)" is not a valid HTTP header value/);
    expect(String((error as Error).stack)).not.toMatch(/PLANTED|X-Injected|tail/);
    expect(error).not.toHaveProperty('cause');
    const plain = await Promise.resolve()
      .then(() => api.get('v1/payouts', { headers }))
      .catch((caught: unknown) => caught);
    expect(plain).toBeInstanceOf(TypeError);
    expect(String((plain as Error).stack)).not.toMatch(/PLANTED|X-Injected|tail/);
    expect([await store.list(), sent]).toEqual([[], 0]);
  });

  it.each(BAD_VALUES)('in the client’s headers: %s is a TypeError naming the header', (_what, headers) => {
    const refused = () => createClient({ store: memoryStore(), headers });
    expect(refused).toThrow(/^headers: the value of header "X-(Evil|Api-Key)"/);
    try {
      refused();
    } catch (error) {
      expect(String((error as Error).stack)).not.toMatch(/PLANTED|X-Injected|tail/);
    }
  });

  it('a name that is no header name (a value pasted in its place?) is not repeated either', async () => {
    const api = createClient({ prefix: 'https://api.test/', store: memoryStore(), fetch: async () => new Response('{}', { status: 201 }) });
    const error = await api.post('v1/payouts', { json: {}, headers: { 'Bearer PLANTED_name': 'x' } }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/^headers: a header name is not an HTTP token/);
    expect(String((error as Error).stack)).not.toContain('PLANTED');
  });
});
