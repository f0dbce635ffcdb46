import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'index.node': 'src/index.node.ts',
    'index.browser': 'src/index.browser.ts',
    node: 'src/node.ts',
    browser: 'src/browser.ts',
    cli: 'src/cli.ts',
  },
  format: ['esm'],
  target: 'es2022',
  dts: true,
  clean: true,
  splitting: true,
  sourcemap: false,
  treeshake: true,
});
