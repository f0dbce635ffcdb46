/**
 * A test harness small enough to run unchanged on Node, Deno and Bun: `check(name, fn)` runs one
 * promise, `skip(name, reason)` says why one did not run, `finish()` prints the tally as the last
 * line and sets the exit code. No runner, no dependency: each runtime's own test runner differs.
 */
import process from 'node:process';

let passed = 0;
let failed = 0;
let skipped = 0;

/** Name and version of the runtime executing this file, e.g. "Deno 2.9.6". */
export function runtimeName() {
  if (globalThis.Deno) return `Deno ${globalThis.Deno.version.deno}`;
  if (globalThis.Bun) return `Bun ${globalThis.Bun.version}`;
  return `Node ${process.versions.node}`;
}

export async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`  ok    ${name}`);
  } catch (error) {
    failed++;
    console.log(`  FAIL  ${name}\n        ${String(error?.stack ?? error).split('\n').join('\n        ')}`);
  }
}

export function skip(name, reason) {
  skipped++;
  console.log(`  skip  ${name}: skipped — ${reason}`);
}

export function assert(condition, message) {
  if (!condition) throw new Error(message);
}

export function assertEqual(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

/** Resolves the error `promise` rejects with; fails if it resolves. */
export async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but it resolved');
}

export function finish() {
  console.log(`${passed} passed, ${failed} failed${skipped ? ` (${skipped} skipped)` : ''}`);
  process.exitCode = failed > 0 ? 1 : 0;
}
