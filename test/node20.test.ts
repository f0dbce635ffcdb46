import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { transform } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findNode20 } from './support/node20.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NEEDS_22_13 = /durable-fetch needs Node\.js 22\.13 or later \(for node:sqlite\); this is Node\.js 20\.\d+\.\d+/;

async function runNode(node: string, args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await promisify(execFile)(node, args, { cwd: ROOT });
    return { code: 0, stderr: '' };
  } catch (error) {
    const { code, stderr } = error as { code: number; stderr: string };
    return { code, stderr };
  }
}

describe('Node 20, below engines.node (>=22.13)', () => {
  let node20: string;
  let dir: string;
  let guard: string;
  beforeAll(async () => {
    node20 = findNode20();
    dir = await mkdtemp(join(tmpdir(), 'durable-fetch-node20-'));
    guard = join(dir, 'runtime-guard.mjs');
    const source = await readFile(join(ROOT, 'src/runtime-guard.ts'), 'utf8');
    await writeFile(guard, (await transform(source, { loader: 'ts', format: 'esm', target: 'es2022' })).code);
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('is refused by the runtime guard, with the version it needs', async () => {
    const result = await runNode(node20, [guard]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(NEEDS_22_13);
  });

  it('passes the guard on the toolchain Node (24)', async () => {
    expect(await runNode(process.execPath, [guard])).toEqual({ code: 0, stderr: '' });
  });

  // Fails until src/index.node.ts and src/node.ts import './runtime-guard.js' first and reach
  // node:sqlite only lazily: a static `import 'node:sqlite'` fails the whole module graph at link
  // time, before the guard runs, with "No such built-in module: node:sqlite". Then: `it`.
  it("fails at import('durable-fetch') of the built package with the version it needs", async () => {
    const script = "import('durable-fetch').then(() => process.exit(0), (error) => { console.error(error.message); process.exit(1); })";
    const result = await runNode(node20, ['--input-type=module', '-e', script]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(NEEDS_22_13);
  });
});
