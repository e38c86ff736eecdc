-- tools/cache_get: a cached tool result with its remaining time to live, counted as a hit or a miss in the tool's stats.
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
-- ARGV[4] the entry's escaped parameters hash (its hash is KEYS[7] followed by it)
-- Reply: {pttl ms, field, value, ...}; just {-2} when there is no entry
-- Mode: write
-- Memory: allowed; a cache read; counts it in two bounded counters
-- Retry: safe; a replayed op id counts nothing (the ops hash keeps only 'hit' or 'miss', not the result) and reads the entry afresh.

--@include lib/tool_cache.lua

local entry = K.cache_prefix .. ARGV[4]
local reply = redis.call('HGETALL', entry)
table.insert(reply, 1, redis.call('PTTL', entry))
tool_cache_count_once(#reply > 1 and 'hit' or 'miss')
return reply
