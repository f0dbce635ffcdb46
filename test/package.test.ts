import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The package as published: `npm test` builds dist/ before it tests.
const root = new URL('..', import.meta.url);
const packageJson = JSON.parse(await readFile(new URL('package.json', root), 'utf8')) as {
  exports: Record<string, string | Record<string, string>>;
  bin: Record<string, string>;
  sideEffects: string[];
};

async function packedFiles(): Promise<string[]> {
  const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root });
  return (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]?.files.map((file) => file.path) ?? [];
}

/** Every module a dist entry reaches, and every bare import along the way. */
async function importGraph(entry: string): Promise<Set<string>> {
  const seen = new Set<string>();
  const bare = new Set<string>();
  const visit = async (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = await readFile(new URL(`dist/${file}`, root), 'utf8');
    for (const [, specifier] of code.matchAll(/(?:from|import)\s*["']([^"']+)["']/g)) {
      if (specifier?.startsWith('./')) await visit(specifier.slice(2));
      else if (specifier) bare.add(specifier);
    }
  };
  await visit(entry);
  return bare;
}

describe('the published package', () => {
  it('holds only what users need: dist, README, LICENSE, package.json', async () => {
    const files = await packedFiles();
    expect(files.filter((file) => !/^(dist\/.+\.(js|d\.ts)|README\.md|LICENSE|package\.json)$/.test(file))).toEqual([]);
    const targets = [
      ...Object.values(packageJson.exports).flatMap((target) => (typeof target === 'string' ? [target] : Object.values(target))),
      ...Object.values(packageJson.bin),
    ].map((target) => target.replace(/^\.\//, ''));
    expect(files).toEqual(expect.arrayContaining(targets));
  });

  it('its browser, service-worker and default entries reach no node: module, only ky, p-retry, uuid and idb-keyval', async () => {
    for (const entry of ['index.browser.js', 'browser.js', 'sw.js', 'index.js']) {
      for (const specifier of await importGraph(entry)) expect(['ky', 'p-retry', 'uuid', 'idb-keyval']).toContain(specifier);
    }
  });

  it('its runtime guard is dist/runtime-guard.js, named in sideEffects, imported by the Node entries and loaded first by the bin', async () => {
    expect(packageJson.sideEffects).toContain('./dist/runtime-guard.js');
    for (const entry of ['index.node.js', 'node.js']) {
      expect(await readFile(new URL(`dist/${entry}`, root), 'utf8')).toMatch(/^import '\.\/runtime-guard\.js';$/m);
    }
    const cli = await readFile(new URL('dist/cli.js', root), 'utf8');
    expect(cli.indexOf("import('./runtime-guard.js')")).toBeGreaterThan(0);
    expect(cli.indexOf("import('./runtime-guard.js')")).toBeLessThan(cli.indexOf("import('./main-"));
  });

  it('its bin starts with a shebang', async () => {
    const cli = await readFile(new URL('dist/cli.js', root), 'utf8');
    expect(cli.startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});
