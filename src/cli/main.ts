/**
 * The CLI as a function, so tests run it in-process: arguments in, text out through `out` and
 * `err`, an exit code back. A `CliError` is one line on stderr; anything else is a bug and throws.
 */
import { postgresDdl } from '../stores/postgres/ddl.js';
import { parseCommand } from './args.js';
import { CliError, UsageError } from './errors.js';
import { list } from './list.js';
import { USAGE } from './usage.js';

export async function main(argv: string[], out: (text: string) => void, err: (text: string) => void): Promise<number> {
  try {
    const command = parseCommand(argv);
    if (command.name === 'help') {
      out(USAGE);
      return 0;
    }
    // The DDL is text (ddl.ts imports nothing from `pg`): migrate needs no driver and no connection.
    if (command.name === 'migrate') out(postgresDdl(command.table, command.schema));
    else await list(command, out, err);
    return 0;
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    err(`durable-fetch: ${error.message}${error instanceof UsageError ? `\n\n${USAGE}` : ''}`);
    return error.exitCode;
  }
}
