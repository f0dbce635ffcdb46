import { createHash } from 'node:crypto';
import { RESP_TYPES } from './driver.js';
import { type IntentState, LATEST_INSTANT, UNSETTLED_STATES, isCompactable } from '../store.js';
import type { RedisClient } from './options.js';
import { SUMMARY_FIELDS } from './records.js';

/**
 * The store's questions as Lua scripts: Redis runs each one alone, so every multi-key step
 * (create-if-absent, compare-and-set, claim, compact) is atomic, and with `appendfsync always`
 * its effects reach the AOF as one transaction before Redis answers. Every instant is the
 * server's `TIME`, read as the script runs.
 *
 * The key layout lives here only, in the prelude every script starts with (ARGV[1] is the prefix):
 *   <prefix>intent:<byte length of scope>:<scope>:<id>  hash: the intent's fields (see records.ts),
 *                               and `order`, its place in the order of creation
 *   <prefix>created:<scope>     sorted set: every id of the scope, by order (for list)
 *   <prefix>unsettled:<scope>   sorted set: ids of pending and expired intents, by order (for list)
 *   <prefix>ready:<scope>       sorted set: unsettled intents nobody holds, by order (claims take these)
 *   <prefix>owned:<scope>       sorted set: unsettled intents with an owner, by leaseUntil
 *   <prefix>parked:<scope>      sorted set: unsettled intents nobody may claim yet, by leaseUntil
 *   <prefix>settled             sorted set: intent keys of succeeded and failed intents, by expiresAt (for compact)
 *   <prefix>scopes              set: the scopes that hold intents
 *   <prefix>order               string: `<ms>:<n>`, the last creation's instant and its rank within that ms
 *   <prefix>layout              string: the version of this layout the indexes follow
 *   <prefix>presences           hash: presence id -> `<run id> <epoch>` of its last registration
 *   <prefix>owners:<presence>   set: the enlisted owners a presence speaks for
 *   <prefix>absences            hash: presence id -> `<run id> <epoch> <since>`: seen absent since
 *   <prefix>registrations       counter: the epochs of registrations
 *   <prefix>claimable           pub/sub channel: an intent nobody holds became pending (or expired)
 * Keys are computed inside the scripts, so the store needs one Redis server (replicas are fine),
 * not a Redis Cluster.
 *
 * Order: claims and lists go oldest `createdAt` first, ties in the order intents were created.
 * Sorted sets break ties of score by member, so the score is `order` = createdAt × 1024 + the
 * rank of the creation within its millisecond (across the prefix). Scores stay below 2^53 (exact
 * in a double) until the year 2248; a 1024th creation within one millisecond, which one Redis
 * cannot run, would share the rank 1023.
 *
 * Which states count as settled or unsettled comes from store.ts, written into the prelude; a
 * state this version does not know is in neither index, so it is never claimed or compacted.
 * So does the reading rule's range of times: an intent whose times or counts are no numbers in
 * range (a hash written by hand) is damaged — kept in the list indexes, where `list` finds it and
 * tells of it, and in none that claims or compaction read, so it is never taken, changed or deleted.
 */

/** Every state, checked complete by the compiler: the source for the prelude's state tables. */
const STATES = Object.keys({ pending: 1, succeeded: 1, failed: 1, expired: 1 } satisfies Record<IntentState, 1>) as IntentState[];
const SETTLED_STATES = STATES.filter((state) => isCompactable({ state, expiresAt: 0 }, 0));

/** The layout the scripts below read and write; MIGRATE brings older journals to it. */
export const LAYOUT = 2;

const luaSet = (names: readonly string[]) => `{ ${names.map((name) => `[${JSON.stringify(name)}] = true`).join(', ')} }`;
const luaList = (names: readonly string[]) => `{ ${names.map((name) => JSON.stringify(name)).join(', ')} }`;

