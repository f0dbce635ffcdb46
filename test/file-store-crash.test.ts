import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, statfs } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { FileStore } from '../src/node.js';
import { LOCAL_FILE_SYSTEMS } from '../src/stores/file/view.js';
import { idOf, SCOPE } from './fixtures/file-store-intents.js';
import { untilListingTrusted, useFileStores } from './support/file-stores.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WRITER = fileURLToPath(new URL('./fixtures/file-store-writer.ts', import.meta.url));
const PEER = fileURLToPath(new URL('./fixtures/file-store-peer.ts', import.meta.url));

const { tempDir, open } = useFileStores('durable-fetch-crash-');
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

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

/** The peer fixture: another live process on the journal, answering each command once it is done. */
function startPeer(dir: string, segmentBytes: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', PEER, dir, String(segmentBytes)], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  const waiting: Array<(line: string) => void> = [];
  let partial = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop()!;
    for (const line of parts) waiting.shift()?.(line);
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<never>((_, reject) => child.on('close', (code) => reject(new Error(`peer exited (${code}): ${stderr}`))));
  exited.catch(() => undefined);
  return {
    /** Sends one command; resolves with the peer's answer, once what it asked is done. */
    send(command: string): Promise<string> {
      const answer = new Promise<string>((resolve) => waiting.push(resolve));
      child.stdin!.write(`${command}\n`);
      return Promise.race([answer, exited]);
    },
  };
}


describe('fileStore reading another live process', () => {
  it('sees its appends on every get, and its new segments, while listing the directory only when it changed', async () => {
    const dir = await tempDir();
    const peer = startPeer(dir, 4096);
    expect(await peer.send('put first pending')).toBe('ok first');
    const reader = open(dir);
    expect((await reader.get(SCOPE, idOf('first')))?.state).toBe('pending');
    // Where directory stamps cannot be trusted every look lists it: what is seen must not change.
    const trusting = process.platform === 'linux' && LOCAL_FILE_SYSTEMS.has((await statfs(dir)).type);
    if (trusting) await untilListingTrusted(reader);

    // Appends to the peer's segment leave the directory as it was: seen through the segment itself.
    const listings = reader.stats().listings;
    for (let i = 0; i < 3; i++) {
      expect(await peer.send(`put k${i} pending`)).toBe(`ok k${i}`);
      expect((await reader.get(SCOPE, idOf(`k${i}`)))?.state).toBe('pending');
    }
    expect(await peer.send('put first kept')).toBe('ok first');
    expect((await reader.get(SCOPE, idOf('first')))?.state).toBe('succeeded');
    if (trusting) expect(reader.stats().listings).toBe(listings);

    // Past 4 KiB the peer starts a new segment: a new name, which the next look lists and reads.
    const segments = (await readdir(dir)).length;
    let n = 0;
    while ((await readdir(dir)).length === segments) expect(await peer.send(`put r${n} kept`)).toBe(`ok r${n++}`);
    expect(await peer.send('put in-new-segment pending')).toBe('ok in-new-segment');
    expect((await reader.get(SCOPE, idOf('in-new-segment')))?.state).toBe('pending');
    expect(reader.stats().listings).toBeGreaterThan(listings);
    expect((await reader.list(SCOPE)).length).toBe(1 + 3 + n + 1);

    expect(await peer.send('close')).toBe('closed');
    expect((await reader.list(SCOPE)).length).toBe(1 + 3 + n + 1);
  }, 30_000);
});
