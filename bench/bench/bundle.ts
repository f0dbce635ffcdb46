/** The browser bundle a user ships, measured the way it travels: minified, then gzipped. */
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export const BUNDLE_BUDGET = 12 * 1024;

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

const ENTRIES = [
  { name: 'createClient + indexedDbStore', entry: "export { createClient } from './src/index.browser.ts'; export { indexedDbStore } from './src/browser.ts';" },
  { name: 'full browser surface', entry: "export * from './src/index.browser.ts'; export * from './src/browser.ts';" },
];

export async function measureBundles(root: string): Promise<BundleSize[]> {
  const sizes: BundleSize[] = [];
  for (const { name, entry } of ENTRIES) {
    const result = await build({
      stdin: { contents: entry, resolveDir: root, loader: 'ts', sourcefile: 'bench-entry.ts' },
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
    sizes.push({
      name,
      entry,
      minified: code.length,
      gzipped: gzipSync(code, { level: 9 }).length,
      parts: [...parts].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]),
    });
  }
  return sizes;
}