const PRELUDE = `
local prefix = ARGV[1]
local UNSETTLED = ${luaSet(UNSETTLED_STATES)}
local SETTLED = ${luaSet(SETTLED_STATES)}
local SUMMARY_FIELDS = ${luaList(SUMMARY_FIELDS)}
local SETTLED_KEY = prefix .. 'settled'
local SCOPES_KEY = prefix .. 'scopes'
local ORDER_KEY = prefix .. 'order'
local LAYOUT_KEY = prefix .. 'layout'
local PRESENCES = prefix .. 'presences'
local ABSENCES = prefix .. 'absences'
local REGISTRATIONS = prefix .. 'registrations'
local CHANNEL = prefix .. 'claimable'
local function intent_key(scope, id) return prefix .. 'intent:' .. #scope .. ':' .. scope .. ':' .. id end
local function created_key(scope) return prefix .. 'created:' .. scope end
local function unsettled_key(scope) return prefix .. 'unsettled:' .. scope end
local function ready_key(scope) return prefix .. 'ready:' .. scope end
local function owned_key(scope) return prefix .. 'owned:' .. scope end
local function parked_key(scope) return prefix .. 'parked:' .. scope end
local function owners_key(presence) return prefix .. 'owners:' .. presence end
-- The server's clock in epoch ms, read as the script runs: every instant a record holds is on it.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- store.ts's reading rule for what a claim or compaction reads: times are whole ms from 0 to
-- LATEST_INSTANT, counts whole numbers; a hash with anything else is damaged and left alone.
local LATEST = ${LATEST_INSTANT}
local function whole_in(value, most)
  local n = tonumber(value)
  return n ~= nil and n == n and n >= 0 and n <= most and n == math.floor(n)
end
local function readable(key)
  for _, value in ipairs(redis.call('HMGET', key, 'createdAt', 'updatedAt', 'expiresAt', 'leaseUntil')) do
    if not whole_in(value, LATEST) then return false end
  end
  for _, value in ipairs(redis.call('HMGET', key, 'attempts', 'version')) do
    if not whole_in(value, 9007199254740991) then return false end
  end
  return true
end
-- Whole numbers as Redis should store them: Lua 5.1 writes numbers with 14 significant digits.
local function whole(n) return string.format('%.0f', n) end
-- This run of the server (a restart gives a new one), and its uptime in whole seconds.
local function server_run()
  local info = redis.call('INFO', 'server')
  return string.match(info, 'run_id:(%w+)'), tonumber(string.match(info, 'uptime_in_seconds:(%d+)'))
end

-- Files the intent under its state and holder, and announces one that is free to be sent.
local function reindex(key, scope, id, now, quiet)
  local state, order, expiresAt, owner, lease = unpack(redis.call('HMGET', key, 'state', 'order', 'expiresAt', 'owner', 'leaseUntil'))
  local ready, owned, parked = ready_key(scope), owned_key(scope), parked_key(scope)
  local sound = readable(key)
  if UNSETTLED[state] then
    redis.call('ZADD', unsettled_key(scope), order, id)
    if not sound then
      -- Damaged: listed (and told of), never claimed.
      for _, index in ipairs({ ready, owned, parked }) do redis.call('ZREM', index, id) end
    elseif owner then
      redis.call('ZADD', owned, lease, id)
      redis.call('ZREM', ready, id)
      redis.call('ZREM', parked, id)
    elseif tonumber(lease) > now then
      redis.call('ZADD', parked, lease, id)
      redis.call('ZREM', ready, id)
      redis.call('ZREM', owned, id)
    else
      redis.call('ZADD', ready, order, id)
      redis.call('ZREM', owned, id)
      redis.call('ZREM', parked, id)
      if not quiet then redis.call('PUBLISH', CHANNEL, scope) end
    end
  else
    for _, index in ipairs({ unsettled_key(scope), ready, owned, parked }) do redis.call('ZREM', index, id) end
  end
  if SETTLED[state] and sound then redis.call('ZADD', SETTLED_KEY, expiresAt, key) else redis.call('ZREM', SETTLED_KEY, key) end
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
-- Its rank among the creations of this millisecond: ties of createdAt keep the order of creation.
local rank = 0
local last_ms, last_rank = string.match(redis.call('GET', ORDER_KEY) or '', '^(%d+):(%d+)$')
if tonumber(last_ms) == now then rank = math.min(tonumber(last_rank) + 1, 1023) end
redis.call('SET', ORDER_KEY, now .. ':' .. rank)
local order = whole(now * 1024 + rank)
local expiresAt, leaseUntil, owner = unpack(redis.call('HMGET', key, 'expiresAt', 'leaseUntil', 'owner'))
redis.call('HSET', key, 'version', 1, 'createdAt', now, 'updatedAt', now, 'expiresAt', now + tonumber(expiresAt), 'order', order)
if owner then redis.call('HSET', key, 'leaseUntil', now + tonumber(leaseUntil)) end
redis.call('SADD', SCOPES_KEY, scope)
redis.call('ZADD', created_key(scope), order, id)
reindex(key, scope, id, now)
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
reindex(key, scope, id, now)
return version
`);

