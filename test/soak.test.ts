import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { exitCodeFor, formatReport, soakFailures } from '../support/soak/report.js';
import { FAULT_KINDS, runSoak } from '../support/soak/run.js';

/**
 * The client misbehaving on the wire, as a per-attempt key generator would: a fresh key on most
 * write attempts, none on some, and a key on every read.
 */
function keyChurningFetch(): typeof fetch {
  let writes = 0;
  return (input, init) => {
    const request = new Request(input, init);
    const headers = new Headers(request.headers);
    if (request.method === 'GET') headers.set('Idempotency-Key', randomUUID());
    else if (++writes % 4 === 0) headers.delete('Idempotency-Key');
    else headers.set('Idempotency-Key', randomUUID());
    return fetch(new Request(request, { headers }));
  };
}

describe('the fault soak', () => {
  it('applies every operation exactly once through every fault kind', async () => {
    const report = await runSoak({
      operations: 600,
      concurrency: 32,
      seed: 20240601,
      dialects: ['seed004', 'seed002', 'stripe'],
      deadlineMs: 25_000,
    });
    const context = formatReport(report);

    expect(report.timedOut, context).toBe(false);
    expect(report.notRun, context).toBe(0);
    expect(report.writes + report.reads, context).toBe(600);
    expect(report.reads, context).toBeGreaterThan(0);
    expect(report.duplicates, context).toBe(0);
    expect(report.lost, context).toBe(0);
    expect(report.unkeyedWrites, context).toBe(0);
    expect(report.keyedReads, context).toBe(0);
    expect(report.wrongAnswers, context).toBe(0);
    for (const kind of FAULT_KINDS) expect(report.faults[kind], `${kind}\n${context}`).toBeGreaterThan(0);
    expect(report.retries, context).toBeGreaterThan(0);
    expect(report.journalReplays, context).toBeGreaterThan(0);
    expect(soakFailures(report)).toEqual([]);
    expect(exitCodeFor(report)).toBe(0);
  });

  it('counts operations as lost when the client does not retry', async () => {
    const report = await runSoak({
      operations: 150,
      seed: 7,
      dialects: ['seed004'],
      deadlineMs: 20_000,
      clientOptions: () => ({ retry: 0 }),
    });
    const context = formatReport(report);

    expect(report.timedOut, context).toBe(false);
    expect(report.lost, context).toBeGreaterThan(50);
    expect(report.duplicates, context).toBe(0);
    expect(exitCodeFor(report)).toBe(1);
    expect(formatReport(report)).toContain('FAIL');
  });

  it('counts duplicates, unkeyed writes and keyed reads when the client changes keys between attempts', async () => {
    // Every fresh key is a first attempt to the server, and most first attempts fault: fewer
    // operations, fewer faults and shorter stalls keep this run short.
    const report = await runSoak({
      operations: 100,
      seed: 7,
      dialects: ['seed004'],
      deadlineMs: 20_000,
      attemptTimeoutMs: 500,
      firstAttemptFaults: 0.5,
      clientOptions: () => ({ fetch: keyChurningFetch() }),
    });
    const context = formatReport(report);

    expect(report.timedOut, context).toBe(false);
    expect(report.duplicates, context).toBeGreaterThan(0);
    expect(report.unkeyedWrites, context).toBeGreaterThan(0);
    expect(report.keyedReads, context).toBeGreaterThan(0);
    expect(exitCodeFor(report)).toBe(1);
  });

  it('stops at its deadline, reports what did not run, and fails', async () => {
    const report = await runSoak({ operations: 5000, seed: 7, dialects: ['seed004', 'stripe'], deadlineMs: 1_000 });

    expect(report.timedOut).toBe(true);
    expect(report.notRun).toBeGreaterThan(0);
    expect(report.elapsedMs).toBeLessThan(10_000);
    expect(exitCodeFor(report)).toBe(1);
  });
});
