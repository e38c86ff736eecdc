-- tools/cache_set: store a tool result under its parameters hash, with a Redis TTL (and count a computed miss).
-- KEYS[1] base key of the tool (nothing is stored there)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] stats hash
-- KEYS[5] execution history (sorted set of execution ids, score = start sequence)
-- KEYS[6] execution hash key prefix (same hash tag)
-- KEYS[7] cache entry key prefix (same hash tag)
-- KEYS[8] compute lock key prefix (same hash tag)
-- ARGV[1] op id
-- ARGV[2] event channel of the tool ('' = no event)
-- ARGV[3] tool name
-- ARGV[4] the entry's escaped parameters hash (its hash is KEYS[7], its lock KEYS[8], followed by it)
-- ARGV[5] parameters hash
-- ARGV[6] event channel of the entry (kind 'toolcache', id '<tool>:<hash>'; '' = no event)
-- ARGV[7] result (opaque JSON text)
-- ARGV[8] ttl in ms (> 0)
-- ARGV[9] lock token to release ('' = none)
-- ARGV[10] '1' to count one miss (get_or_compute stores what it computed), else '0'
-- Reply: server time of creation in ms (string)
-- Mode: write
-- Memory: guarded; stores a result
-- Retry: safe; a replayed op id returns the first reply and writes (and counts) nothing.

--@include lib/tool_cache.lua

local tool, hash, entry_channel, result, ttl, token, misses =
  ARGV[3], ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8]), ARGV[9], tonumber(ARGV[10])
local entry, lock = K.cache_prefix .. ARGV[4], K.lock_prefix .. ARGV[4]

local stop = tool_begin(K)
if stop then return stop end

local now = now_ms()
redis.call('DEL', entry)
redis.call('HSET', entry, 'tool', tool, 'hash', hash, 'result', result, 'created', now, 'ttl_ms', ttl)
redis.call('PEXPIRE', entry, ttl)
if token ~= '' and redis.call('GET', lock) == token then
  redis.call('DEL', lock)
end

publish(entry_channel, {key = tool .. ':' .. hash, op = 'set', tool = tool, hash = hash})
if misses > 0 then tool_cache_count('miss') end
return tool_done(K, tostring(now))