/**
 * ARGV: prefix, scope, owner, lease ms, limit, id ('' for any), unchanged before ('' for any),
 * grace ms, the snapshot's instant ('' for none), ids to leave (a JSON array), number of presences, then per presence its id,
 * its registration in the snapshot and '1' if its connection was listed ('0' if not), number of
 * origins, origin, …, state, ….
 *
 * Takes the oldest matching intents (order) that nobody holds: their lease has ended on the
 * server's clock, or their owner is gone. Resolves { each taken intent's fields and values, ms
 * until an absent presence may be judged gone (-1: none is pending) }.
 *
 * An owner is gone when it was released (no longer registered), or when its presence — the
 * connection its store keeps open — has been absent from two snapshots of the server's client
 * list a grace apart, with no registration in between (every reconnection registers again), and
 * was registered in this run of the server: an absence that began before a restart is never
 * counted, and such an owner is left to its lease.
 *
 * Restart guard: an owned intent last written before the server started (so before a restart)
 * keeps its lease until the server has been up the claimant's lease: its owner, who could not
 * renew while the server was away, gets that long to reconnect and renew. uptime_in_seconds may
 * run up to a second ahead of the true uptime, so the start is placed a second later than it says.
 */
export const CLAIM = script(`
local scope, owner, leaseMs, limit = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local only, before, grace, seen_at = ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local excluded = {}
for _, id in ipairs(cjson.decode(ARGV[10])) do excluded[id] = true end
local listed, absent = {}, {}
local at = 11
local presences = tonumber(ARGV[at])
for i = 0, presences - 1 do
  local presence, registration, here = ARGV[at + 1 + 3 * i], ARGV[at + 2 + 3 * i], ARGV[at + 3 + 3 * i]
  if here == '1' then listed[presence] = true else absent[presence] = registration end
end
at = at + 1 + 3 * presences
local origins, states = {}, {}
local states_from = at + 1 + tonumber(ARGV[at])
for i = at + 1, states_from - 1 do origins[ARGV[i]] = true end
for i = states_from, #ARGV do states[ARGV[i]] = true end

local now = now_ms()
local run, uptime = server_run()
local started = now - math.max(uptime - 1, 0) * 1000
local wake

-- A presence listed in the snapshot ends any absence seen before it.
for presence in pairs(listed) do
  local record = redis.call('HGET', ABSENCES, presence)
  if record and tonumber(string.match(record, '(%d+)$')) < seen_at then redis.call('HDEL', ABSENCES, presence) end
end

local function presence_gone(presence, registration)
  -- Listed, registered after the snapshot, or registered again since: not absent.
  if absent[presence] ~= registration then return false end
  -- Absent since before the server's restart: not judged.
  if string.match(registration, '^(%S+)') ~= run then return false end
  local record = redis.call('HGET', ABSENCES, presence)
  local since = record and string.sub(record, 1, #registration + 1) == registration .. ' ' and tonumber(string.sub(record, #registration + 2))
  if not since then
    since = seen_at
    redis.call('HSET', ABSENCES, presence, registration .. ' ' .. ARGV[9])
  end
  if seen_at - since >= grace then
    -- Gone: forgotten, so later claims need no snapshot to know. A presence that comes back registers again.
    redis.call('HDEL', PRESENCES, presence)
    redis.call('DEL', owners_key(presence))
    redis.call('HDEL', ABSENCES, presence)
    return true
  end
  wake = math.min(wake or math.huge, since + grace)
  return false
end

local verdicts = {}
local function owner_gone(holder)
  local verdict = verdicts[holder]
  if verdict ~= nil then return verdict end
  verdict = false
  local presence, name = string.match(holder, '^durable%-fetch/([%w%-]+)/([%w%-]+)$')
  if presence then
    local registration = redis.call('HGET', PRESENCES, presence)
    verdict = not registration or redis.call('SISMEMBER', owners_key(presence), name) == 0 or presence_gone(presence, registration)
  end
  verdicts[holder] = verdict
  return verdict
end

-- Whether nobody holds it: its lease has ended (and is not guarded after a restart), or its owner is gone.
local function free(holder, lease, updated)
  if tonumber(lease) <= now and (not holder or tonumber(updated) >= started or now >= started + leaseMs) then return true end
  return holder and owner_gone(holder)
end

local function eligible(id)
  if excluded[id] or not readable(intent_key(scope, id)) then return false end
  local state, origin, lease, updated, holder = unpack(redis.call('HMGET', intent_key(scope, id), 'state', 'origin', 'leaseUntil', 'updatedAt', 'owner'))
  return states[state] and origins[origin] and (not before or tonumber(updated) < before) and free(holder, lease, updated)
end

local taken = {}
local function take(id)
  local key = intent_key(scope, id)
  redis.call('HSET', key, 'owner', owner, 'leaseUntil', now + leaseMs, 'updatedAt', now)
  redis.call('HINCRBY', key, 'version', 1)
  reindex(key, scope, id, now)
  taken[#taken + 1] = redis.call('HGETALL', key)
end

local function answer()
  return { taken, wake and math.max(wake - now, 0) or -1 }
end

if only ~= '' then
  if limit > 0 and redis.call('ZSCORE', unsettled_key(scope), only) and eligible(only) then take(only) end
  return answer()
end

-- Parked intents whose wait is over join the ready ones, once each.
local ready, parked = ready_key(scope), parked_key(scope)
for _, id in ipairs(redis.call('ZRANGEBYSCORE', parked, '-inf', now)) do
  redis.call('ZREM', parked, id)
  local order = redis.call('HGET', intent_key(scope, id), 'order')
  if order then redis.call('ZADD', ready, order, id) end
end

-- Owned intents that are free (lease over, owner gone), oldest first: few, as only intents in flight are owned.
local freed = {}
for _, id in ipairs(redis.call('ZRANGE', owned_key(scope), 0, -1)) do
  if eligible(id) then freed[#freed + 1] = { tonumber(redis.call('HGET', intent_key(scope, id), 'order')), id } end
end
table.sort(freed, function(a, b) return a[1] < b[1] end)

-- Merged with the ready ones in order. Taking one removes it from ready, so the offset counts only those left.
local offset, chunk, next_in_chunk, exhausted, f = 0, {}, 1, false, 1
while #taken < limit do
  if next_in_chunk > #chunk and not exhausted then
    chunk = redis.call('ZRANGE', ready, offset, offset + 99, 'WITHSCORES')
    next_in_chunk = 1
    exhausted = #chunk == 0
  end
  local id, order = chunk[next_in_chunk], tonumber(chunk[next_in_chunk + 1])
  local other = freed[f]
  if not id and not other then break end
  if other and (not id or other[1] < order) then
    take(other[2])
    f = f + 1
  else
    next_in_chunk = next_in_chunk + 2
    if eligible(id) then take(id) else offset = offset + 1 end
  end
end
return answer()
`);

