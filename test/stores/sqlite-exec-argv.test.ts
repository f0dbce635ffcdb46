/**
 * sqliteStore from `node --input-type=module -e '…'` and its kin: the real command, run with the
 * package as built (dist/, resolved by its own name from the repository root) and from source.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/sqlite.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const SOURCE = pathToFileURL(join(ROOT, 'src/node.ts')).href;

/** What each script does: one intent written, read back, the store closed; prints the keys. */
const body = (from: string) => `
  const { sqliteStore } = await import(${JSON.stringify(from)});
  const { makeIntent } = await import(${JSON.stringify(from === SOURCE ? pathToFileURL(join(ROOT, 'src/testing.ts')).href : 'durable-fetch/testing')});
  const store = sqliteStore(process.env.JOURNAL);
  await store.create(makeIntent({ idempotencyKey: 'from-eval' }));
  console.log(JSON.stringify((await store.list()).map((intent) => intent.idempotencyKey)));
  await store.close();`;

function run(args: string[], journal: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT, env: { ...process.env, JOURNAL: journal } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

describe('sqliteStore under node -e and its kin', () => {
  it.each([
    ['--input-type=module -e, the built package', ['--input-type=module', '-e', body('durable-fetch/node')]],
    ['--max-old-space-size and --title beside it (flags a worker may not be given)', ['--max-old-space-size=512', '--title=eval-journal', '--input-type=module', '-e', body('durable-fetch/node')]],
    ['-e, CommonJS', ['-e', `(async () => { ${body('durable-fetch/node')} })()`]],
    ['--import tsx --input-type=module -e, from source', ['--import', TSX, '--input-type=module', '-e', body(SOURCE)]],
  ])('%s: writes and reads the journal', async (_name, args) => {
    const journal = join(await tempDir(), 'intents.db');
    const { code, stdout, stderr } = await run(args, journal);
    expect({ code, stderr: stderr.replace(/^.*(ExperimentalWarning|--trace-warnings).*\n/gm, '') }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toBe('["from-eval"]\n');
  });
});
