/**
 * The fault soak: many concurrent keyed writes (and some reads) through the SDK against the real
 * fault-injecting test server, one server and one client per dialect, judged by the server's own
 * ledger. Importable, so a test can run a short soak; `bench/soak.ts` is only the CLI around it.
 */
import { randomInt } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createClient, memoryStore, type ClientOptions, type DurableClient, type IntentStore } from '../../src/index.node.js';
import { sqliteStore } from '../../src/node.js';
import { runPool } from '../pool.js';
import {
  combineFaults,
  DIALECT_RULES,
  faultOnFirstAttempts,
  isDialect,
  startTestServer,
  type Dialect,
  type Fault,
  type FaultScript,
  type SeenRequest,
  type TestServer,
} from '../server/index.js';

export type FaultKind = Fault['kind'];

export const FAULT_KINDS: readonly FaultKind[] = ['drop-before', 'drop-after', 'status', 'rate-limit', 'slow', 'in-flight'];

export const DEFAULT_DIALECTS: readonly Dialect[] = ['seed004', 'seed002', 'stripe', 'ietf', 'nestjs'];

/** The journal the soak's clients write to: in memory, or one SQLite file every dialect's client shares. */
export type SoakStore = 'memory' | 'sqlite';

export const SOAK_STORES: readonly SoakStore[] = ['memory', 'sqlite'];

export interface SoakOptions {
  /** Operations in total, spread round-robin over the dialects; about one in ten is a GET. Default 5000. */
  operations?: number;
  /** Calls in flight through each dialect's client. Default 32. */
  concurrency?: number;
  /** Seeds the fault plan. Default: a random one, reported so a run can be repeated. */
  seed?: number;
  /** Default DEFAULT_DIALECTS. */
  dialects?: readonly Dialect[];
  /** Default 'memory'. */
  store?: SoakStore;
  /** Hard limit for the whole run, ms: past it every call is aborted and the report says timedOut. Default 300 000. */
  deadlineMs?: number;
  /**
   * The client's per-attempt timeout, ms; slow faults stall a second past it. Default 2000: client and
   * servers share one process, so at 32 calls per client an attempt queues for a few hundred ms on
   * a busy 2-core machine, and a tighter timeout would measure the machine rather than the SDK.
   */
  attemptTimeoutMs?: number;
  /** Chance of a fault on a write's first attempt. Default 0.8. */
  firstAttemptFaults?: number;
  /** Chance of a fault on a write's second attempt. Default 0.25. */
  secondAttemptFaults?: number;
  /** Merged over the soak's client options: how a test breaks the client on purpose. */
  clientOptions?: (dialect: Dialect) => Partial<ClientOptions>;
}

export interface DialectReport {
  dialect: Dialect;
  operations: number;
  attempts: number;
  duplicates: number;
  lost: number;
}

export interface SoakReport {
  seed: number;
  store: SoakStore;
  dialects: Dialect[];
  /** Per dialect client. */
  concurrency: number;
  /** Planned operations, writes and reads. */
  operations: number;
  writes: number;
  reads: number;
  /** Operations never started because the deadline came first. */
  notRun: number;
  /** Requests the servers saw for the soak's operations (every attempt, faulted or not). */
  attempts: number;
  /** attempts − operations started. */
  retries: number;
  /** Attempts the servers answered with a fault, by kind. */
  faults: Record<FaultKind, number>;
  /** Writes whose side effect the server applied more than once (counting every key the server saw for them). */
  duplicates: number;
  /** Operations whose call failed, never finished, or (writes) whose side effect was never applied. */
  lost: number;
  /** Write requests that reached a server without an idempotency key. */
  unkeyedWrites: number;
  /** Read requests that reached a server with an idempotency key. */
  keyedReads: number;
  /** Calls that succeeded with an answer belonging to another operation. */
  wrongAnswers: number;
  /** Repeated stable-key calls answered from the journal without a request. */
  journalReplays: number;
  timedOut: boolean;
  elapsedMs: number;
  opsPerSecond: number;
  perDialect: DialectReport[];
  /** A few failure messages, for reading a failed run. */
  samples: string[];
}

