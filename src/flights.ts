/**
 * A client's operations in flight. Two calls for one intent on one client share one operation
 * (one request), and nothing else: each caller keeps its own signal, and gets its own events
 * (`start`, `end`), its own Response and its own error, whatever the others do with theirs. A
 * caller arriving while the operation's outcome is being written is a repeat, answered as the
 * journal will answer it, by the journal gate's one rule.
 */
import { describeCall, emitEnd } from './about.js';
import type { PreparedCall, Settlement } from './call-types.js';
import { ownCopy } from './errors.js';
import { emit } from './events.js';
import { answerFromJournal, type KnownIntent } from './journal-gate.js';
import { runCall } from './operation.js';
import { toStoredResponse } from './response.js';
import type { ClientRuntime } from './runtime.js';

/** One operation in flight on this client, shared by every caller of the same intent. */
interface Flight {
  /**
   * Its intent as it stands: pending while in flight (a caller with the same request joins it, one
   * with another is refused); settled, its answer in hand, once it is (a caller then is a repeat,
   * answered as the journal will answer it) — by the journal gate's one rule.
   */
  known: KnownIntent;
  settlement: Promise<Settlement>;
  /** Aborts the operation once every caller has walked away. */
  controller: AbortController;
  callers: number;
  /** Stops the operation once every caller has walked away (the last one's reason), and frees its slot. */
  abandon(reason: unknown): void;
}

export class Flights {
  readonly #runtime: ClientRuntime;
  /** By intent id: a client has one scope, so the id alone names an operation's slot. */
  readonly #flights = new Map<string, Flight>();
  /** Outcomes still being written, of operations already answered. */
  readonly #recording = new Set<Promise<unknown>>();
  /**
   * Operations abandoned by every caller, still winding down (releasing their intent): a new call
   * for the same intent starts once its predecessor has let go, rather than waiting on its own
   * client's lease — or joining an operation that is already stopping.
   */
  readonly #winding = new Map<string, Promise<unknown>>();

  constructor(runtime: ClientRuntime) {
    this.#runtime = runtime;
  }

  /** The call's settlement, as this caller gets it: its own error, its own `start` and `end`. */
  async join(call: PreparedCall, signal: AbortSignal | undefined): Promise<Settlement> {
    const runtime = this.#runtime;
    const about = describeCall(call, runtime);
    emit(runtime.config.on, 'start', { ...about, recovery: false });
    const settlement = await this.#shared(call, signal).then(
      (shared): Settlement => (shared.error === undefined ? shared : { ...shared, error: ownCopy(shared.error) }),
      (error: unknown): Settlement => ({ state: undefined, error }),
    );
    emitEnd(about, settlement, runtime);
    return settlement;
  }

  /** Resolves once every operation started has its outcome in the journal. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.#flights.values()].map((flight) => flight.settlement.then((settled) => settled.journaled)));
    await Promise.allSettled([...this.#winding.values(), ...this.#recording]);
  }

  #shared(call: PreparedCall, signal: AbortSignal | undefined): Promise<Settlement> {
    const runtime = this.#runtime;
    const flights = this.#flights;
    const winding = this.#winding;
    const recording = this.#recording;
    const slot = call.id;
    let flight = flights.get(slot);
    const answered = flight && answerFromJournal(flight.known, call, runtime);
    if (answered !== undefined) return Promise.resolve(answered);
    if (flight === undefined) {
      const controller = new AbortController();
      // The slot stays taken until the outcome is recorded, so a next call with this key finds
      // it in the journal rather than waiting out this client's own lease.
      const release = () => flights.get(slot) === current && flights.delete(slot);
      const predecessor = winding.get(slot);
      const started = predecessor === undefined ? runCall(call, runtime, controller.signal) : predecessor.then(() => runCall(call, runtime, controller.signal));
      const settlement = started.then(
        (settled) => {
          // Settled, its outcome still being written: a next caller is a repeat, answered as the journal will answer it.
          if ((settled.state === 'succeeded' || settled.state === 'failed') && settled.answer !== undefined) {
            current.known = { ...current.known, state: settled.state, response: toStoredResponse(settled.answer) };
          }
          if (settled.journaled === undefined) release();
          else {
            const tracked: Promise<unknown> = settled.journaled.finally(() => {
              recording.delete(tracked);
              release();
            });
            recording.add(tracked);
          }
          return settled;
        },
        (error: unknown) => {
          release();
          throw error;
        },
      );
      const current: Flight = {
        known: { fingerprint: call.fingerprint, state: 'pending', idempotencyKey: call.idempotencyKey, method: call.method, url: call.url.href },
        settlement,
        controller,
        callers: 0,
        // Every caller walked away: the operation stops, and the slot is free at once for the next call.
        abandon(reason: unknown) {
          controller.abort(reason);
          if (!release()) return;
          const done = settlement.then((settled) => settled.journaled, () => {}).finally(() => winding.get(slot) === done && winding.delete(slot));
          winding.set(slot, done);
        },
      };
      flight = current;
      flights.set(slot, current);
    }
    return withOwnSignal(flight, signal);
  }
}

/** The shared operation, as one caller sees it: its own abort rejects only it. */
function withOwnSignal(flight: Flight, signal: AbortSignal | undefined): Promise<Settlement> {
  flight.callers++;
  if (signal === undefined) return flight.settlement;
  return new Promise<Settlement>((resolve, reject) => {
    const leave = () => {
      reject(signal.reason);
      if (--flight.callers === 0) flight.abandon(signal.reason);
    };
    signal.addEventListener('abort', leave, { once: true });
    flight.settlement.then(resolve, reject).finally(() => signal.removeEventListener('abort', leave));
  });
}

