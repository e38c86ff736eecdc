-- Counting tool-cache lookups, pasted in by `--@include lib/tool_cache.lua` (it includes lib/core.lua).
-- KEYS: none of its own; the functions take the tool's stats, ops and ops_prev keys of the including script.
--@include lib/core.lua

-- Count one lookup's outcome ('hit' or 'miss') in the tool's stats and publish it on the tool's channel.
local function tool_cache_count(stats, channel, tool, outcome)
  redis.call('HINCRBY', stats, outcome == 'hit' and 'hits' or 'misses', 1)
  publish(channel, {key = tool, op = 'cache_' .. outcome})
end

-- The same, once per op id: a resent lookup reads the entry again but counts nothing. The op-id
-- memory keeps only the outcome, never the cached result.
local function tool_cache_count_once(stats, ops, ops_prev, op_id, channel, tool, outcome)
  if op_replay(ops, ops_prev, op_id) then return end
  tool_cache_count(stats, channel, tool, outcome)
  op_remember(ops, ops_prev, op_id, outcome)
end
