/**
 * What a soak run means: the verdict the CLI exits with, and the short text it prints.
 */
import { FAULT_KINDS, type SoakReport } from './run.js';

/** Why the run failed; empty when it passed. */
export function soakFailures(report: SoakReport): string[] {
  const failures: string[] = [];
  if (report.duplicates > 0) failures.push(`${report.duplicates} operations applied more than once`);
  if (report.lost > 0) failures.push(`${report.lost} operations lost`);
  if (report.unkeyedWrites > 0) failures.push(`${report.unkeyedWrites} writes sent without a key`);
  if (report.keyedReads > 0) failures.push(`${report.keyedReads} reads sent with a key`);
  if (report.wrongAnswers > 0) failures.push(`${report.wrongAnswers} calls answered with another operation's result`);
  if (report.timedOut) failures.push(`deadline passed with ${report.notRun} operations not run`);
  return failures;
}

export function exitCodeFor(report: SoakReport): 0 | 1 {
  return soakFailures(report).length === 0 ? 0 : 1;
}

export function formatReport(report: SoakReport): string {
  const faulted = FAULT_KINDS.reduce((total, kind) => total + report.faults[kind], 0);
  const perKind = FAULT_KINDS.map((kind) => `${kind} ${report.faults[kind]}`).join(', ');
  const failures = soakFailures(report);
  const lines = [
    `durable-fetch soak  store ${report.store}  seed ${report.seed}  dialects ${report.dialects.join(',')}  concurrency ${report.concurrency} per client`,
    `operations        ${report.operations} (${report.writes} keyed writes, ${report.reads} reads${report.notRun > 0 ? `, ${report.notRun} not run` : ''})`,
    `attempts          ${report.attempts}`,
    `retries           ${report.retries}`,
    `faults injected   ${faulted}: ${perKind}`,
    `duplicates        ${report.duplicates}`,
    `lost              ${report.lost}`,
    `unkeyed writes    ${report.unkeyedWrites}`,
    `keyed GETs        ${report.keyedReads}`,
    `wrong answers     ${report.wrongAnswers}`,
    `journal replays   ${report.journalReplays} (repeated stable-key calls answered without a request)`,
    `elapsed           ${(report.elapsedMs / 1000).toFixed(1)} s, ${report.opsPerSecond.toFixed(0)} ops/s`,
    ...report.perDialect.map(
      (d) => `  ${d.dialect.padEnd(20)} ops ${d.operations}  attempts ${d.attempts}  duplicates ${d.duplicates}  lost ${d.lost}`,
    ),
    failures.length === 0 ? 'PASS' : `FAIL: ${failures.join('; ')}`,
    ...report.samples.map((sample) => `  e.g. ${sample}`),
  ];
  return lines.join('\n');
}
