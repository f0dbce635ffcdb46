import { MessageChannel, type MessagePort, receiveMessageOnPort, type ResourceLimits, Worker } from 'node:worker_threads';
import { workerExecArgv } from './exec-argv.js';
import { prepareFiles } from './files.js';
import type { Reply, StoreRequest, WorkerConfig, WorkerData, WorkerMessage } from './messages.js';

/**
 * Tests and tsx run the worker from source, beside this file; the build emits it as
 * dist/sqlite-worker.js, beside the chunk holding this code (tsup.config.ts).
 */
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('./worker.ts', import.meta.url)
  : new URL('./sqlite-worker.js', import.meta.url);

/** For tests: resource limits for the workers started from now on (a heap small enough to run out). */
let resourceLimits: ResourceLimits | undefined;
export function setWorkerResourceLimits(limits: ResourceLimits | undefined): void {
  resourceLimits = limits;
}

interface Waiter {
  op: StoreRequest['op'];
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** One worker thread, from its start until it exits: closed when asked, or dead. */
interface WorkerRun {
  worker: Worker;
  port: MessagePort;
  waiting: Map<number, Waiter>;
  /** The last sequence number whose COMMIT the worker began (batch.ts), readable after it died. */
  committing: BigInt64Array;
  /** What the worker's 'error' event said, if it said anything. */
  failure: Error | undefined;
  /** Set once it has exited. */
  ended: boolean;
  /** A close was asked for: its exit is no death. */
  closing: boolean;
}

/**
 * The main thread's end of the worker that owns the database connection. The channel keeps the
 * process alive only while a request is outstanding: an idle store never holds up exit.
 *
 * A worker that dies (out of memory, an uncaught error, terminated) is replaced on the next
 * request, inside this object, so every store sharing it (registry.ts) goes on working — the
 * stores already handed out as well as new ones. The requests it held fail, each told what became
 * of it: a read wrote nothing; a write whose COMMIT had not begun was not written; a write whose
 * COMMIT had begun may or may not have been (the worker marks, in shared memory, the last request
 * it is committing). The old worker has exited before a new one starts, and with it its SQLite
 * connection, rolled back if it was mid-transaction: no lock is left held. Nothing is retried by
 * itself, and a worker that fails to start fails only the requests waiting for it; the next
 * request tries again.
 */
export class SqliteConnection {
  readonly #config: WorkerConfig;
  readonly #path: string;
  #run: WorkerRun | undefined;
  #starting: Promise<WorkerRun> | undefined;
  #closing: Promise<void> | undefined;
  /** Set by close(): every later request is refused with it. */
  #closed: Error | undefined;
  #nextSeq = 1;

  private constructor(config: WorkerConfig) {
    this.#config = config;
    this.#path = config.path;
  }

  /**
   * Checks and prepares the files (files.ts), starts a worker on `config.path` and resolves once
   * its database is open and its schema current.
   */
  static async open(config: WorkerConfig): Promise<SqliteConnection> {
    const connection = new SqliteConnection(config);
    await connection.#started();
    return connection;
  }

  /** Sends one request; resolves with the worker's answer, or rejects with its error as a plain Error. */
  request(request: StoreRequest): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closed);
    const run = this.#run;
    if (run !== undefined && !run.ended && this.#starting === undefined) return this.#send(run, request);
    return this.#started().then((started) => this.#send(started, request));
  }

  /** Closes the database after every request already sent, and waits for the worker to end. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** For tests: ends the worker as a crash would, and resolves once it has exited. */
  async terminateWorker(): Promise<void> {
    await this.#run?.worker.terminate();
  }

