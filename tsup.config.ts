import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'index.node': 'src/index.node.ts',
    'index.browser': 'src/index.browser.ts',
    node: 'src/node.ts',
    browser: 'src/browser.ts',
    cli: 'src/cli.ts',
    // Started by path, not imported: the sqlite store's worker (src/stores/sqlite/connection.ts).
    'sqlite-worker': 'src/stores/sqlite/worker.ts',
  },
  format: ['esm'],
  target: 'es2022',
  // Types for the library entries; the bin needs none.
  dts: { entry: ['src/index.ts', 'src/index.node.ts', 'src/index.browser.ts', 'src/node.ts', 'src/browser.ts'] },
  clean: true,
  splitting: true,
  sourcemap: false,
  treeshake: true,
});
