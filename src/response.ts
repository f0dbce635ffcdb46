import { isSecretName } from './credentials.js';
import type { StoredResponse } from './stores/store.js';

/** A standard Response, plus what the operation did. */
export type DurableResponse = Response & {
  /** The key this operation used (generated unless one was given). */
  readonly idempotencyKey: string;
  /** The server marked a replay, or the journal answered. `false` means "not marked", never "fresh". */
  readonly replayed: boolean;
  /** Attempts this call made; 0 when the journal answered. */
  readonly attempts: number;
};

/** The call's promise, with ky 2's body shortcuts; each reads the answer, leaving the response's body unread. */
export type DurableResponsePromise = Promise<DurableResponse> & {
  json<T = unknown>(): Promise<T>;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
  blob(): Promise<Blob>;
  bytes(): Promise<Uint8Array>;
  formData(): Promise<FormData>;
};

/** A server answer read to the end, so it can be journaled, classified and handed out again. */
export interface Answer {
  status: number;
  statusText: string;
  headers: Headers;
  bytes: Uint8Array;
  url: string;
}

/** One decoder for every answer: a TextDecoder is costly to build and, used without `stream`, keeps no state. */
const utf8 = new TextDecoder();

/** An answer's bytes as text (UTF-8, a BOM dropped), as `Response.text()` reads them. */
export function answerText(answer: Pick<Answer, 'bytes'>): string {
  return utf8.decode(answer.bytes);
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * A Response made from an answer in hand. It keeps the URL the answer came from, which a
 * constructed Response cannot be given: a getter of the class, rather than a property defined
 * on each instance.
 */
class AnswerResponse extends Response {
  readonly #url: string;

  constructor(answer: Answer) {
    const body = NULL_BODY_STATUSES.has(answer.status) ? null : (answer.bytes as BodyInit);
    super(body, { status: answer.status, statusText: answer.statusText, headers: answer.headers });
    this.#url = answer.url;
  }

  override get url(): string {
    return this.#url;
  }
}

export function toResponse(answer: Answer): Response {
  return new AnswerResponse(answer);
}

/** What a call hands back: the answer as a Response, and what the operation did. */
class CallResponse extends AnswerResponse implements DurableResponse {
  readonly idempotencyKey: string;
  readonly replayed: boolean;
  readonly attempts: number;

  constructor(answer: Answer, idempotencyKey: string, replayed: boolean, attempts: number) {
    super(answer);
    this.idempotencyKey = idempotencyKey;
    this.replayed = replayed;
    this.attempts = attempts;
  }
}

export function toDurableResponse({ answer, idempotencyKey, replayed = false, attempts = 0 }: CallResult): DurableResponse {
  return new CallResponse(answer, idempotencyKey, replayed, attempts);
}

/** A journaled answer keeps no credential (Set-Cookie above all); `extra`: the client's `secretParams`. */
export function toStoredResponse(answer: Answer, extra?: ReadonlySet<string>): StoredResponse {
  const headers: Record<string, string> = {};
  answer.headers.forEach((value, name) => {
    if (!isSecretName(name, extra)) headers[name] = value;
  });
  return { status: answer.status, statusText: answer.statusText, headers, body: answer.bytes };
}

export function fromStoredResponse(stored: StoredResponse, url: string): Answer {
  return {
    status: stored.status,
    statusText: stored.statusText,
    headers: new Headers(stored.headers),
    bytes: stored.body,
    url,
  };
}

/** What a keyed call ends with, before any Response is made of it. */
export interface CallResult {
  answer: Answer;
  idempotencyKey: string;
  replayed?: boolean;
  attempts?: number;
}

/**
 * The promise a keyed call returns, with ky's shortcuts: `await api.post(...).json()`.
 *
 * The Response is made only once someone awaits the promise itself (or calls `then`): `json()`
 * and `text()` decode the answer's bytes, already in memory, so the common `.json()` call never
 * builds one — nor its body stream. Like a shortcut reading a clone, they leave the response's
 * body unread. A failure rejects the promise at once, as any call's does, so a call nobody
 * handles is reported. An empty body reads as '' for json(), as in ky.
 */
class CallPromise extends Promise<DurableResponse> implements DurableResponsePromise {
  // then() and friends give plain promises, not more of these.
  static override get [Symbol.species]() {
    return Promise;
  }

  #result!: Promise<CallResult>;
  /** Until the first `then`, which makes the Response and resolves with it. */
  #resolve: ((response: DurableResponse) => void) | undefined;
  #response: DurableResponse | undefined;

  static of(result: Promise<CallResult>): CallPromise {
    let resolve!: (response: DurableResponse) => void;
    let reject!: (error: unknown) => void;
    const promise = new CallPromise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.#result = result;
    promise.#resolve = resolve;
    result.catch(reject);
    return promise;
  }

  override then<A = DurableResponse, B = never>(
    onfulfilled?: ((response: DurableResponse) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    const resolve = this.#resolve;
    if (resolve !== undefined) {
      this.#resolve = undefined;
      this.#result.then((result) => resolve((this.#response = toDurableResponse(result))), () => {});
    }
    return super.then(onfulfilled, onrejected);
  }

  /**
   * The answer a shortcut reads: the bytes in hand, leaving the response's body unread — refused,
   * as the Response itself would refuse, once the caller has read that body. The shortcut's caller
   * handles a failure: the promise's own rejection is not left unhandled.
   */
  async #read(): Promise<Answer> {
    Promise.prototype.then.call(this, undefined, () => {});
    const { answer } = await this.#result;
    if (this.#response?.bodyUsed) await this.#response.arrayBuffer();
    return answer;
  }

  async text(): Promise<string> {
    return answerText(await this.#read());
  }

  async json<T = unknown>(): Promise<T> {
    const body = await this.text();
    return (body === '' ? '' : JSON.parse(body)) as T;
  }

  /** A copy of the answer's bytes: what the caller does with it changes nothing another reader sees. */
  async bytes(): Promise<Uint8Array> {
    return new Uint8Array((await this.#read()).bytes);
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return (await this.bytes()).buffer as ArrayBuffer;
  }

  async blob(): Promise<Blob> {
    const answer = await this.#read();
    return new Blob([new Uint8Array(answer.bytes)], { type: answer.headers.get('content-type') ?? '' });
  }

  /** The answer's body read as `multipart/form-data` or `application/x-www-form-urlencoded`, by its content type. */
  async formData(): Promise<FormData> {
    const answer = await this.#read();
    return new Response(new Uint8Array(answer.bytes), { headers: { 'content-type': answer.headers.get('content-type') ?? '' } }).formData();
  }
}

export function callPromise(result: Promise<CallResult>): DurableResponsePromise {
  return CallPromise.of(result);
}
