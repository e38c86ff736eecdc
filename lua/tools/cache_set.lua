-- tools/cache_set: store a tool result under its parameters hash, with a Redis TTL (and count a computed miss).
-- KEYS[1] cache entry hash (sub-key of the tool, reported as kind 'toolcache', id '<tool>:<hash>')
-- KEYS[2] compute lock of the entry (same hash tag)
-- KEYS[3] stats hash of the tool
-- KEYS[4] ops hash (current generation) of the tool
-- KEYS[5] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel of the entry (kind 'toolcache'; '' = no event)
-- ARGV[3] entry id ('<tool>:<hash>')
-- ARGV[4] tool name
-- ARGV[5] parameters hash
-- ARGV[6] result (opaque JSON text)
-- ARGV[7] ttl in ms (> 0)
-- ARGV[8] lock token to release ('' = none)
-- ARGV[9] event channel of the tool (for the counted miss; '' = no event)
-- ARGV[10] '1' to count one miss (get_or_compute stores what it computed), else '0'
-- Reply: server time of creation in ms (string)
-- Mode: write
-- Memory: guarded; stores a result
-- Retry: safe; a replayed op id returns the first reply and writes (and counts) nothing.

--@include lib/core.lua
--@include lib/tool_cache.lua

local entry, lock, stats, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local op_id, channel, id, tool, hash, result, ttl, token, tool_channel, misses =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8], ARGV[9], tonumber(ARGV[10])

local replay = op_replay(ops, ops_prev, op_id)
if replay then return replay end

local now = now_ms()
redis.call('DEL', entry)
redis.call('HSET', entry, 'tool', tool, 'hash', hash, 'result', result, 'created', now, 'ttl_ms', ttl)
redis.call('PEXPIRE', entry, ttl)
if token ~= '' and redis.call('GET', lock) == token then
  redis.call('DEL', lock)
end

publish(channel, {key = id, op = 'set', tool = tool, hash = hash})
if misses > 0 then tool_cache_count(stats, tool_channel, tool, 'miss') end
op_remember(ops, ops_prev, op_id, tostring(now))
return tostring(now)