/** Dialect options the seeds' own documents ask for; nothing else is configured per server. */
const DOCUMENTED_OPTIONS: Partial<Record<Dialect, Partial<ClientOptions>>> = {
  seed002: { keyTtlMs: 90_000 },
  seed003: { maxKeyLength: 128 },
  ietf: { keyFormat: 'sf-string' },
};

const ROUTE = 'v1/payouts';
const READ_TIMEOUT_MS = 5_000;
const RETRY_LIMIT = 12;
/** After the deadline aborts every call, how long the run still waits for them to let go. */
const ABORT_GRACE_MS = 5_000;
const MAX_SAMPLES = 5;

type OpKind = 'write' | 'read';
type OpState = 'waiting' | 'running' | 'done' | 'failed';

interface Operation {
  dialect: Dialect;
  /** Index within its dialect; carried in the body, so the server's log names the operation. */
  index: number;
  kind: OpKind;
  /** A caller-chosen key (a re-runnable script), or undefined for a generated one. */
  stableKey: string | undefined;
  /** Call it once more after it succeeds, as a re-run script would: the journal must answer. */
  repeat: boolean;
  state: OpState;
  error?: string;
  wrongAnswer?: boolean;
  journalReplayed?: boolean;
}

interface Lane {
  dialect: Dialect;
  server: TestServer;
  client: DurableClient;
  operations: Operation[];
}

/** Every kind the server can inject; Retry-After kept small so the soak stays short. */
function soakFaults(attemptTimeoutMs: number): readonly Fault[] {
  return [
    { kind: 'drop-before' },
    { kind: 'drop-after' },
    { kind: 'status', status: 500 },
    { kind: 'status', status: 503, retryAfter: '0' },
    { kind: 'rate-limit', retryAfter: '0' },
    { kind: 'rate-limit', retryAfter: '1' },
    // Past the client's timeout: the attempt times out while the server has applied the write.
    { kind: 'slow', ms: attemptTimeoutMs + 1000 },
    { kind: 'in-flight' },
  ];
}

/** Most first attempts fault; some second attempts fault too, so one retry is not always enough. */
function faultPlan(seed: number, kinds: readonly Fault[], first: number, second: number): FaultScript {
  const onFirst = faultOnFirstAttempts(kinds, seed, { probability: first, upToAttempt: 1 });
  const upToSecond = faultOnFirstAttempts(kinds, (seed ^ 0x5eed5eed) >>> 0, { probability: second, upToAttempt: 2 });
  return combineFaults(onFirst, (req) => (req.attempt === 2 ? upToSecond(req) : undefined));
}

/** Equal jitter: never shorter than half the step, so the retries outlast a slow answer's in-flight window. */
function retryDelay(attempt: number): number {
  const step = Math.min(800, 50 * 2 ** (attempt - 1));
  return step / 2 + Math.random() * (step / 2);
}

