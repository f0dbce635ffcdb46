import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type FileStore, fileStore } from '../src/node.js';
import { idOf, SCOPE } from './fixtures/file-store-intents.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WRITER = fileURLToPath(new URL('./fixtures/file-store-writer.ts', import.meta.url));

const dirs: string[] = [];
const stores: FileStore[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(stores.splice(0).map((store) => store.close()));
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'durable-fetch-crash-'));
  dirs.push(dir);
  return dir;
}

function open(dir: string): FileStore {
  const store = fileStore(dir);
  stores.push(store);
  return store;
}

interface Writer {
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Runs the writer fixture; `onLine` sees each acknowledgement as it arrives. */
function startWriter(dir: string, tag: string, count: number, segmentBytes: number, onLine: (line: string) => void): Writer & { child: ChildProcess } {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, tag, String(count), String(segmentBytes)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      onLine(line);
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, lines, exited };
}

/** Every acknowledged put is in the journal, and no intent went back to an older state. */
async function expectAcknowledged(store: FileStore, lines: string[]): Promise<void> {
  const state = new Map((await store.list(SCOPE)).map((intent) => [intent.idempotencyKey, intent.state]));
  for (const line of lines) {
    const [kind, key] = line.split(' ') as [string, string];
    if (kind === 'P') expect(state.get(key), line).toMatch(/^(pending|succeeded)$/);
    if (kind === 'K' || kind === 'U') expect(state.get(key), line).toBe('succeeded');
    if (kind === 'X') expect(state.get(key) ?? 'compacted', line).toMatch(/^(succeeded|compacted)$/);
  }
}

describe('fileStore under SIGKILL', () => {
  it('finds every acknowledged put after the writer is killed at random moments', async () => {
    const trials = await Promise.all(
      Array.from({ length: 6 }, async (_, trial) => {
        const dir = await tempDir();
        const killAfter = 20 + Math.floor(Math.random() * 500);
        const writer = startWriter(dir, `t${trial}`, Number.POSITIVE_INFINITY, 8192, () => {
          if (writer.lines.length === killAfter) writer.child.kill('SIGKILL');
        });
        const { signal, stderr } = await writer.exited;
        expect(signal, stderr).toBe('SIGKILL');
        return { dir, lines: writer.lines };
      }),
    );
    for (const { dir, lines } of trials) {
      const store = open(dir);
      await expectAcknowledged(store, lines);
      // The dead writer's files, torn tail and all, compact without losing anything.
      expect(await store.compact()).toBe(true);
      await expectAcknowledged(store, lines);
      await store.close();
      expect((await readdir(dir)).filter((name) => name.startsWith('w-')).length).toBeLessThanOrEqual(1);
      await expectAcknowledged(open(dir), lines);
    }
  }, 60_000);
});

describe('fileStore shared by processes', () => {
  it('loses nothing when 4 processes write, read and compact one directory at once', async () => {
    const dir = await tempDir();
    const watcher = open(dir);
    const checks: Promise<void>[] = [];
    const problems: string[] = [];
    let seen = 0;
    const onLine = (line: string) => {
      const [kind, key] = line.split(' ') as [string, string];
      if (kind === 'done') return;
      // Another live process's acknowledged put is visible here at once.
      if (kind !== 'X') {
        const expected = kind === 'P' ? ['pending', 'succeeded'] : ['succeeded'];
        checks.push(
          watcher.get(SCOPE, idOf(key)).then(
            (intent) => void (expected.includes(intent?.state ?? 'missing') || problems.push(`${line}: ${intent?.state ?? 'missing'}`)),
            (err: unknown) => void problems.push(`${line}: ${String(err)}`),
          ),
        );
      }
      // And this process compacts while they write.
      if (++seen % 150 === 0) checks.push(watcher.compact().then(() => undefined, (err: unknown) => void problems.push(String(err))));
    };
    const writers = Array.from({ length: 4 }, (_, n) => startWriter(dir, `p${n}`, 400, 8192, onLine));
    for (const writer of writers) {
      const { code, stderr } = await writer.exited;
      expect(code, stderr).toBe(0);
      expect(writer.lines.at(-1)).toBe('done');
    }
    await Promise.all(checks);
    expect(problems, 'acknowledged puts seen from another process').toEqual([]);
    const lines = writers.flatMap((writer) => writer.lines);
    expect(lines.filter((line) => line.startsWith('P ')).length).toBe(4 * 200);
    await expectAcknowledged(watcher, lines);
    await expectAcknowledged(open(dir), lines);
  }, 60_000);
});
