import type { Plugin } from 'esbuild';
import { defineConfig } from 'tsup';

/**
 * The runtime guard stays a file of its own, dist/runtime-guard.js, imported by that name: the Node
 * entries import it first for its effect and the bin loads it before anything else, and
 * package.json's `sideEffects` names it, so an application's bundler keeps it. Bundled into the
 * entries, it would land in a shared chunk of a hashed name that `sideEffects` cannot name, and
 * a bundler would drop the bare import of a module it is told has no effects.
 */
const runtimeGuardAsItsOwnFile: Plugin = {
  name: 'runtime-guard-as-its-own-file',
  setup(build) {
    build.onResolve({ filter: /^\.\/runtime-guard\.js$/ }, () => ({ path: './runtime-guard.js', external: true }));
  },
};

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'index.node': 'src/index.node.ts',
    'index.browser': 'src/index.browser.ts',
    node: 'src/node.ts',
    browser: 'src/browser.ts',
    sw: 'src/sw.ts',
    testing: 'src/testing.ts',
    otel: 'src/otel.ts',
    postgres: 'src/postgres.ts',
    redis: 'src/redis.ts',
    cli: 'src/cli.ts',
    'runtime-guard': 'src/runtime-guard.ts',
    // Started by path, not imported: the sqlite store's worker (src/stores/sqlite/connection.ts).
    'sqlite-worker': 'src/stores/sqlite/worker.ts',
  },
  format: ['esm'],
  target: 'es2022',
  // Declarations come from tsc (tsconfig.build.json): tsup's own need the TypeScript 5 API.
  dts: false,
  // The conformance suite runs inside the store author's vitest.
  external: ['vitest'],
  clean: true,
  // Keep `node:` on builtins: `node:sqlite` exists only with the prefix (tsup strips it by default).
  removeNodeProtocol: false,
  splitting: true,
  sourcemap: false,
  treeshake: true,
  esbuildPlugins: [runtimeGuardAsItsOwnFile],
});
