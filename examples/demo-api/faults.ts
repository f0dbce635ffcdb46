/**
 * The faults the demo API injects into first attempts: each one is a way a real write goes wrong
 * between "sent" and "answered".
 */

export type FaultKind =
  /** 503 before anything is applied; 5xx answers are not cached, so a retry starts afresh. */
  | 'unavailable'
  /** Applied and its answer stored, then the connection is dropped: the lost answer. */
  | 'lost-answer'
  /** 429 with `Retry-After: 1`; nothing applied. */
  | 'rate-limited'
  /** Applied at once, answered only later (`slowMs`): a twin arriving meanwhile gets 409. */
  | 'slow';

export const FAULT_KINDS: readonly FaultKind[] = ['unavailable', 'lost-answer', 'rate-limited', 'slow'];

/** The default hold of a slow answer: it outlasts a short client timeout, and a test can kill a process within it. */
export const SLOW_ANSWER_MS = 1_500;

export function isFaultKind(value: string): value is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(value);
}

/**
 * A linear congruential generator: with a seed, the same requests in the same order meet the same
 * faults, so a demo can be replayed. Nothing here needs to be unpredictable.
 */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 0x1_0000_0000;
  };
}

/** Decides, for each first attempt, whether it fails and how. */
export function faultPicker(rate: number, kinds: readonly FaultKind[], seed?: number): () => FaultKind | undefined {
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`faultRate must be between 0 and 1, got ${rate}.`);
  if (kinds.length === 0) throw new RangeError('faults must name at least one fault kind.');
  const random = seed === undefined ? Math.random : seeded(seed);
  return () => {
    if (random() >= rate) return undefined;
    return kinds[Math.floor(random() * kinds.length)];
  };
}
