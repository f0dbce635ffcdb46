import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const BUDGET = 12 * 1024;

/** The browser entry as an app's bundler would ship it: minified, dependencies included. */
async function bundle(contents: string) {
  const result = await build({
    stdin: { contents, resolveDir: new URL('..', import.meta.url).pathname, loader: 'ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]?.contents ?? new Uint8Array();
  return { bytes: code.length, gzipped: gzipSync(code, { level: 9 }).length, inputs: Object.keys(result.metafile.inputs) };
}

describe('the browser bundle', () => {
  it(`client + indexedDbStore, minified and gzipped, fits in ${BUDGET / 1024} KiB with no node: import`, async () => {
    // What an app that imports the client and the IndexedDB store ships (the error classes come
    // along: the client throws them).
    const { gzipped, inputs } = await bundle(
      "export { createClient } from './src/index.browser.ts';\nexport { indexedDbStore } from './src/browser.ts';",
    );
    expect(inputs.some((input) => input.startsWith('node:') || input.includes('stores/file'))).toBe(false);
    expect(inputs).toEqual(expect.arrayContaining([expect.stringContaining('idb-keyval'), expect.stringContaining('ky')]));
    expect(gzipped).toBeLessThanOrEqual(BUDGET);
  });
});
