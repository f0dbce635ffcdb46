import { createHash } from 'node:crypto';
import { RESP_TYPES } from 'redis';
import { type IntentState, UNSETTLED_STATES, isCompactable } from '../store.js';
import type { RedisClient } from './options.js';
import { SUMMARY_FIELDS } from './records.js';

/**
 * The store's questions as Lua scripts: Redis runs each one alone, so every multi-key step
 * (create-if-absent, compare-and-set, claim, compact) is atomic, and with `appendfsync always`
 * its effects reach the AOF as one transaction before Redis answers.
 *
 * The key layout lives here only, in the prelude every script starts with (ARGV[1] is the prefix):
 *   <prefix>intent:<byte length of scope>:<scope>:<id>  hash: the intent's fields (see records.ts)
 *   <prefix>created:<scope>     sorted set: every id of the scope, by createdAt (for list)
 *   <prefix>unsettled:<scope>   sorted set: ids of pending and expired intents, by createdAt (for claim)
 *   <prefix>settled             sorted set: intent keys of succeeded and failed intents, by expiresAt (for compact)
 *   <prefix>scopes              set: the scopes that hold intents
 *   <prefix>claimable           pub/sub channel: an intent nobody owns became pending (or expired)
 * Keys are computed inside the scripts, so the store needs one Redis server (replicas are fine),
 * not a Redis Cluster.
 *
 * Which states count as settled or unsettled comes from store.ts, written into the prelude; a
 * state this version does not know is in neither index, so it is never claimed or compacted.
 */

/** Every state, checked complete by the compiler: the source for the prelude's state tables. */
const STATES = Object.keys({ pending: 1, succeeded: 1, failed: 1, expired: 1 } satisfies Record<IntentState, 1>) as IntentState[];
const SETTLED_STATES = STATES.filter((state) => isCompactable({ state, expiresAt: 0 }, 0));

const luaSet = (names: readonly string[]) => `{ ${names.map((name) => `[${JSON.stringify(name)}] = true`).join(', ')} }`;
const luaList = (names: readonly string[]) => `{ ${names.map((name) => JSON.stringify(name)).join(', ')} }`;

const PRELUDE = `
local prefix = ARGV[1]
local UNSETTLED = ${luaSet(UNSETTLED_STATES)}
local SETTLED = ${luaSet(SETTLED_STATES)}
local SUMMARY_FIELDS = ${luaList(SUMMARY_FIELDS)}
local SETTLED_KEY = prefix .. 'settled'
local SCOPES_KEY = prefix .. 'scopes'
local CHANNEL = prefix .. 'claimable'
local function intent_key(scope, id) return prefix .. 'intent:' .. #scope .. ':' .. scope .. ':' .. id end
local function created_key(scope) return prefix .. 'created:' .. scope end
local function unsettled_key(scope) return prefix .. 'unsettled:' .. scope end
-- The server's clock in epoch ms, read as the script runs: every instant a record holds is on it.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Files the intent under its state, and announces one that nobody owns and is waiting to be sent.
local function reindex(key, scope, id)
  local state, createdAt, expiresAt, owner = unpack(redis.call('HMGET', key, 'state', 'createdAt', 'expiresAt', 'owner'))
  if UNSETTLED[state] then
    redis.call('ZADD', unsettled_key(scope), createdAt, id)
    if not owner then redis.call('PUBLISH', CHANNEL, scope) end
  else
    redis.call('ZREM', unsettled_key(scope), id)
  end
  if SETTLED[state] then redis.call('ZADD', SETTLED_KEY, expiresAt, key) else redis.call('ZREM', SETTLED_KEY, key) end
end
`;

/** ARGV: prefix, scope, id. Resolves the intent's fields and values, or an empty array. */
export const GET = script(`
return redis.call('HGETALL', intent_key(ARGV[2], ARGV[3]))
`);

/**
 * ARGV: prefix, scope, id, field, value, …, with the times re-based on 0 (see rebased in store.ts). Resolves nil
 * when created (its times moved onto the server's clock), else the existing intent's fields.
 */
export const CREATE = script(`
local scope, id = ARGV[2], ARGV[3]
local key = intent_key(scope, id)
local existing = redis.call('HGETALL', key)
if #existing > 0 then return existing end
redis.call('HSET', key, unpack(ARGV, 4))
local now = now_ms()
local expiresAt, leaseUntil, owner = unpack(redis.call('HMGET', key, 'expiresAt', 'leaseUntil', 'owner'))
redis.call('HSET', key, 'version', 1, 'createdAt', now, 'updatedAt', now, 'expiresAt', now + tonumber(expiresAt))
if owner then redis.call('HSET', key, 'leaseUntil', now + tonumber(leaseUntil)) end
redis.call('SADD', SCOPES_KEY, scope)
redis.call('ZADD', created_key(scope), redis.call('HGET', key, 'createdAt'), id)
reindex(key, scope, id)
return false
`);

/**
 * ARGV: prefix, scope, id, version, lease ms ('' for none), number of fields to set, field, value,
 * …, field to delete, …. Resolves the new version, or nil when the intent is gone or at another version.
 */
