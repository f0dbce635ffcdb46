import { defineConfig } from 'tsup';

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
});
