/**
 * One attempt on the wire, through ky: the request goes out once (ky's own retries are off, the
 * loop is ours), and the answer is read to its end within the attempt's time limit. ky's
 * `timeout` covers the headers only; a body that trickles or stalls would hold the call, and a
 * start-up `recover()`, for as long as the server likes — so the limit is a signal over both.
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
  /** The URL as errors may show it (credential-like query values masked). */
  shownUrl: string;
}

export async function sendAttempt(request: WireRequest, timeout: number | false, signal: AbortSignal, options: NormalizedOptions): Promise<Answer> {
  const limit = timeLimit(signal, timeout);
  try {
    const response = await ky(request.url, {
      method: request.method,
      headers: request.headers,
      // Hooks may read the body (to sign it, say); without them ky's request needs none, and is cheaper without.
      ...(options.hooks === undefined ? {} : { body: request.body as BodyInit | undefined }),
      timeout: false,
      retry: 0,
      throwHttpErrors: false,
      // What goes out is ky's request (its URL and headers, as hooks left them) with the journaled
      // bytes as the body, always: a request built afresh rather than one wrapped around ky's,
      // whose body fetch would pipe through a stream of its own. The limit goes to fetch, not to
      // ky, which would join it to its own signal with AbortSignal.any.
      fetch: (input) => {
        const { method, url, headers } = input as Request;
        const init: RequestInit = { method, headers, body: request.body as BodyInit | undefined, signal: limit.signal };
        return options.fetch ? options.fetch(url, init) : globalThis.fetch(url, init);
      },
      hooks: options.hooks,
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    return { status: response.status, statusText: response.statusText, headers: response.headers, bytes, url: response.url };
  } catch (error) {
    // ky's errors carry the request it sent, credentials and all: ours name it, and nothing more.
    const shown = new Request(request.shownUrl, { method: request.method });
    if (limit.expired && !signal.aborted) throw new TimeoutError(shown);
    if (error instanceof NetworkError) throw new NetworkError(shown, { cause: error.cause as Error });
    // Bun rejects a dropped connection with TypeError('ECONNRESET: ...') and a `code`, which ky does not take for a network error.
    if (error instanceof TypeError && typeof (error as { code?: unknown }).code === 'string') throw new NetworkError(shown, { cause: error });
    throw error;
  } finally {
    limit.end();
  }
}