export const UPDATE = script(`
local scope, id = ARGV[2], ARGV[3]
local key = intent_key(scope, id)
if redis.call('HGET', key, 'version') ~= ARGV[4] then return false end
local now = now_ms()
local last = 6 + 2 * tonumber(ARGV[6])
if last > 6 then redis.call('HSET', key, unpack(ARGV, 7, last)) end
if #ARGV > last then redis.call('HDEL', key, unpack(ARGV, last + 1)) end
redis.call('HSET', key, 'updatedAt', now)
if ARGV[5] ~= '' then redis.call('HSET', key, 'leaseUntil', now + tonumber(ARGV[5])) end
local version = redis.call('HINCRBY', key, 'version', 1)
reindex(key, scope, id)
return version
`);

/**
 * ARGV: prefix, scope, owner, lease ms, limit, index ('unsettled' or 'created'), id ('' for any),
 * unchanged before ('' for any), ids to leave (JSON array), number of origins, origin, …, state, …. Takes the oldest
 * matching intents whose lease has ended on the server's clock; resolves each one's fields and values.
 */
export const CLAIM = script(`
local scope, owner, leaseMs, limit = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local index = ARGV[6] == 'unsettled' and unsettled_key(scope) or created_key(scope)
local only, before = ARGV[7], tonumber(ARGV[8])
local excluded = {}
for _, id in ipairs(cjson.decode(ARGV[9])) do excluded[id] = true end
local origins, states = {}, {}
local states_from = 11 + tonumber(ARGV[10])
for i = 11, states_from - 1 do origins[ARGV[i]] = true end
for i = states_from, #ARGV do states[ARGV[i]] = true end
local now = now_ms()
local taken, start = {}, 0
local function try(id)
  local key = intent_key(scope, id)
  local state, origin, lease, updated = unpack(redis.call('HMGET', key, 'state', 'origin', 'leaseUntil', 'updatedAt'))
  if states[state] and origins[origin] and tonumber(lease) <= now and (not before or tonumber(updated) < before) and not excluded[id] then
    redis.call('HSET', key, 'owner', owner, 'leaseUntil', now + leaseMs, 'updatedAt', now)
    redis.call('HINCRBY', key, 'version', 1)
    taken[#taken + 1] = redis.call('HGETALL', key)
  end
end
if only ~= '' then
  if limit > 0 and redis.call('ZSCORE', index, only) then try(only) end
  return taken
end
while #taken < limit do
  local ids = redis.call('ZRANGE', index, start, start + 99)
  if #ids == 0 then break end
  for _, id in ipairs(ids) do
    try(id)
    if #taken == limit then break end
  end
  start = start + 100
end
return taken
`);

/**
 * ARGV: prefix, '1' and a scope (or '0' and '' for every scope), index ('unsettled' or
 * 'created'), state, … (none: every state). Resolves rows of SUMMARY_FIELDS, oldest first.
 */
export const LIST = script(`
local scopes = ARGV[2] == '1' and { ARGV[3] } or redis.call('SMEMBERS', SCOPES_KEY)
local states, any_state = {}, #ARGV < 5
for i = 5, #ARGV do states[ARGV[i]] = true end
local rows = {}
for _, scope in ipairs(scopes) do
  local index = ARGV[4] == 'unsettled' and unsettled_key(scope) or created_key(scope)
  for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    local row = redis.call('HMGET', intent_key(scope, id), unpack(SUMMARY_FIELDS))
    if row[1] and (any_state or states[row[${SUMMARY_FIELDS.indexOf('state') + 1}]]) then rows[#rows + 1] = row end
  end
end
if #scopes > 1 then
  local created = ${SUMMARY_FIELDS.indexOf('createdAt') + 1}
  table.sort(rows, function(a, b) return tonumber(a[created]) < tonumber(b[created]) end)
end
return rows
`);

/**
 * ARGV: prefix, batch size. Deletes up to a batch of settled intents whose expiresAt has come on
 * the server's clock; resolves { deleted, looked at } (fewer looked at than the batch size: nothing is left).
 */
export const COMPACT = script(`
local now = now_ms()
local keys = redis.call('ZRANGEBYSCORE', SETTLED_KEY, '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local deleted = 0
for _, key in ipairs(keys) do
  local state, expiresAt, scope, id = unpack(redis.call('HMGET', key, 'state', 'expiresAt', 'scope', 'id'))
  if SETTLED[state] and tonumber(expiresAt) <= now then
    redis.call('DEL', key)
    redis.call('ZREM', created_key(scope), id)
    if redis.call('ZCARD', created_key(scope)) == 0 then redis.call('SREM', SCOPES_KEY, scope) end
    deleted = deleted + 1
  end
  -- Deleted, or rewritten by a newer version in a state this one does not know: either way not ours to compact.
  redis.call('ZREM', SETTLED_KEY, key)
end
return { deleted, #keys }
`);

/** Which index a claim or list scans: the unsettled one when only unsettled states are asked for. */
export function indexFor(states: readonly IntentState[] | undefined): 'unsettled' | 'created' {
  return states && states.every((state) => UNSETTLED_STATES.includes(state)) ? 'unsettled' : 'created';
}

export interface Script {
  source: string;
  sha: string;
}

function script(body: string): Script {
  const source = PRELUDE + body;
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Bulk strings as Buffers: bodies are bytes, and every other field is decoded from UTF-8 by records.ts. */
const BINARY = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } };

/** Runs a script by its SHA1, sending its source only when Redis has not cached it (first use, or after a restart). */
export async function runScript(client: RedisClient, script: Script, args: readonly (string | Buffer)[]): Promise<unknown> {
  try {
    return await client.sendCommand(['EVALSHA', script.sha, '0', ...args], BINARY);
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
    return client.sendCommand(['EVAL', script.source, '0', ...args], BINARY);
  }
}
