/**
 * The payouts file: `id,recipient,amount` with a header line, amounts in cents. Plain
 * comma-separated values, no quoting: ids and e-mail addresses need none.
 */
import { readFile } from 'node:fs/promises';

export interface PayoutRow {
  id: string;
  recipient: string;
  /** Cents. */
  amount: number;
}

export async function readPayouts(path: string): Promise<PayoutRow[]> {
  const lines = (await readFile(path, 'utf8')).split(/\r?\n/);
  const header = lines[0]?.trim();
  if (header !== 'id,recipient,amount') throw new Error(`${path}: the first line must be "id,recipient,amount", got "${header ?? ''}".`);
  const rows: PayoutRow[] = [];
  const seen = new Set<string>();
  lines.slice(1).forEach((line, index) => {
    if (line.trim() === '') return;
    const where = `${path}:${index + 2}`;
    const [id = '', recipient = '', amount = '', ...extra] = line.split(',').map((cell) => cell.trim());
    if (extra.length > 0 || !id || !recipient || !/^\d+$/.test(amount)) throw new Error(`${where}: expected "id,recipient,amount in cents", got "${line}".`);
    // The id becomes the idempotency key: two rows with one id would be one payout.
    if (seen.has(id)) throw new Error(`${where}: id ${id} appears twice.`);
    seen.add(id);
    rows.push({ id, recipient, amount: Number(amount) });
  });
  return rows;
}
