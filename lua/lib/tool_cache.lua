-- Counting tool-cache lookups, pasted in by `--@include lib/tool_cache.lua` (it includes lib/tools.lua).
-- The functions count in the tool's stats (K.stats) and publish on the tool's channel (ARGV[2]).
-- KEYS: the including script's, the TOOL layout of lib/tools.lua (8 KEYS under {tool:<name>}).
--@include lib/tools.lua

-- Count one lookup's outcome ('hit' or 'miss') in the tool's stats and publish it.
local function tool_cache_count(outcome)
  redis.call('HINCRBY', K.stats, outcome == 'hit' and 'hits' or 'misses', 1)
  publish(ARGV[2], {key = ARGV[3], op = 'cache_' .. outcome})
end

-- The same, once per op id: a resent lookup reads the entry again but counts nothing. The op-id
-- memory keeps only the outcome, never the cached result.
local function tool_cache_count_once(outcome)
  if tool_begin(K) then return end
  tool_cache_count(outcome)
  tool_done(K, outcome)
end
