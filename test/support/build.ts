import { spawnSync } from 'node:child_process';

/**
 * Vitest globalSetup of the node project: builds dist/ once, before any test runs, for the tests
 * that run the package as shipped (the bin, the tarball, the fixtures and examples that import
 * 'durable-fetch'). The unit project needs no build and skips this.
 *
 * The steps of `npm run build`, taken apart: the JavaScript must build, or those tests cannot run;
 * a type error only stops the declarations being right, and `npm test` fails on it already in
 * `npm run typecheck`, so here it is shown and the tests still run.
 */
export default function build(): void {
  const js = spawnSync('npm', ['exec', '--', 'tsup', '--silent'], { stdio: 'inherit' });
  if (js.status !== 0) throw new Error(`tsup failed (exit ${js.status ?? js.signal}): the tests of dist/ cannot run`);
  const types = spawnSync('npm', ['exec', '--', 'tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  if (types.status !== 0) console.warn('dist/ declarations have type errors (above); the tests run on the JavaScript');
}
