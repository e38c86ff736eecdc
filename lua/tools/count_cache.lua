-- tools/count_cache: count cache hits and misses of a tool (for its cache hit rate).
-- KEYS[1] stats hash
-- KEYS[2] ops hash
-- KEYS[3] ops order (sorted set)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] tool name
-- ARGV[4] hits to add
-- ARGV[5] misses to add
-- Reply: '1'
-- Mode: write
-- Retry: safe; a replayed op id returns the first reply and counts nothing.

--@include lib/core.lua

local stats, ops, order = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, tool, hits, misses = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])

local replay = op_replay(ops, op_id)
if replay then return replay end

if hits > 0 then redis.call('HINCRBY', stats, 'hits', hits) end
if misses > 0 then redis.call('HINCRBY', stats, 'misses', misses) end
publish(channel, {key = tool, op = hits > 0 and 'cache_hit' or 'cache_miss'})
op_remember(ops, order, op_id, '1')
return '1'
