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
--@include lib/workflows.lua

local base, cp, cpd = KEYS[1], KEYS[2], KEYS[3]
if redis.call('EXISTS', base) == 0 then
  return fail('NOT_FOUND', {kind = 'workflow', id = ARGV[1]})
end
local out = {}
for _, c in ipairs(redis.call('ZREVRANGE', cp, 0, tonumber(ARGV[2]) - 1)) do
  out[#out + 1] = wf_checkpoint_item(cpd, c)
end
return out
