-- workflows/history: the newest entries of a workflow's history (steps and transitions).
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
-- ARGV[2] how many entries (newest first)
-- Reply: {JSON entry, ...}
-- Mode: read
-- Retry: safe; writes nothing.

--@include lib/core.lua
--@include lib/workflows.lua

if redis.call('EXISTS', K.base) == 0 then
  return fail('NOT_FOUND', {kind = 'workflow', id = ARGV[1]})
end
return redis.call('LRANGE', K.hist, 0, tonumber(ARGV[2]) - 1)