  async #close(): Promise<void> {
    const starting = this.#starting;
    this.#closed = new Error(`The sqlite store for ${this.#path} is closed.`);
    const run = starting ? await starting.catch(() => undefined) : this.#run;
    if (run === undefined || run.ended) return;
    run.closing = true;
    const exited = new Promise((resolve) => run.worker.once('exit', resolve));
    await this.#send(run, { op: 'close' }).catch(() => {});
    // Held until the worker is gone, or a caller awaiting close() would find the process exited.
    run.worker.ref();
    await exited;
  }

  /** The running worker, started (again) if there is none. */
  #started(): Promise<WorkerRun> {
    if (this.#starting) return this.#starting;
    const starting = this.#start();
    this.#starting = starting;
    const done = () => {
      if (this.#starting === starting) this.#starting = undefined;
    };
    starting.then(done, done);
    return starting;
  }

  async #start(): Promise<WorkerRun> {
    const file = await prepareFiles(this.#path);
    const { port1, port2 } = new MessageChannel();
    const committing = new SharedArrayBuffer(8);
    const workerData: WorkerData = { ...this.#config, port: port2, file, committing };
    const execArgv = workerExecArgv(process.execArgv);
    let worker: Worker;
    try {
      worker = new Worker(WORKER_URL, {
        workerData,
        transferList: [port2],
        ...(execArgv === undefined ? {} : { execArgv }),
        ...(resourceLimits === undefined ? {} : { resourceLimits }),
      });
    } catch (error) {
      port1.close();
      throw error;
    }
    const run: WorkerRun = { worker, port: port1, waiting: new Map(), committing: new BigInt64Array(committing), failure: undefined, ended: false, closing: false };
    worker.on('error', (error) => (run.failure ??= error));
    worker.on('exit', (code) => this.#ended(run, code));
    await new Promise<void>((resolve, reject) => {
      worker.once('message', (message: WorkerMessage) => {
        if (message.type === 'failed') {
          reject(new Error(message.error));
          void worker.terminate();
          return;
        }
        port1.on('message', (next: WorkerMessage) => next.type === 'replies' && this.#settle(run, next.replies));
        port1.unref();
        worker.unref();
        resolve();
      });
      worker.once('exit', () => reject(new Error(`The sqlite store for ${this.#path} failed: ${run.failure?.message ?? 'its worker exited as it started'}`)));
    });
    this.#run = run;
    return run;
  }

  #send(run: WorkerRun, request: StoreRequest): Promise<unknown> {
    if (run.ended) return Promise.reject(this.#lost(request.op, false, 'before the request reached it'));
    const seq = this.#nextSeq++;
    if (run.waiting.size === 0) run.port.ref();
    run.port.postMessage({ ...request, seq });
    return new Promise((resolve, reject) => run.waiting.set(seq, { op: request.op, resolve, reject }));
  }

  #settle(run: WorkerRun, replies: Reply[]): void {
    for (const { seq, value, error } of replies) {
      const waiter = run.waiting.get(seq);
      run.waiting.delete(seq);
      if (error === undefined) waiter?.resolve(value);
      else waiter?.reject(new Error(`The sqlite store at ${this.#path} failed to ${waiter.op}: ${error}`));
    }
    if (run.waiting.size === 0 && !run.ended) run.port.unref();
  }

  #ended(run: WorkerRun, code: number): void {
    // Replies travel on the port, the exit on the worker: the last replies (a close's among them)
    // may still be queued when the exit is seen. Read them first, or a committed write would be
    // reported as failed.
    for (let next = receiveMessageOnPort(run.port); next; next = receiveMessageOnPort(run.port)) {
      const message = next.message as WorkerMessage;
      if (message.type === 'replies') this.#settle(run, message.replies);
    }
    run.ended = true;
    const committed = Number(Atomics.load(run.committing, 0));
    const cause = run.failure?.message ?? `its worker exited with code ${code}`;
    for (const [seq, waiter] of run.waiting) {
      waiter.reject(run.closing ? (this.#closed ?? new Error(`The sqlite store for ${this.#path} is closed.`)) : this.#lost(waiter.op, seq <= committed, cause));
    }
    run.waiting.clear();
    run.port.close();
  }

  /** What became of a request the worker died holding, said exactly. */
  #lost(op: StoreRequest['op'], committing: boolean, cause: string): Error {
    const stopped = `The sqlite store's worker for ${this.#path} stopped`;
    const next = 'The next call starts a new one.';
    if (op === 'get' || op === 'list' || op === 'stats' || op === 'close') return new Error(`${stopped} before answering this ${op} (${cause}); it wrote nothing. ${next}`);
    if (!committing) return new Error(`${stopped} before this ${op} was committed (${cause}); nothing of it was written. ${next}`);
    const kept = op === 'create' ? ' If it was, the intent waits in the journal, pending, for recover().' : '';
    return new Error(`${stopped} while committing this ${op} (${cause}): it may or may not have been written.${kept} ${next}`);
  }
}
