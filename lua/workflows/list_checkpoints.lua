-- workflows/list_checkpoints: a workflow's checkpoints, newest first.
-- KEYS[1] workflow hash
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- KEYS[4] context hash
-- KEYS[5] step records hash
-- KEYS[6] step status hash
-- KEYS[7] history list
-- KEYS[8] checkpoint zset
-- KEYS[9] checkpoint data hash
-- KEYS[10] lease hash
-- ARGV[1] workflow id (for errors)
-- ARGV[2] how many (newest first)
-- Reply: {{id, step, at ms, auto '1'/'0', snapshot JSON, caller state JSON or '', key, value, ...}, ...}
-- Mode: read
-- Retry: safe; writes nothing.

--@include lib/core.lua
--@include lib/workflows.lua

local base, cp, cpd = K.base, K.cp, K.cpd
if redis.call('EXISTS', base) == 0 then
  return fail('NOT_FOUND', {kind = 'workflow', id = ARGV[1]})
end
local out = {}
for _, c in ipairs(redis.call('ZREVRANGE', cp, 0, tonumber(ARGV[2]) - 1)) do
  out[#out + 1] = wf_checkpoint_item(cpd, c)
end
return out
