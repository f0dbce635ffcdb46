/**
 * The names postgresStore's tables and indexes go by, quoted for SQL text. Nothing here imports
 * `pg`: the DDL (ddl.ts), and so `durable-fetch migrate`, needs no database driver.
 */

export const DEFAULT_TABLE = 'durable_fetch_intents';

/** Where the store writes: the table's quoted name for SQL, and the NOTIFY channel it announces on. */
export interface TableName {
  /** `"schema"."table"` or `"table"`, safe to put in SQL text. */
  sql: string;
  /** `schema.table` or `table`, unquoted: for messages, the channel and the DDL lock. */
  text: string;
  /** The owners table beside it (`<table>_owners`, same schema), quoted: enlisted owners' signs of life. */
  owners: string;
  /** Index names are derived from it, quoted. */
  index(suffix: string): string;
  /** An index's name as `to_regclass` reads it (schema-qualified when the table is). */
  indexRef(suffix: string): string;
}

/** PostgreSQL truncates longer identifiers, and refuses longer NOTIFY channels. */
const MAX_IDENTIFIER_BYTES = 63;

export function tableName(table: string, schema?: string): TableName {
  for (const [option, name] of [['table', table], ['schema', schema]] as const) {
    if (name !== undefined && (name === '' || Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES - 8)) {
      throw new TypeError(`postgresStore: \`${option}\` must be 1 to ${MAX_IDENTIFIER_BYTES - 8} bytes, got "${name}".`);
    }
  }
  const text = schema === undefined ? table : `${schema}.${table}`;
  if (Buffer.byteLength(text) > MAX_IDENTIFIER_BYTES) {
    throw new TypeError(`postgresStore: "${text}" is longer than ${MAX_IDENTIFIER_BYTES} bytes, too long to name its NOTIFY channel.`);
  }
  const qualified = (name: string) => (schema === undefined ? quote(name) : `${quote(schema)}.${quote(name)}`);
  return {
    sql: qualified(table),
    text,
    owners: qualified(`${table}_owners`),
    index: (suffix) => quote(`${table}_${suffix}`),
    indexRef: (suffix) => qualified(`${table}_${suffix}`),
  };
}

/** A quoted SQL identifier: any name is safe in SQL text. */
export function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}
