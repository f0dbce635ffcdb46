/**
 * The worker thread that owns a database connection, so no fsync ever blocks the application's
 * event loop. Messages that arrive while a batch commits queue up on the port; the next batch
 * takes all of them at once (group commit, batch.ts).
 *
 * The modules this file loads name their imports with `.ts`: tests and tsx start the worker
 * straight from source, where Node strips the types but resolves no `.js` to `.ts`.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { BatchRunner } from './batch.ts';
import { IntentTable } from './intent-table.ts';
import { JournalFiles } from './journal-files.ts';
import type { Intent } from '../store.ts';
import type { Envelope, Reply, WorkerData, WorkerMessage } from './messages.ts';
import { openForWriting } from './schema.ts';

const config = workerData as WorkerData;
const { port } = config;
/** The last sequence number whose COMMIT has begun, read by the main thread if this worker dies. */
const committing = new BigInt64Array(config.committing);

try {
  const { db, clock } = openForWriting(config.path, config.busyTimeoutMs);
  let files;
  try {
    files = new JournalFiles(config.path, config.file);
  } catch (error) {
    db.close();
    throw error;
  }
  const runner = new BatchRunner(db, new IntentTable(db, clock), config.compactEvery, files, (seq) => Atomics.store(committing, 0, BigInt(seq)));
  port.on('message', (first: Envelope) => {
    const batch = [first];
    for (let next = receiveMessageOnPort(port); next; next = receiveMessageOnPort(port)) batch.push(next.message);
    post({ type: 'replies', replies: runner.run(batch) });
    if (batch.some((request) => request.op === 'close')) {
      runner.close();
      port.close();
    }
  });
  parentPort!.postMessage({ type: 'ready' } satisfies WorkerMessage);
} catch (error) {
  parentPort!.postMessage({ type: 'failed', error: error instanceof Error ? error.message : String(error) } satisfies WorkerMessage);
  port.close();
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
