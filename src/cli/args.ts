/**
 * The command line, read once into a command: everything after this works on checked values.
 * Connection URLs may carry passwords, so no message here repeats an argument that could be one.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_TABLE, tableName } from '../stores/postgres/names.js';
import { isKnownState, type IntentState } from '../stores/store.js';
import { UsageError } from './errors.js';
import type { JournalSource } from './journal-reader.js';
import { DEFAULT_SQLITE_PATH } from './sqlite-reader.js';

export type Command =
  | { name: 'help' }
  /** Prints the PostgreSQL DDL for teams that migrate by hand. */
  | { name: 'migrate'; table: string | undefined; schema: string | undefined }
  | {
      name: 'list';
      source: JournalSource;
      json: boolean;
      /** Only these states; every state when undefined. */
      states: IntentState[] | undefined;
      /** Names held secret besides the rule's (the clients' `secretParams`). */
      secretParams: string[];
    };

const OPTIONS = {
  json: { type: 'boolean' },
  state: { type: 'string', multiple: true },
  'secret-param': { type: 'string', multiple: true },
  postgres: { type: 'string' },
  table: { type: 'string' },
  schema: { type: 'string' },
  redis: { type: 'string' },
  'key-prefix': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseCommand(argv: string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { name: 'help' };
  const [name, ...paths] = positionals;
  if (name === undefined) throw new UsageError('a command is needed');
  if (name === 'migrate') {
    if (values.postgres === undefined) throw new UsageError('migrate prints the PostgreSQL table: give --postgres URL (and --table NAME if not the default)');
    checkTableName(values.table, values.schema);
    return { name, table: values.table, schema: values.schema };
  }
  if (name !== 'list') throw new UsageError(`unknown command "${name}"`);
  return {
    name,
    source: journalSource(paths, values),
    json: values.json ?? false,
    states: parseStates(values.state),
    secretParams: listValues(values['secret-param']).map((param) => param.toLowerCase()),
  };
}

interface SourceValues {
  postgres?: string | undefined;
  table?: string | undefined;
  schema?: string | undefined;
  redis?: string | undefined;
  'key-prefix'?: string | undefined;
}

function journalSource(paths: string[], values: SourceValues): JournalSource {
  const given = paths.length + Number(values.postgres !== undefined) + Number(values.redis !== undefined);
  if (given > 1) throw new UsageError('list reads one journal: give one path, or --postgres URL, or --redis URL');
  if (values.postgres !== undefined) {
    checkTableName(values.table, values.schema);
    return { kind: 'postgres', url: values.postgres, table: values.table, schema: values.schema };
  }
  if (values.redis !== undefined) return { kind: 'redis', url: values.redis, keyPrefix: values['key-prefix'] };
  const [path = DEFAULT_SQLITE_PATH] = paths;
  // A connection URL typed as a path would otherwise be echoed, password and all, as "no journal at …".
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    throw new UsageError('the path looks like a connection URL: a fleet store is read with --postgres URL or --redis URL');
  }
  return { kind: 'sqlite', path };
}

/** A --table or --schema PostgreSQL could not take (too long to name its NOTIFY channel, empty) is wrong usage. */
function checkTableName(table: string | undefined, schema: string | undefined): void {
  try {
    tableName(table ?? DEFAULT_TABLE, schema);
  } catch (error) {
    const message = (error as Error).message;
    throw new UsageError(message.replace(/^postgresStore: `(\w+)`/, '--$1').replace(/^postgresStore: /, '--schema with --table: ').replace(/\.$/, ''));
  }
}

/** `--x a --x b,c`: every value given, in order. */
function listValues(values: string[] | undefined): string[] {
  return (values ?? []).flatMap((value) => value.split(',')).map((item) => item.trim()).filter((item) => item !== '');
}

/** `--state a --state b,c`: every value, each a known state. */
function parseStates(values: string[] | undefined): IntentState[] | undefined {
  if (values === undefined) return undefined;
  const states = listValues(values);
  const unknown = states.find((state) => !isKnownState(state));
  if (unknown !== undefined) throw new UsageError(`--state must be pending, succeeded, failed or expired, not "${unknown}"`);
  return [...new Set(states as IntentState[])];
}
