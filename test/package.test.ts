import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
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

/**
 * Every bare module a dist entry may reach: its static imports, its dynamic `import('./…')` of
 * chunks unless `skip` names them, and the optional peers it loads by name (`loadPeer('pg', …)`,
 * src/peer.ts), followed through every chunk.
 */
async function importGraph(entry: string, skip: (chunk: string) => boolean = () => false): Promise<Set<string>> {
  const seen = new Set<string>();
  const bare = new Set<string>();
  const visit = async (file: string) => {
    if (seen.has(file) || skip(file)) return;
    seen.add(file);
    const code = await readFile(new URL(`dist/${file}`, root), 'utf8');
    const specifiers = [
      // A module name holds no space or comma: `"--import",\n  "--require"` in a list of flags is none.
      ...code.matchAll(/(?:from|import)\s*["']([^"'\s,]+)["']/g),
      ...code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
      ...code.matchAll(/\bloadPeer\d*\(\s*["']([^"']+)["']/g),
    ].map(([, specifier]) => specifier);
    for (const specifier of specifiers) {
      if (specifier?.startsWith('./')) await visit(specifier.slice(2));
      else if (specifier) bare.add(specifier);
    }
  };
  await visit(entry);
  return bare;
}

const isBuiltin = (specifier: string) => specifier.startsWith('node:');

describe('the published package', () => {
  it('holds only what users need: dist, README, CHANGELOG, LICENSE, package.json', async () => {
    const files = await packedFiles();
    expect(files.filter((file) => !/^(dist\/.+\.(js|d\.ts)|README\.md|CHANGELOG\.md|LICENSE|package\.json)$/.test(file))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['README.md', 'CHANGELOG.md', 'LICENSE', 'package.json']));
    const targets = [
      ...Object.values(packageJson.exports).flatMap((target) => (typeof target === 'string' ? [target] : Object.values(target))),
      ...Object.values(packageJson.bin),
    ].map((target) => target.replace(/^\.\//, ''));
    expect(files).toEqual(expect.arrayContaining(targets));
  });

  it("README's links work where it is read off GitHub (the npm page): files of the repository by absolute URL, to files that exist", async () => {
    const readme = await readFile(new URL('README.md', root), 'utf8');
    const targets = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map(([, target]) => target ?? '');
    expect(targets.filter((target) => !/^(https?:\/\/|#)/.test(target))).toEqual([]);
    const repository = 'https://github.com/durable-fetch/durable-fetch/blob/main/';
    const files = targets.filter((target) => target.startsWith(repository)).map((target) => target.slice(repository.length).replace(/#.*$/, ''));
    expect(files).toEqual(expect.arrayContaining(['docs/reference.md', 'CHANGELOG.md']));
    for (const file of files) await expect(stat(new URL(file, root)), file).resolves.toBeDefined();
  });

  it('its browser, service-worker and default entries reach no node: module, only ky, p-retry, uuid and idb-keyval', async () => {
    for (const entry of ['index.browser.js', 'browser.js', 'sw.js', 'index.js']) {
      for (const specifier of await importGraph(entry)) expect(['ky', 'p-retry', 'uuid', 'idb-keyval']).toContain(specifier);
    }
  });

  it('its Node entries reach node: modules and their dependencies, never a peer: durable-fetch/node only uuid besides', async () => {
    const allowed = { 'index.node.js': ['ky', 'p-retry', 'uuid'], 'node.js': ['uuid'] };
    for (const [entry, dependencies] of Object.entries(allowed)) {
      for (const specifier of await importGraph(entry)) if (!isBuiltin(specifier)) expect(dependencies).toContain(specifier);
    }
  });

  it("its bin reaches only node: modules and uuid (the key rule list checks intents by), and pg and redis only through the readers of list --postgres and --redis", async () => {
    const readers = (chunk: string) => /^(postgres|redis)-reader-/.test(chunk);
    const withoutReaders = [...(await importGraph('cli.js', readers))];
    expect(withoutReaders.filter((specifier) => !isBuiltin(specifier))).toEqual(['uuid']);
    const everything = [...(await importGraph('cli.js'))].filter((specifier) => !isBuiltin(specifier));
    expect(everything.sort()).toEqual(['pg', 'redis', 'uuid']);
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
