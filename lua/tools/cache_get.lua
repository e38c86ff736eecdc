-- tools/cache_get: a cached tool result with its remaining time to live, counted as a hit or a miss in the tool's stats.
-- KEYS[1] cache entry hash (sub-key of the tool, reported as kind 'toolcache')
-- KEYS[2] stats hash of the tool
-- KEYS[3] ops hash (current generation) of the tool
-- KEYS[4] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel of the tool ('' = no event)
-- ARGV[3] tool name
-- Reply: {pttl ms, field, value, ...}; just {-2} when there is no entry
-- Mode: write
-- Memory: allowed; a cache read; counts it in two bounded counters
-- Retry: safe; a replayed op id counts nothing (the ops hash keeps only 'hit' or 'miss', not the result) and reads the entry afresh.

--@include lib/core.lua
--@include lib/tool_cache.lua

local entry, stats, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local op_id, channel, tool = ARGV[1], ARGV[2], ARGV[3]

local reply = redis.call('HGETALL', entry)
table.insert(reply, 1, redis.call('PTTL', entry))
tool_cache_count_once(stats, ops, ops_prev, op_id, channel, tool, #reply > 1 and 'hit' or 'miss')
return reply