/**
 * ARGV: prefix, '1' and a scope (or '0' and '' for every scope), index ('unsettled' or
 * 'created'), state, … (none: every state). Resolves rows of SUMMARY_FIELDS and the order, oldest first.
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
    if row[1] and (any_state or states[row[${SUMMARY_FIELDS.indexOf('state') + 1}]]) then
      row[#SUMMARY_FIELDS + 1] = redis.call('HGET', intent_key(scope, id), 'order')
      rows[#rows + 1] = row
    end
  end
end
if #scopes > 1 then
  local function order(row) return tonumber(row[#SUMMARY_FIELDS + 1]) or 0 end
  table.sort(rows, function(a, b) return order(a) < order(b) end)
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
  if SETTLED[state] and readable(key) and tonumber(expiresAt) <= now then
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

/**
 * ARGV: prefix. Brings a journal written with the first layout (indexes by createdAt, no ready,
 * owned or parked sets) to this one, in one pass: Redis serves nobody else meanwhile. Resolves
 * the layout found; one newer than this version's is left alone (the store refuses it).
 */
export const MIGRATE = script(`
local found = tonumber(redis.call('GET', LAYOUT_KEY) or '1')
if found >= ${LAYOUT} then return found end
local now = now_ms()
for _, scope in ipairs(redis.call('SMEMBERS', SCOPES_KEY)) do
  -- The first layout scored by createdAt and broke ties by id: ranks within a millisecond keep that.
  local ids = redis.call('ZRANGE', created_key(scope), 0, -1, 'WITHSCORES')
  local last, rank = nil, 0
  for i = 1, #ids, 2 do
    local id, createdAt = ids[i], tonumber(ids[i + 1])
    if createdAt == last then rank = math.min(rank + 1, 1023) else last, rank = createdAt, 0 end
    local key = intent_key(scope, id)
    local order = whole(createdAt * 1024 + rank)
    redis.call('HSET', key, 'order', order)
    redis.call('ZADD', created_key(scope), order, id)
    reindex(key, scope, id, now, true)
  end
end
redis.call('SET', LAYOUT_KEY, ${LAYOUT})
return found
`);

/**
 * ARGV: prefix, presence id, owner name, …. Run on the presence's own connection each time it
 * connects, and when its owners change: the presence is registered in this run of the server
 * with a new epoch (so absences seen before count no more), speaking for exactly these owners.
 */
export const REGISTER = script(`
local presence = ARGV[2]
local run = server_run()
redis.call('HSET', PRESENCES, presence, run .. ' ' .. redis.call('INCR', REGISTRATIONS))
redis.call('DEL', owners_key(presence))
if #ARGV > 2 then redis.call('SADD', owners_key(presence), unpack(ARGV, 3)) end
redis.call('HDEL', ABSENCES, presence)
return 1
`);

/** ARGV: prefix, presence id. The presence's last owner is released: it and its owners are forgotten, so each is gone. */
export const UNREGISTER = script(`
local presence = ARGV[2]
redis.call('HDEL', PRESENCES, presence)
redis.call('DEL', owners_key(presence))
redis.call('HDEL', ABSENCES, presence)
return 1
`);

/** Which index a list scans: the unsettled one when only unsettled states are asked for. */
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
