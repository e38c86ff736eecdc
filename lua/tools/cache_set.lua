-- tools/cache_set: store a tool result under its parameters hash, with a Redis TTL.
-- KEYS[1] cache entry hash (its own entity, kind 'toolcache', id '<tool>:<hash>')
-- KEYS[2] compute lock of the entry (same hash tag)
-- KEYS[3] ops hash
-- KEYS[4] ops order list
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] entry id ('<tool>:<hash>')
-- ARGV[4] tool name
-- ARGV[5] parameters hash
-- ARGV[6] result (opaque JSON text)
-- ARGV[7] ttl in ms (> 0)
-- ARGV[8] lock token to release ('' = none)
-- Reply: server time of creation in ms (string)
-- Mode: write
-- Retry: safe; a replayed op id returns the first reply and writes nothing.

--@include lib/core.lua

local entry, lock, ops, order = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local op_id, channel, id, tool, hash, result, ttl, token =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8]

local replay = op_replay(ops, op_id)
if replay then return replay end

local now = now_ms()
redis.call('DEL', entry)
redis.call('HSET', entry, 'tool', tool, 'hash', hash, 'result', result, 'created', now, 'ttl_ms', ttl)
redis.call('PEXPIRE', entry, ttl)
if token ~= '' and redis.call('GET', lock) == token then
  redis.call('DEL', lock)
end

publish(channel, {key = id, op = 'set', tool = tool, hash = hash})
op_remember(ops, order, op_id, tostring(now))
return tostring(now)
