-- tools/history: a tool's most recent executions, newest first.
-- KEYS[1] base key of the tool (nothing is stored there)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] stats hash
-- KEYS[5] execution history (sorted set of execution ids, score = start sequence)
-- KEYS[6] execution hash key prefix (same hash tag)
-- KEYS[7] cache entry key prefix (same hash tag)
-- KEYS[8] compute lock key prefix (same hash tag)
-- ARGV[1] limit
-- Reply: array of {field, value, ...} execution hashes, newest first
-- Mode: read
-- Retry: safe; reads only and writes nothing.

--@include lib/tools.lua

local out = {}
for _, id in ipairs(redis.call('ZREVRANGE', K.history, 0, tonumber(ARGV[1]) - 1)) do
  local fields = redis.call('HGETALL', K.exec_prefix .. id)
  if #fields > 0 then out[#out + 1] = fields end
end
return out
