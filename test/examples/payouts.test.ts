import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoApi, startDemoApi } from '../../examples/demo-api/index.js';
import { renderBar } from '../../examples/payouts/progress.js';
import { runExample, spawnWatched, type Watched } from './child.js';

// The example as users run it: a real process, the SQLite journal, the demo API injecting faults.
const SCRIPT = 'examples/payouts/main.ts';
const SHIPPED_ROWS = 25;
const APPLIED = /\[(payout-[\w-]+)\] → (?:\d{3} )?applied/;

let api: DemoApi;
let workdir: string;
/** Sees every line the API logs, at the moment it logs it: before the answer is written. */
let onApiLog: ((line: string) => void) | undefined;

beforeAll(async () => {
  api = await startDemoApi({ faultRate: 0.3, seed: 11, log: (line) => onApiLog?.(line) });
  workdir = await mkdtemp(join(tmpdir(), 'durable-fetch-payouts-example-'));
});
afterAll(async () => {
  onApiLog = undefined;
  await api.close();
  await rm(workdir, { recursive: true, force: true });
});

async function writeCsv(name: string, ids: number[]): Promise<string> {
  const path = join(workdir, name);
  await writeFile(path, ['id,recipient,amount', ...ids.map((id) => `${id},payee-${id}@example.com,${id * 10}`)].join('\n'));
  return path;
}

/**
 * Once the run has printed payout `row`, kills it with SIGKILL as the API applies the next
 * payout: the API has paid it, the script never sees the answer. Resolves with that payout's key.
 */
function killAfterRow(run: Watched, row: number): Promise<string> {
  return run.waitForLine(new RegExp(`^payout ${row} `)).then(
    () =>
      new Promise((resolve) => {
        onApiLog = (line) => {
          const key = APPLIED.exec(line)?.[1];
          if (key === undefined) return;
          onApiLog = undefined;
          run.child.kill('SIGKILL');
          resolve(key);
        };
      }),
  );
}

describe('the payouts example killed with SIGKILL and simply run again', () => {
  it('finishes the CSV with every payout applied exactly once, recovering what each kill left in flight', async () => {
    const args = ['--api', api.url, '--journal', join(workdir, 'journal', 'intents.db')];
    const recoveredAs = (key: string) => `recover(): ${key} succeeded (the API had applied it)`;
    // The killed run still held its lease on the payout it was sending: the re-run waits it out.
    const waitedFor = (key: string) => expect.stringMatching(new RegExp(`^waiting \\d+ s for an earlier run's lease on ${key}$`));

    const first = runExample(SCRIPT, args);
    const firstKilled = killAfterRow(first, 5);
    expect((await first.exited).signal).toBe('SIGKILL');
    const firstKey = await firstKilled;
    expect(api.applied(firstKey)).toBe(1);

    const second = runExample(SCRIPT, args);
    const secondKilled = killAfterRow(second, 12);
    expect((await second.exited).signal).toBe('SIGKILL');
    expect(second.lines).toContainEqual(waitedFor(firstKey));
    expect(second.lines).toContain(recoveredAs(firstKey));
    const secondKey = await secondKilled;

    const reruns: Watched[] = [];
    let code: number | null = null;
    while (code !== 0 && reruns.length < 3) {
      const rerun = runExample(SCRIPT, args);
      reruns.push(rerun);
      const exit = await rerun.exited;
      expect(exit.stderr).toBe('');
      code = exit.code;
    }
    expect(code).toBe(0);
    expect(reruns[0]?.lines).toContainEqual(waitedFor(secondKey));
    expect(reruns[0]?.lines).toContain(recoveredAs(secondKey));
    const last = reruns.at(-1)?.lines ?? [];
    expect(last.some((line) => line.startsWith(`done ${SHIPPED_ROWS}/${SHIPPED_ROWS} payouts paid`)), last.join('\n')).toBe(true);
    expect(last).toContain(`API ledger: ${SHIPPED_ROWS}/${SHIPPED_ROWS} rows on record, 0 paid twice`);
    for (let id = 1; id <= SHIPPED_ROWS; id++) expect(api.applied(`payout-${id}`), `payout-${id}`).toBe(1);
  }, 60_000);
});

describe('the payouts example’s progress', () => {
  it('prints one plain line per payout when stdout is not a terminal, and answers a re-run from the journal', async () => {
    const csv = await writeCsv('plain.csv', [101, 102, 103, 104]);
    const args = [csv, '--api', api.url, '--journal', join(workdir, 'plain', 'intents.db')];
    const rowLine = /^payout 10[1-4] {2}payee-10[1-4]@example\.com {2}\$\d+\.\d\d {2}(sent|replayed)/;

    const run = runExample(SCRIPT, args);
    const { code, stderr } = await run.exited;
    expect(code, stderr).toBe(0);
    expect(run.output).not.toMatch(/[\r\x1b]/);
    expect(run.lines.filter((line) => rowLine.test(line))).toHaveLength(4);
    expect(run.lines.some((line) => line.startsWith('done 4/4 payouts paid'))).toBe(true);

    const again = runExample(SCRIPT, args);
    expect((await again.exited).code).toBe(0);
    expect(again.lines.filter((line) => line.endsWith('replayed (answered by the journal, no request sent)'))).toHaveLength(4);
    expect(again.lines).toContain('done 4/4 payouts paid (sent 0, replayed 4, failed 0, retries 0)');
  });

  // `script` (util-linux) gives the example a real terminal.
  it('redraws one bar in place on a terminal instead of printing a line per payout', async () => {
    const csv = await writeCsv('tty.csv', [201, 202, 203, 204]);
    const command = [process.execPath, '--import', 'tsx', SCRIPT, csv, '--api', api.url, '--journal', join(workdir, 'tty', 'intents.db')];
    // `script` gives the example a pseudo-terminal for stdout, as an interactive shell would.
    const run = spawnWatched('script', ['-q', '-e', '-c', command.map((arg) => `'${arg}'`).join(' '), '/dev/null']);
    const { code, stderr } = await run.exited;
    expect(code, stderr).toBe(0);
    expect(run.output).toContain('\r\x1b[2K[');
    expect(run.output).toMatch(/\] 4\/4 {2}sent \d · replayed \d · failed 0 · retries \d+/);
    expect(run.output).toContain('done 4/4 payouts paid');
    expect(run.output).not.toMatch(/^payout 20\d /m);
  });

  it('fits the bar and its counts into the terminal’s width', () => {
    const tally = { total: 25, sent: 9, replayed: 3, failed: 1, retries: 4 };
    const wide = renderBar(tally, 120);
    expect(wide).toMatch(/^\[█+░+\] 13\/25 {2}sent 9 · replayed 3 · failed 1 · retries 4$/);
    expect(wide.length).toBeLessThan(120);
    expect(renderBar(tally, 40).length).toBeLessThan(40);
    expect(renderBar({ ...tally, sent: 21 }, 80)).toMatch(/^\[█+\] 25\/25/);
  });
});
