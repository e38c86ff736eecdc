-- workflows/list_checkpoints: a workflow's checkpoints, newest first.
-- KEYS[1] workflow hash
-- KEYS[2] checkpoint zset
-- KEYS[3] checkpoint data hash
-- ARGV[1] workflow id (for errors)
-- ARGV[2] how many (newest first)
-- Reply: {{id, step, at ms, auto '1'/'0', snapshot JSON, caller state JSON or '', key, value, ...}, ...}
-- Mode: read
-- Retry: safe; writes nothing.

--@include lib/core.lua

local base, cp, cpd = KEYS[1], KEYS[2], KEYS[3]
if redis.call('EXISTS', base) == 0 then
  return fail('NOT_FOUND', {kind = 'workflow', id = ARGV[1]})
end
local out = {}
for _, c in ipairs(redis.call('ZREVRANGE', cp, 0, tonumber(ARGV[2]) - 1)) do
  local f = redis.call('HMGET', cpd, c .. '|step', c .. '|at', c .. '|auto', c .. '|snap', c .. '|state', c .. '|cn')
  local item = {c, f[1], f[2], f[3], f[4], f[5]}
  for i = 1, tonumber(f[6] or '0') do
    local kv = redis.call('HMGET', cpd, c .. '|ck' .. i, c .. '|cv' .. i)
    item[#item + 1] = kv[1]
    item[#item + 1] = kv[2]
  end
  out[#out + 1] = item
end
return out
