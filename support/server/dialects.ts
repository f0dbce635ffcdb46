/**
 * How each API answers. The seeds' rules come from their documents in /work/shared/seeds; where a
 * document is silent (an error shape for a case it never mentions) the answer keeps that API's
 * documented error shape, so only the code or wording is invented, never the structure.
 */
import { expressErrorPage, jsonAnswer, problemAnswer, statusText, type Answer } from './answer.js';

export type Dialect =
  | 'seed000'
  | 'seed001'
  | 'seed002'
  | 'seed003'
  | 'seed004'
  | 'stripe'
  | 'ietf'
  | 'express-idempotency'
  | 'nestjs';

export const DIALECTS: readonly Dialect[] = [
  'seed000',
  'seed001',
  'seed002',
  'seed003',
  'seed004',
  'stripe',
  'ietf',
  'express-idempotency',
  'nestjs',
];

export function isDialect(value: unknown): value is Dialect {
  return typeof value === 'string' && (DIALECTS as readonly string[]).includes(value);
}

export interface DialectRules {
  /** Header marking a replayed answer, if the API sends one. */
  replayHeader: readonly [name: string, value: string] | undefined;
  /** How long keys are remembered when the test does not say. */
  defaultTtlMs: number;
  /** The key the server works with, from the header as received; undefined: treated as no key. */
  normaliseKey(raw: string): string | undefined;
  /** The answer refusing a key the API does not accept, or undefined when it accepts it. */
  keyProblem(key: string): Answer | undefined;
  /** Seed 001 scopes keys by route: a key reused on another route is another key there. */
  routeScoped: boolean;
  mismatch(key: string): Answer;
  /** The answer to a concurrent twin of a request still being processed. */
  inFlight(key: string): Answer;
  /**
   * Seed 002: a concurrent twin waits for the first and gets its answer. Its document has no
   * in-flight answer, so `inFlight` is only what the 'in-flight' fault shows when there is no first.
   */
  twinsWait: boolean;
  /** The API's ordinary error shape, for answers that have nothing to do with idempotency. */
  error(status: number, code: string, message: string): Answer;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

function bareKey(raw: string): string {
  return raw;
}

/** Servers without a documented limit still refuse absurd keys; 255 is what seed 004 and Stripe allow. */
function lengthLimit(limit: number, refuse: (key: string) => Answer) {
  return (key: string): Answer | undefined => (key.length === 0 || key.length > limit ? refuse(key) : undefined);
}

/** The in-flight answer of the seeds that document none: the code Whop and others use. */
function genericInFlight(): Answer {
  return jsonAnswer(409, {
    error: {
      code: 'idempotency_request_in_progress',
      message: 'A request with this idempotency key is still being processed',
    },
  });
}

const seed000: DialectRules = {
  replayHeader: undefined,
  defaultTtlMs: DAY_MS,
  normaliseKey: bareKey,
  keyProblem: lengthLimit(255, () =>
    jsonAnswer(400, {
      error: { code: 'IDEMPOTENCY_KEY_INVALID', message: 'The idempotency key must be 1-255 characters' },
    }),
  ),
  routeScoped: false,
  twinsWait: false,
  mismatch: () =>
    jsonAnswer(422, {
      error: {
        code: 'IDEMPOTENCY_MISMATCH',
        message: 'This idempotency key was already used with a different request',
      },
    }),
  inFlight: genericInFlight,
  error: (status, code, message) => jsonAnswer(status, { error: { code: code.toUpperCase(), message } }),
};

const seed001: DialectRules = {
  replayHeader: undefined,
  defaultTtlMs: DAY_MS,
  normaliseKey: bareKey,
  keyProblem: lengthLimit(255, () =>
    jsonAnswer(400, {
      error: { code: 'error_idempotency_key_invalid', message: 'The idempotency key must be 1-255 characters' },
    }),
  ),
  routeScoped: true,
  twinsWait: false,
  mismatch: () =>
    jsonAnswer(409, {
      error: {
        code: 'error_idempotency_key_conflict',
        message: 'The idempotency key was already used with a different request body',
      },
    }),
  inFlight: genericInFlight,
  error: (status, code, message) => jsonAnswer(status, { error: { code: `error_${code}`, message } }),
};

/** Seed 002 puts a category in `error` and the precise reason in `code`. */
function seed002Category(status: number): string {
  if (status === 409) return 'conflict';
  if (status === 422) return 'validation_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 404) return 'not_found';
  if (status >= 500) return 'server_error';
  return 'invalid_request';
}

const seed002: DialectRules = {
  replayHeader: ['X-Idempotent-Replayed', 'true'],
  defaultTtlMs: 90_000,
  normaliseKey: bareKey,
  keyProblem: lengthLimit(255, () =>
    jsonAnswer(400, {
      error: 'idempotency_error',
      code: 'idempotency_key_invalid',
      message: 'The idempotency key must be 1-255 characters',
    }),
  ),
  routeScoped: false,
  twinsWait: true,
  mismatch: () =>
    jsonAnswer(409, {
      error: 'idempotency_error',
      code: 'idempotency_key_reused',
      message: 'This idempotency key was already used with a different request body',
    }),
  inFlight: genericInFlight,
  error: (status, code, message) => jsonAnswer(status, { error: seed002Category(status), code, message }),
};

const seed003: DialectRules = {
  replayHeader: ['Idempotent-Replay', 'true'],
  defaultTtlMs: DAY_MS,
  normaliseKey: bareKey,
  keyProblem: lengthLimit(128, () =>
    jsonAnswer(400, {
      error: { code: 'idempotency_key_invalid', message: 'Idempotency-Key must be at most 128 characters' },
    }),
  ),
  routeScoped: false,
  twinsWait: false,
  mismatch: () =>
    jsonAnswer(409, {
      error: {
        code: 'idempotency_key_reused',
        message: 'This idempotency key was already used with a different request body; use a new key',
      },
    }),
  inFlight: genericInFlight,
  error: (status, code, message) => jsonAnswer(status, { error: { code, message } }),
};

const seed004: DialectRules = {
  replayHeader: ['idempotency-replayed', 'true'],
  defaultTtlMs: DAY_MS,
  normaliseKey: bareKey,
  keyProblem: (key) =>
    key.length <= 255 && PRINTABLE_ASCII.test(key)
      ? undefined
      : jsonAnswer(400, {
          code: 'invalid_idempotency_key',
          message: 'Idempotency-Key must be 1-255 printable ASCII characters',
        }),
  routeScoped: false,
  twinsWait: false,
  // Seed 004's document names no mismatch answer; this is the code Whop uses, in seed 004's flat shape.
  mismatch: () =>
    jsonAnswer(422, {
      code: 'idempotency_key_mismatch',
      message: 'This idempotency key was already used with a different request',
    }),
  inFlight: genericInFlight,
  error: (status, code, message) => jsonAnswer(status, { code, message }),
};

function stripeType(status: number): string {
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

const stripe: DialectRules = {
  replayHeader: ['Idempotent-Replayed', 'true'],
  defaultTtlMs: DAY_MS,
  normaliseKey: bareKey,
  keyProblem: lengthLimit(255, () =>
    jsonAnswer(400, {
      error: {
        type: 'invalid_request_error',
        message: 'Keys for idempotent requests can be no longer than 255 characters.',
      },
    }),
  ),
  routeScoped: false,
  twinsWait: false,
  mismatch: (key) =>
    jsonAnswer(400, {
      error: {
        type: 'idempotency_error',
        message:
          'Keys for idempotent requests can only be used with the same parameters they were first used with. ' +
          `Try using a key other than '${key}' if you meant to execute a different request.`,
      },
    }),
  inFlight: (key) =>
    jsonAnswer(409, {
      error: {
        type: 'idempotency_error',
        code: 'idempotency_key_in_use',
        message:
          'There is currently another in-progress request using this Idempotency-Key (that probably means ' +
          `you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
      },
    }),
  error: (status, code, message) => jsonAnswer(status, { error: { type: stripeType(status), code, message } }),
};

/** The draft writes the key as a structured-field string; bare tokens are accepted too, as servers do. */
function unquoteSfString(raw: string): string {
  const quoted = /^"((?:[^"\\]|\\["\\])*)"$/.exec(raw);
  return quoted ? quoted[1]!.replace(/\\(["\\])/g, '$1') : raw;
}

const IETF_TYPE = 'https://developer.example.com/idempotency';

const ietf: DialectRules = {
  replayHeader: undefined,
  defaultTtlMs: DAY_MS,
  normaliseKey: unquoteSfString,
  keyProblem: lengthLimit(255, () =>
    problemAnswer(400, {
      type: IETF_TYPE,
      title: 'Idempotency-Key is invalid',
      detail: 'The Idempotency-Key must be 1-255 characters.',
    }),
  ),
  routeScoped: false,
  twinsWait: false,
  mismatch: () =>
    problemAnswer(422, {
      type: IETF_TYPE,
      title: 'Idempotency-Key is already used',
      detail:
        'This operation is idempotent and it requires correct usage of Idempotency Key. ' +
        'Idempotency Key MUST not be reused across different payloads of this operation.',
    }),
  inFlight: () =>
    problemAnswer(409, {
      type: IETF_TYPE,
      title: 'A request is outstanding for this Idempotency-Key',
      detail: 'A request with the same Idempotency-Key for the same operation is being processed or is outstanding.',
    }),
  error: (status, code, message) =>
    problemAnswer(status, {
      type: `https://developer.example.com/${code.replace(/_/g, '-')}`,
      title: statusText(status),
      status,
      detail: message,
    }),
};

/** Middlewares validate nothing about the key and treat an empty header as none. */
function keyOrNone(raw: string): string | undefined {
  return raw === '' ? undefined : raw;
}

const expressIdempotency: DialectRules = {
  replayHeader: undefined,
  defaultTtlMs: DAY_MS,
  normaliseKey: keyOrNone,
  keyProblem: () => undefined,
  routeScoped: false,
  twinsWait: false,
  mismatch: () => expressErrorPage(417, 'Error: Misuse of the idempotency key. Please check your request.'),
  inFlight: () => expressErrorPage(409, 'Error: A previous request with this key is still in progress.'),
  // The application behind the middleware answers its own errors as JSON.
  error: (status, _code, message) => jsonAnswer(status, { message }),
};

const nestjs: DialectRules = {
  replayHeader: undefined,
  defaultTtlMs: DAY_MS,
  normaliseKey: keyOrNone,
  keyProblem: () => undefined,
  routeScoped: false,
  twinsWait: false,
  mismatch: () => jsonAnswer(422, { statusCode: 422, message: 'Idempotency-Key is already used' }),
  inFlight: () =>
    jsonAnswer(
      409,
      { statusCode: 409, message: 'A request is outstanding for this Idempotency-Key' },
      { 'Retry-After': '1' },
    ),
  error: (status, _code, message) => jsonAnswer(status, { statusCode: status, message, error: statusText(status) }),
};

export const DIALECT_RULES: Record<Dialect, DialectRules> = {
  seed000,
  seed001,
  seed002,
  seed003,
  seed004,
  stripe,
  ietf,
  'express-idempotency': expressIdempotency,
  nestjs,
};

/** Every replay marker the SDK knows, so a browser on another origin may read them. */
export const REPLAY_HEADER_NAMES: readonly string[] = [
  'Idempotent-Replayed',
  'X-Idempotent-Replayed',
  'Idempotent-Replay',
  'Idempotency-Replayed',
  'X-Idempotency-Replayed',
  'Idempotency-Replay',
  'Idempotency-Status',
  'X-Idempotency-Status',
];
