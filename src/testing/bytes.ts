/** `repeat` runs of the byte values 0 to 255: a body no text encoding or escaping survives by luck. */
export function everyByteValue(repeat = 1): Uint8Array {
  return Uint8Array.from({ length: 256 * repeat }, (_, i) => i % 256);
}

/** A deterministic pseudo-random source (mulberry32): the same seed gives the same run every time. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `length` bytes from `seed`: big bodies that are not all zeros, yet the same on every run. */
export function seededBytes(length: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const words = new Uint32Array(Math.ceil(length / 4));
  for (let i = 0; i < words.length; i++) words[i] = random() * 4294967296;
  return new Uint8Array(words.buffer, 0, length);
}

/** A copy of `items` in an order fixed by `seed`. */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  const random = seededRandom(seed);
  const shuffled = [...items];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  return shuffled;
}

/**
 * Whether `a` and `b` hold the same bytes. A plain loop: toEqual over 32 M elements would take
 * minutes, and Buffer is Node's alone (the suite also runs in browsers).
 */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
