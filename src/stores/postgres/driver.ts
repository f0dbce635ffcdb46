import type PgModule from 'pg';
import { loadPeer } from '../../peer.js';

/** `pg`'s classes, from the optional peer; its types come from `import type pg from 'pg'`. */
export const { Client, Pool } = loadPeer<typeof PgModule>('pg', 'durable-fetch/postgres');
