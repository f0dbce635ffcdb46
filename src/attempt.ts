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
import type { NormalizedOptions } from './options.js';
import type { Answer } from './response.js';
import { timeLimit } from './time-limit.js';

export interface WireRequest {
  url: URL;
  method: string;
  headers: Headers;
  body: Uint8Array | undefined;
  /** The URL as errors may show it (masked by `maskUrl`). */
  shownUrl: string;
}

export async function sendAttempt(request: WireRequest, timeout: number | false, signal: AbortSignal, options: NormalizedOptions): Promise<Answer> {
  const limit = timeLimit(signal, timeout);
  // ky's errors carry the request it sent, credentials and all: ours name it, and nothing more.
  const shown = () => new Request(request.shownUrl, { method: request.method });
  // The journaled bytes go out on every attempt, whatever a hook did to ky's request body. The
  // limit goes to fetch, not to ky, which would join it to its own signal with AbortSignal.any.
  const send = async (url: string, method: string, headers: Headers): Promise<Response> => {
    const init: RequestInit = { method, headers, body: request.body as BodyInit | undefined, signal: limit.signal };
    try {
      return await (options.fetch ? options.fetch(url, init) : globalThis.fetch(url, init));
    } catch (error) {
      throw unanswered(error, shown);
    }
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
    const body = await response.arrayBuffer().catch((error: unknown) => {
      throw unanswered(error, shown);
    });
    return { status: response.status, statusText: response.statusText, headers: response.headers, bytes: new Uint8Array(body), url: response.url };
  } catch (error) {
    if (limit.expired && !signal.aborted) throw new TimeoutError(shown());
    throw error;
  } finally {
    limit.end();
  }
}

/**
 * fetch rejects with a TypeError when the network fails the request, and reading the answer's
 * body does when the connection breaks mid-way (the Fetch standard; an abort is a DOMException).
 * Caught where only fetch can have thrown, it is ky's NetworkError: retried with the same key.
 */
function unanswered(error: unknown, shown: () => Request): unknown {
  return error instanceof TypeError ? new NetworkError(shown(), { cause: error }) : error;
}
