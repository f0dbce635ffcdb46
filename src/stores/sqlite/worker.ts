/**
 * The worker thread that owns a database connection, so no fsync ever blocks the application's
 * event loop. Messages that arrive while a batch commits queue up on the port; the next batch
 * takes all of them at once (group commit, batch.ts).
 *
 * The modules this file loads name their imports with `.ts`: tests and tsx start the worker
 * straight from source, where Node strips the types but resolves no `.js` to `.ts`.
 */
import { statSync } from 'node:fs';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { BatchRunner } from './batch.ts';
import { IntentTable } from './intent-table.ts';
import type { Intent } from '../store.ts';
import type { Envelope, Reply, WorkerData, WorkerMessage } from './messages.ts';
import { openForWriting } from './schema.ts';

const config = workerData as WorkerData;
const { port } = config;

try {
  const { db, clock } = openForWriting(config.path, config.busyTimeoutMs);
  const runner = new BatchRunner(db, new IntentTable(db, clock), config.compactEvery, sameFileAs(config.path));
  port.on('message', (first: Envelope) => {
    const batch = [first];
    for (let next = receiveMessageOnPort(port); next; next = receiveMessageOnPort(port)) batch.push(next.message);
    post({ type: 'replies', replies: runner.run(batch) });
    if (batch.some((request) => request.op === 'close')) {
      db.close();
      port.close();
    }
  });
  parentPort!.postMessage({ type: 'ready' } satisfies WorkerMessage);
} catch (error) {
  parentPort!.postMessage({ type: 'failed', error: error instanceof Error ? error.message : String(error) } satisfies WorkerMessage);
  port.close();
}

/**
 * A database file deleted or replaced under an open connection still takes writes — into an
 * inode nobody will ever open again. Each commit first checks the path still names our file, so
 * such writes are refused (and the call sends nothing) instead of vanishing.
 */
function sameFileAs(path: string): () => void {
  const opened = statSync(path);
  return () => {
    const now = statSync(path, { throwIfNoEntry: false });
    if (now === undefined || now.ino !== opened.ino || now.dev !== opened.dev) {
      throw new Error(`the journal file ${path} was deleted or replaced while open; nothing more is written to it. Reopen the store.`);
    }
  };
}

/** Replies go with their bodies' buffers transferred: a 200 MB answer is moved, not copied. */
function post(message: WorkerMessage): void {
  port.postMessage(message, message.type === 'replies' ? buffersOf(message.replies) : []);
}

function buffersOf(replies: Reply[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  const add = (bytes: Uint8Array | undefined) => {
    // Only a buffer the bytes fill alone: transferring a shared one would detach its neighbours.
    if (bytes && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
      buffers.add(bytes.buffer);
    }
  };
  for (const { value } of replies) {
    for (const intent of Array.isArray(value) ? value : [value]) {
      if (intent && typeof intent === 'object' && 'fingerprint' in intent) {
        const { body, response } = intent as Intent;
        add(body);
        add(response?.body);
      }
    }
  }
  return [...buffers];
}