function plan(dialects: readonly Dialect[], operations: number, seed: number): Operation[][] {
  const lanes: Operation[][] = dialects.map(() => []);
  for (let i = 0; i < operations; i++) {
    const lane = lanes[i % dialects.length]!;
    const dialect = dialects[i % dialects.length]!;
    const index = lane.length;
    const kind: OpKind = index % 10 === 9 ? 'read' : 'write';
    const stable = kind === 'write' && index % 2 === 0;
    lane.push({
      dialect,
      index,
      kind,
      stableKey: stable ? `soak-${seed}-${dialect}-${index}` : undefined,
      repeat: stable && index % 20 === 4,
      state: 'waiting',
    });
  }
  return lanes;
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

async function runOperation(lane: Lane, op: Operation, signal: AbortSignal): Promise<void> {
  op.state = 'running';
  try {
    if (op.kind === 'read') {
      const answer = await lane.client.get(ROUTE, { signal, timeout: READ_TIMEOUT_MS }).json<{ ok?: unknown }>();
      if (answer.ok !== true) op.wrongAnswer = true;
    } else {
      const json = { op: op.index, dialect: op.dialect, amount: 100 + op.index };
      const call = () =>
        lane.client.post(ROUTE, { json, signal, ...(op.stableKey === undefined ? {} : { idempotencyKey: op.stableKey }) });
      const response = await call();
      const body = (await response.json()) as { received?: { op?: unknown; dialect?: unknown } };
      if (body.received?.op !== op.index || body.received.dialect !== op.dialect) op.wrongAnswer = true;
      if (op.repeat) {
        const again = await call();
        op.journalReplayed = again.attempts === 0 && again.replayed;
        const againBody = (await again.json()) as { received?: { op?: unknown } };
        if (againBody.received?.op !== op.index) op.wrongAnswer = true;
      }
    }
    op.state = 'done';
  } catch (error) {
    op.state = 'failed';
    op.error = `${op.dialect} #${op.index} ${op.kind}: ${describe(error)}`;
  }
}

/** `limit` workers take the lane's operations in order until none are left or the deadline passed. */
async function drain(lane: Lane, limit: number, signal: AbortSignal): Promise<void> {
  await runPool(lane.operations.length, limit, (index) => runOperation(lane, lane.operations[index]!, signal), () => signal.aborted);
}

function opIndexOf(request: SeenRequest): number | undefined {
  try {
    const body = JSON.parse(request.body) as { op?: unknown };
    return typeof body.op === 'number' ? body.op : undefined;
  } catch {
    return undefined;
  }
}

/** The server's view of the key: undefined when it treats the request as carrying none. */
function serverKey(dialect: Dialect, request: SeenRequest): string | undefined {
  if (request.key === undefined) return undefined;
  const key = DIALECT_RULES[dialect].normaliseKey(request.key);
  return key === '' ? undefined : key;
}

function isWrite(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD';
}

/** What the server saw of one operation, attempt by attempt: enough to read a failure. */
function trace(requests: readonly SeenRequest[] = []): string {
  if (requests.length === 0) return 'the server saw no request';
  const steps = requests.map((r) => {
    const fault = r.fault === undefined ? '' : `${r.fault.kind}${r.fault.kind === 'status' ? ` ${r.fault.status}` : ''} `;
    return `#${r.attempt} ${fault}${r.outcome ?? 'unfinished'} ${r.status ?? '-'}`;
  });
  return `server saw: ${steps.join(', ')}`;
}

interface LaneTally {
  report: DialectReport;
  writes: number;
  reads: number;
  notRun: number;
  started: number;
  faults: Record<FaultKind, number>;
  unkeyedWrites: number;
  keyedReads: number;
  wrongAnswers: number;
  journalReplays: number;
  samples: string[];
}

/**
 * Judges one lane by the server's ledger. Every key the server saw in an operation's requests is
 * counted, so a client that changed keys between attempts shows up as duplicates too.
 */
function tally(lane: Lane): LaneTally {
  const faults = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
  const keysByOp = new Map<number, Set<string>>();
  const unkeyedAppliedByOp = new Map<number, number>();
  const requestsByOp = new Map<number, SeenRequest[]>();
  let attempts = 0;
  let unkeyedWrites = 0;
  let keyedReads = 0;

  for (const request of lane.server.requests) {
    attempts++;
    if (request.fault) faults[request.fault.kind]++;
    if (!isWrite(request.method)) {
      if (request.key !== undefined) keyedReads++;
      continue;
    }
    const key = serverKey(lane.dialect, request);
    const op = opIndexOf(request);
    if (op !== undefined) {
      const seen = requestsByOp.get(op);
      if (seen) seen.push(request);
      else requestsByOp.set(op, [request]);
    }
    if (key === undefined) {
      unkeyedWrites++;
      if (op !== undefined && request.outcome === 'applied') {
        unkeyedAppliedByOp.set(op, (unkeyedAppliedByOp.get(op) ?? 0) + 1);
      }
    } else if (op !== undefined) {
      const keys = keysByOp.get(op) ?? new Set<string>();
      keys.add(key);
      keysByOp.set(op, keys);
    }
  }

  let duplicates = 0;
  let lost = 0;
  let writes = 0;
  let reads = 0;
  let notRun = 0;
  let wrongAnswers = 0;
  let journalReplays = 0;
  const samples: string[] = [];
  for (const op of lane.operations) {
    if (op.kind === 'write') writes++;
    else reads++;
    if (op.state === 'waiting') {
      notRun++;
      continue;
    }
    if (op.wrongAnswer) wrongAnswers++;
    if (op.journalReplayed) journalReplays++;
    let applied = unkeyedAppliedByOp.get(op.index) ?? 0;
    for (const key of keysByOp.get(op.index) ?? []) applied += lane.server.applied(key);
    if (op.kind === 'write' && applied > 1) {
      duplicates++;
      if (samples.length < MAX_SAMPLES) {
        samples.push(`${op.dialect} #${op.index}: applied ${applied} times; ${trace(requestsByOp.get(op.index))}`);
      }
    }
    const failed = op.state !== 'done';
    if (failed || (op.kind === 'write' && applied === 0)) {
      lost++;
      if (samples.length < MAX_SAMPLES) {
        const what = op.error ?? `${op.dialect} #${op.index} ${op.kind}: ${failed ? 'never finished' : 'never applied'}`;
        samples.push(op.kind === 'write' ? `${what}; ${trace(requestsByOp.get(op.index))}` : what);
      }
    }
  }
  const started = lane.operations.length - notRun;
  return {
    report: { dialect: lane.dialect, operations: started, attempts, duplicates, lost },
    writes,
    reads,
    notRun,
    started,
    faults,
    unkeyedWrites,
    keyedReads,
    wrongAnswers,
    journalReplays,
    samples,
  };
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer, got ${value}.`);
  return value;
}

export async function runSoak(options: SoakOptions = {}): Promise<SoakReport> {
  const operations = positiveInteger('operations', options.operations ?? 5000);
  const concurrency = positiveInteger('concurrency', options.concurrency ?? 32);
  const deadlineMs = positiveInteger('deadlineMs', options.deadlineMs ?? 300_000);
  const attemptTimeoutMs = positiveInteger('attemptTimeoutMs', options.attemptTimeoutMs ?? 2000);
  const seed = (options.seed ?? randomInt(0, 2 ** 31)) >>> 0;
  const dialects = [...(options.dialects ?? DEFAULT_DIALECTS)];
  if (dialects.length === 0) throw new TypeError('dialects must name at least one dialect.');
  for (const dialect of dialects) if (!isDialect(dialect)) throw new TypeError(`unknown dialect ${String(dialect)}.`);
  const first = options.firstAttemptFaults ?? 0.8;
  const second = options.secondAttemptFaults ?? 0.25;
  const kinds = soakFaults(attemptTimeoutMs);
  const storeKind = options.store ?? 'memory';
  if (!SOAK_STORES.includes(storeKind)) throw new TypeError(`store must be one of ${SOAK_STORES.join(', ')}, got ${String(storeKind)}.`);

  const deadline = new AbortController();
  // Every call in flight listens to this one signal, by design; Node's leak warning does not apply.
  setMaxListeners(0, deadline.signal);
  const started = performance.now();
  const deadlineTimer = setTimeout(() => deadline.abort(new Error(`soak deadline of ${deadlineMs} ms passed`)), deadlineMs);
  const servers: TestServer[] = [];
  const lanes: Lane[] = [];
  // A fresh 0700 directory for the SQLite journal, removed when the run ends.
  const journalDir = storeKind === 'sqlite' ? await mkdtemp(join(tmpdir(), 'durable-fetch-soak-')) : undefined;
  const openStore = (): IntentStore => (journalDir === undefined ? memoryStore() : sqliteStore(join(journalDir, 'intents.db')));
  try {
    const planned = plan(dialects, operations, seed);
    for (const [i, dialect] of dialects.entries()) {
      const server = await startTestServer({ dialect, faults: faultPlan((seed + i * 0x9e37) >>> 0, kinds, first, second) });
      // Kept before anything else can throw, so `finally` closes every server started.
      servers.push(server);
      const client = createClient({
        prefix: server.url,
        store: openStore(),
        headers: { Authorization: `Bearer soak-${dialect}` },
        timeout: attemptTimeoutMs,
        retry: { limit: RETRY_LIMIT, delay: retryDelay, maxRetryAfter: 5_000 },
        // Every fault kind on most requests: the soak proves the retries, so no budget throttles them.
        retryBudget: false,
        ...DOCUMENTED_OPTIONS[dialect],
        ...options.clientOptions?.(dialect),
      });
      lanes.push({ dialect, server, client, operations: planned[i]! });
    }

    const work = Promise.all(lanes.map((lane) => drain(lane, concurrency, deadline.signal)));
    // Calls honour the abort at once; the grace only bounds a run in which something does not.
    const graceOver = new Promise<void>((resolve) => {
      deadline.signal.addEventListener('abort', () => setTimeout(resolve, ABORT_GRACE_MS).unref(), { once: true });
    });
    await Promise.race([work, graceOver]);
    if (!deadline.signal.aborted) {
      // Slow answers still pending hold no side effect the ledger lacks, but closing is tidier after them.
      await Promise.race([Promise.all(lanes.map((lane) => lane.server.idle())), graceOver]);
    }
  } finally {
    clearTimeout(deadlineTimer);
    // Every outcome recorded and every store let go before the servers and the journal go; a
    // client that cannot let go (a call ignoring its abort) holds the run for the grace at most.
    const closed = Promise.all(lanes.map((lane) => lane.client.close().catch(() => undefined)));
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([closed, new Promise((resolve) => (graceTimer = setTimeout(resolve, ABORT_GRACE_MS)))]);
    clearTimeout(graceTimer);
    await Promise.all(servers.map((server) => server.close()));
    if (journalDir !== undefined) await rm(journalDir, { recursive: true, force: true });
  }
  const elapsedMs = performance.now() - started;

  const tallies = lanes.map(tally);
  const sum = (pick: (t: LaneTally) => number) => tallies.reduce((total, t) => total + pick(t), 0);
  const faults = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, sum((t) => t.faults[kind])])) as Record<FaultKind, number>;
  const attempts = sum((t) => t.report.attempts);
  const startedOps = sum((t) => t.started);
  return {
    seed,
    store: storeKind,
    dialects,
    concurrency,
    operations,
    writes: sum((t) => t.writes),
    reads: sum((t) => t.reads),
    notRun: sum((t) => t.notRun),
    attempts,
    retries: attempts - startedOps,
    faults,
    duplicates: sum((t) => t.report.duplicates),
    lost: sum((t) => t.report.lost),
    unkeyedWrites: sum((t) => t.unkeyedWrites),
    keyedReads: sum((t) => t.keyedReads),
    wrongAnswers: sum((t) => t.wrongAnswers),
    journalReplays: sum((t) => t.journalReplays),
    timedOut: deadline.signal.aborted,
    elapsedMs,
    opsPerSecond: startedOps / (elapsedMs / 1000),
    perDialect: tallies.map((t) => t.report),
    samples: tallies.flatMap((t) => t.samples).slice(0, MAX_SAMPLES),
  };
}
