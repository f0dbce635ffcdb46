/** The browser bundle a user ships, measured the way it travels: minified, then gzipped. */
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/**
 * What the browser entry may weigh, minified and gzipped, dependencies included. It was 12 KiB
 * with ky 1; ky 2 alone is about 8.9 KB and the four dependencies 10.7 KB, so 12 KiB cannot hold
 * any more. This is now a guard against growth a little above what ships today (about 28.2 KB).
 */
export const BUNDLE_BUDGET = 29.5 * 1024;

export interface BundleSize {
  name: string;
  entry: string;
  minified: number;
  gzipped: number;
  /** Minified bytes each package (or src/) contributes, largest first: where to cut when over budget. */
  parts: Array<[string, number]>;
}

/** node_modules/<pkg>/... or src/... → the package, or src. */
function owner(path: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  return match ? match[1]! : path.startsWith('src/') ? 'src' : path;
}

/** What an app that imports the client and the IndexedDB store ships: the budgeted entry. */
export const CLIENT_AND_INDEXEDDB = "export { createClient } from './src/index.browser.ts'; export { indexedDbStore } from './src/browser.ts';";

const ENTRIES = [
  { name: 'createClient + indexedDbStore', entry: CLIENT_AND_INDEXEDDB },
  { name: 'full browser surface', entry: "export * from './src/index.browser.ts'; export * from './src/browser.ts';" },
];

export interface BrowserBundle {
  minified: number;
  gzipped: number;
  /** Every module bundled, as esbuild names it. */
  inputs: string[];
  /** Minified bytes each package (or src/) contributes, largest first: where to cut when over budget. */
  parts: Array<[string, number]>;
}

/** `entry` bundled as an app's bundler would ship it: for browsers, minified, dependencies included. */
export async function bundleForBrowser(entry: string, root: string): Promise<BrowserBundle> {
  const result = await build({
    stdin: { contents: entry, resolveDir: root, loader: 'ts', sourcefile: 'entry.ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    metafile: true,
  });
  const code = result.outputFiles[0]!.contents;
  const parts = new Map<string, number>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) parts.set(owner(path), (parts.get(owner(path)) ?? 0) + bytesInOutput);
  }
  return {
    minified: code.length,
    gzipped: gzipSync(code, { level: 9 }).length,
    inputs: Object.keys(result.metafile.inputs),
    parts: [...parts].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]),
  };
}

export async function measureBundles(root: string): Promise<BundleSize[]> {
  const sizes: BundleSize[] = [];
  for (const { name, entry } of ENTRIES) {
    const { minified, gzipped, parts } = await bundleForBrowser(entry, root);
    sizes.push({ name, entry, minified, gzipped, parts });
  }
  return sizes;
}
