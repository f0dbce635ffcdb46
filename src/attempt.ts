/**
 * One attempt on the wire: the request goes out once (the loop is ours), and the answer is read
 * to its end within the attempt's time limit. A `timeout` on the headers alone would let a body
 * that trickles or stalls hold the call, and a start-up `recover()`, for as long as the server
 * likes — so the limit is a signal over both.
 *
 * With `hooks`, the attempt goes through ky, which runs them. Without, there is nothing left for
 * ky to do — its timeout, retries and HTTP errors are the operation's — and fetch is called
 * directly: ky would build a Request and merge runtime on every attempt only for fetch to copy it.
 */
import ky, { NetworkError, TimeoutError } from 'ky';
import { maskUrl } from './credentials.js';
import { IdempotencyRedirectError } from './errors.js';
import type { ClientRuntime } from './runtime.js';
import type { Answer } from './response.js';
import { timeLimit } from './time-limit.js';

export interface WireRequest {
  url: URL;
  method: string;
  headers: Headers;
  body: Uint8Array | undefined;
  /** The URL as errors may show it (masked by `maskUrl`). */
  shownUrl: string;
  /** For the error a redirect ends the attempt with. */
  idempotencyKey: string;
}

/** Same-origin 307/308 hops followed within one attempt, at most. */
export const MAX_REDIRECTS = 5;

/** The statuses fetch follows as redirects (the Fetch standard's redirect status). */
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

export async function sendAttempt(request: WireRequest, timeout: number | false, signal: AbortSignal, runtime: ClientRuntime): Promise<Answer> {
  const limit = timeLimit(signal, timeout);
  // ky's errors carry the request it sent, credentials and all: ours name it, and nothing more.
  const shown = () => new Request(request.shownUrl, { method: request.method });
  // The journaled bytes go out on every attempt, whatever a hook did to ky's request body. The
  // limit goes to fetch, not to ky, which would join it to its own signal with AbortSignal.any.
  // Redirects are never left to fetch: it would send the body, the key and every header but
  // Authorization and Cookie to wherever a Location points, or turn the write into a GET.
  const send = async (url: string, method: string, headers: Headers): Promise<Response> => {
    const init: RequestInit = { method, headers, body: request.body as BodyInit | undefined, signal: limit.signal, redirect: 'manual' };
    try {
      return await (runtime.config.fetch ? runtime.config.fetch(url, init) : globalThis.fetch(url, init));
    } catch (error) {
      throw unanswered(error, shown);
    }
  };
  const sendTo = (url: URL): Promise<Response> =>
    runtime.config.hooks === undefined
      ? send(url.href, request.method, request.headers)
      : ky(url, {
          method: request.method,
          headers: request.headers,
          // Hooks may read the body (to sign it, say).
          body: request.body as BodyInit | undefined,
          redirect: 'manual',
          timeout: false,
          retry: 0,
          throwHttpErrors: false,
          // ky's request as hooks left it (URL, method, headers), sent afresh rather than wrapped:
          // fetch would pipe a wrapped request's body through a stream of its own.
          fetch: (input) => {
            const { url: hooked, method, headers } = input as Request;
            return send(hooked, method, headers);
          },
          hooks: runtime.config.hooks,
        });
  try {
    let url = request.url;
    const visited = new Set([url.href]);
    for (;;) {
      const response = await sendTo(url);
      const next = redirectTarget(response, url, request, visited, runtime);
      if (next === undefined) {
        const body = await response.arrayBuffer().catch((error: unknown) => {
          throw unanswered(error, shown);
        });
        return { status: response.status, statusText: response.statusText, headers: response.headers, bytes: new Uint8Array(body), url: response.url };
      }
      // A same-origin 307/308: the same bytes and key again, at the new path, within this attempt.
      await response.body?.cancel().catch(() => {});
      visited.add(next.href);
      url = next;
    }
  } catch (error) {
    if (limit.expired && !signal.aborted) throw new TimeoutError(shown());
    throw error;
  } finally {
    limit.end();
  }
}

/**
 * Where a redirect answer may be followed to — a 307 or 308 (which keep the method and body) on
 * the request's own origin, to a URL not visited yet, within `MAX_REDIRECTS` — undefined for an
 * answer that is no redirect. Any other redirect ends the attempt with `IdempotencyRedirectError`,
 * its body unread and nothing sent where it points. Node (undici), Deno and Bun hand a manual
 * redirect back with its status and Location; browsers hide both (an opaque redirect, status 0).
 */
function redirectTarget(response: Response, from: URL, request: WireRequest, visited: ReadonlySet<string>, runtime: ClientRuntime): URL | undefined {
  const opaque = response.type === 'opaqueredirect';
  if (!opaque && !REDIRECT_STATUSES.has(response.status)) return undefined;
  const { idempotencyKey, method } = request;
  const refuse = (why: string, location?: string): never => {
    void response.body?.cancel().catch(() => {});
    const status = opaque ? undefined : response.status;
    throw new IdempotencyRedirectError(
      `${method} ${request.shownUrl} (key "${idempotencyKey}") was answered with a redirect${status === undefined ? '' : ` (${status})`}${location === undefined ? '' : ` to ${location}`}: ${why}. ` +
        'Nothing was sent there, and the intent stays pending: check the URL the client sends to, then recover() it, or settle it with resolve().',
      { idempotencyKey, status, location },
    );
  };
  if (opaque) return refuse('the browser does not show where it points, so it is not followed');
  const header = response.headers.get('location');
  if (header === null) return refuse('it names no Location');
  let target: URL;
  try {
    target = new URL(header, from);
  } catch {
    return refuse('its Location is not a URL');
  }
  const location = maskUrl(target.href, runtime.config.secretParams);
  if (response.status !== 307 && response.status !== 308) return refuse(`a ${response.status} would turn the ${method} into a GET, so it is not followed`, location);
  if (target.origin !== request.url.origin) return refuse(`another origin than ${request.url.origin}, which is never sent the request`, location);
  if (target.username !== '' || target.password !== '') return refuse('its Location carries credentials (user:password@)', location);
  if (visited.has(target.href)) return refuse('a redirect loop', location);
  if (visited.size > MAX_REDIRECTS) return refuse(`more than ${MAX_REDIRECTS} redirects`, location);
  return target;
}

/**
 * fetch rejects with a TypeError when the network fails the request, and reading the answer's
 * body does when the connection breaks mid-way (the Fetch standard; an abort is a DOMException).
 * Caught where only fetch can have thrown, it is ky's NetworkError: retried with the same key.
 */
function unanswered(error: unknown, shown: () => Request): unknown {
  return error instanceof TypeError ? new NetworkError(shown(), { cause: error }) : error;
}
