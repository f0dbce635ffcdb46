// The PostgreSQL entry (durable-fetch/postgres): the fleet store, kept apart so only its users need `pg`.
export { postgresStore, postgresDdl } from './stores/postgres.js';
export type { PostgresStore, PostgresStoreOptions } from './stores/postgres.js';
