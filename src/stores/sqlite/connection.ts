import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { restrictFiles } from './files.js';
import type { Reply, StoreRequest, WorkerConfig, WorkerData, WorkerMessage } from './messages.js';

/**
 * Tests and tsx run the worker from source, beside this file; the build emits it as
 * dist/sqlite-worker.js, beside the chunk holding this code (tsup.config.ts).
 */
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('./worker.ts', import.meta.url)
  : new URL('./sqlite-worker.js', import.meta.url);

interface Waiter {
  op: StoreRequest['op'];
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * The main thread's end of one worker, which owns one database connection. The channel keeps the
 * process alive only while a request is outstanding: an idle store never holds up exit.
 */
export class SqliteConnection {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #path: string;
  readonly #waiting = new Map<number, Waiter>();
  #nextSeq = 1;
  /** Set once the worker has failed or exited; every later request is refused with it. */
  #broken: Error | undefined;

  private constructor(config: WorkerConfig) {
    this.#path = config.path;
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    const workerData: WorkerData = { ...config, port: port2 };
    this.#worker = new Worker(WORKER_URL, { workerData, transferList: [port2] });
    this.#worker.on('error', (error) => this.#breakWith(new Error(`The sqlite store for ${this.#path} failed: ${error.message}`)));
    this.#worker.on('exit', () => {
      // Replies travel on the port, the exit on the worker: the last replies (a close's among them)
      // may still be queued when the exit is seen. Read them first, or a committed write would be
      // reported as failed.
      for (let next = receiveMessageOnPort(this.#port); next; next = receiveMessageOnPort(this.#port)) {
        const message = next.message as WorkerMessage;
        if (message.type === 'replies') this.#settle(message.replies);
      }
      this.#breakWith(new Error(`The sqlite store for ${this.#path} is closed.`));
    });
  }

  /** Starts a worker on `config.path` and resolves once its database is open and its schema current. */
  static async open(config: WorkerConfig): Promise<SqliteConnection> {
    const connection = new SqliteConnection(config);
    await connection.#opened();
    await restrictFiles(config.path);
    return connection;
  }

  /** Sends one request; resolves with the worker's answer, or rejects with its error as a plain Error. */
  request(request: StoreRequest): Promise<unknown> {
    if (this.#broken) return Promise.reject(this.#broken);
    const seq = this.#nextSeq++;
    if (this.#waiting.size === 0) this.#port.ref();
    this.#port.postMessage({ ...request, seq });
    return new Promise((resolve, reject) => this.#waiting.set(seq, { op: request.op, resolve, reject }));
  }

  /** Closes the database after every request already sent, and waits for the worker to end. */
  async close(): Promise<void> {
    if (this.#broken) return;
    const exited = new Promise((resolve) => this.#worker.once('exit', resolve));
    await this.request({ op: 'close' });
    // Held until the worker is gone, or a caller awaiting close() would find the process exited.
    this.#worker.ref();
    await exited;
  }

  #opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#worker.once('message', (message: WorkerMessage) => {
        if (message.type === 'failed') {
          reject(new Error(message.error));
          void this.#worker.terminate();
          return;
        }
        this.#port.on('message', (next: WorkerMessage) => next.type === 'replies' && this.#settle(next.replies));
        this.#port.unref();
        this.#worker.unref();
        resolve();
      });
      this.#worker.once('exit', () => reject(this.#broken));
    });
  }

  #settle(replies: Reply[]): void {
    for (const { seq, value, error } of replies) {
      const waiter = this.#waiting.get(seq);
      this.#waiting.delete(seq);
      if (error === undefined) waiter?.resolve(value);
      else waiter?.reject(new Error(`The sqlite store at ${this.#path} failed to ${waiter.op}: ${error}`));
    }
    if (this.#waiting.size === 0) this.#port.unref();
  }

  #breakWith(error: Error): void {
    this.#broken ??= error;
    for (const waiter of this.#waiting.values()) waiter.reject(this.#broken);
    this.#waiting.clear();
    this.#port.close();
  }
}
