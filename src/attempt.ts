/**
 * One attempt on the wire: the request goes out once (the loop is ours), and the answer is read
 * to its end within the attempt's time limit. A `timeout` on the headers alone would let a body
 * that trickles or stalls hold the call, and a start-up `recover()`, for as long as the server
 * likes — so the limit is a signal over both.
 *
 * With `hooks`, the attempt goes through ky, which runs them. Without, there is nothing left for
 * ky to do — its timeout, retries and HTTP errors are the operation's — and fetch is called
 * directly: ky would build a Request and merge options on every attempt only for fetch to copy it.
 */
import ky, { NetworkError, TimeoutError } from 'ky';
import isNetworkError from 'is-network-error';
import type { NormalizedOptions } from './options.js';
import type { Answer } from './response.js';
import { timeLimit } from './time-limit.js';

export interface WireRequest {
  url: URL;
  method: string;
  headers: Headers;
  body: Uint8Array | undefined;
  /** The URL as errors may show it (credential-like query values masked). */
  shownUrl: string;
}

export async function sendAttempt(request: WireRequest, timeout: number | false, signal: AbortSignal, options: NormalizedOptions): Promise<Answer> {
  const limit = timeLimit(signal, timeout);
  // The journaled bytes go out on every attempt, whatever a hook did to ky's request body. The
  // limit goes to fetch, not to ky, which would join it to its own signal with AbortSignal.any.
  const send = (url: string, method: string, headers: Headers): Promise<Response> => {
    const init: RequestInit = { method, headers, body: request.body as BodyInit | undefined, signal: limit.signal };
    return options.fetch ? options.fetch(url, init) : globalThis.fetch(url, init);
  };
  try {
    const response =
      options.hooks === undefined
        ? await send(request.url.href, request.method, request.headers)
        : await ky(request.url, {
            method: request.method,
            headers: request.headers,
            // Hooks may read the body (to sign it, say).
            body: request.body as BodyInit | undefined,
            timeout: false,
            retry: 0,
            throwHttpErrors: false,
            // ky's request as hooks left it (URL, method, headers), sent afresh rather than wrapped:
            // fetch would pipe a wrapped request's body through a stream of its own.
            fetch: (input) => {
              const { url, method, headers } = input as Request;
              return send(url, method, headers);
            },
            hooks: options.hooks,
          });
    const bytes = new Uint8Array(await response.arrayBuffer());
    return { status: response.status, statusText: response.statusText, headers: response.headers, bytes, url: response.url };
  } catch (error) {
    // ky's errors carry the request it sent, credentials and all: ours name it, and nothing more.
    const shown = new Request(request.shownUrl, { method: request.method });
    if (limit.expired && !signal.aborted) throw new TimeoutError(shown);
    const unanswered = networkFailure(error);
    if (unanswered !== undefined) throw new NetworkError(shown, { cause: unanswered });
    throw error;
  } finally {
    limit.end();
  }
}

/**
 * The platform's error, when the request or its answer's body failed on the network: fetch's own
 * TypeError ("fetch failed", "terminated"...), as ky found it or as it came. Bun rejects a dropped
 * connection with TypeError('ECONNRESET: ...') and a `code`, which neither recognises.
 */
function networkFailure(error: unknown): Error | undefined {
  if (error instanceof NetworkError) return error.cause as Error;
  if (isNetworkError(error)) return error;
  if (error instanceof TypeError && typeof (error as { code?: unknown }).code === 'string') return error;
  return undefined;
}
