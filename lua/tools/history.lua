-- tools/history: a tool's most recent executions, newest first.
-- KEYS[1] execution history (sorted set of execution ids, score = start sequence)
-- KEYS[2] execution hash key prefix (same hash tag)
-- ARGV[1] limit
-- Reply: array of {field, value, ...} execution hashes, newest first
-- Mode: read
-- Retry: safe; reads only and writes nothing.

local out = {}
for _, id in ipairs(redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)) do
  local fields = redis.call('HGETALL', KEYS[2] .. id)
  if #fields > 0 then out[#out + 1] = fields end
end
return out
