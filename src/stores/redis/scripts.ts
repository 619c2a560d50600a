/**
 * The Lua scripts that make each multi-key change one atomic step on the Redis server.
 * Record keys are derived inside the scripts from the stored hash, so with Redis Cluster every
 * key of the store must live in one slot: give the prefix a hash tag, e.g. `"{apikeys}:"`.
 *
 * @module
 */

/**
 * KEYS: record, id, account. ARGV: hash, record JSON, lastUsedAt, revokedAt, revokedReason,
 * createdAt, rotatedFromId ('' for none), record key prefix. Returns 1, 0 for a stored id or hash,
 * -1 for a successor of a key that already has a live one in the account (not revoked, or only by
 * a rotation): checked in the same step, so two servers rotating a key at once get one successor.
 * @internal
 */
export const INSERT = `
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if ARGV[7] ~= '' then
  for _, h in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
    local f = redis.call('HMGET', ARGV[8] .. h, 'record', 'revokedAt', 'revokedReason')
    if f[1] and cjson.decode(f[1]).rotatedFromId == ARGV[7] and ((not f[2]) or f[3] == 'rotated') then return -1 end
  end
end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'record', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'lastUsedAt', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'revokedAt', ARGV[4], 'revokedReason', ARGV[5]) end
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
return 1
`;

/** KEYS: id. ARGV: record key prefix. Returns HGETALL of the record, or nil. @internal */
export const GET_BY_ID = `
local hash = redis.call('GET', KEYS[1])
if not hash then return false end
return redis.call('HGETALL', ARGV[1] .. hash)
`;

/** KEYS: account. ARGV: record key prefix. Returns a list of HGETALL replies, oldest first. @internal */
export const LIST_BY_ACCOUNT = `
local out = {}
for _, hash in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  out[#out + 1] = redis.call('HGETALL', ARGV[1] .. hash)
end
return out
`;

/**
 * KEYS: id. ARGV: at (ms), reason, record key prefix, channel, id. Returns { changed (0/1), HGETALL }.
 * Only an earlier time wins, and a rotation's grace never replaces a revocation for another reason
 * (see replacesRevocation); a change is published in the same step, so no reader can see the
 * revocation before the announcement is on its way.
 * @internal
 */
export const REVOKE = `
local hash = redis.call('GET', KEYS[1])
if not hash then return false end
local key = ARGV[3] .. hash
local current = redis.call('HGET', key, 'revokedAt')
local changed = 0
if (not current) or (tonumber(current) > tonumber(ARGV[1])
    and not (ARGV[2] == 'rotated' and redis.call('HGET', key, 'revokedReason') ~= 'rotated')) then
  redis.call('HSET', key, 'revokedAt', ARGV[1], 'revokedReason', ARGV[2])
  redis.call('PUBLISH', ARGV[4], cjson.encode({ id = ARGV[5], hash = hash }))
  changed = 1
end
return { changed, redis.call('HGETALL', key) }
`;

/** KEYS: ids. ARGV[1]: record key prefix; ARGV[i + 1]: the time for KEYS[i] (ms). Never moves back. @internal */
export const RECORD_USAGE = `
for i, idKey in ipairs(KEYS) do
  local hash = redis.call('GET', idKey)
  if hash then
    local key = ARGV[1] .. hash
    local current = redis.call('HGET', key, 'lastUsedAt')
    if (not current) or tonumber(current) < tonumber(ARGV[i + 1]) then
      redis.call('HSET', key, 'lastUsedAt', ARGV[i + 1])
    end
  end
end
return #KEYS
`;

// The Redis server's clock in ms, for presence scores: every process reads the same clock, so a
// listener whose own clock runs behind is not taken for one that stopped beating. Scripts that
// read TIME and then write are replicated by their effects (the default since Redis 5; asked for
// explicitly where the call still exists, as on older servers).
const SERVER_MS = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: listeners. ARGV: member, '1' to also sweep entries older than a day. Notes the member as
 * listening now, on the server's clock. Returns that time. @internal
 */
export const NOTE_PRESENCE = `${SERVER_MS}
redis.call('ZADD', KEYS[1], now, ARGV[1])
if ARGV[2] == '1' then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 86400000) end
return now
`;

/** KEYS: listeners. ARGV: ttl ms. The members noted within the last ttl ms, on the server's clock. @internal */
export const PRESENT = `${SERVER_MS}
return redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf')
`;
