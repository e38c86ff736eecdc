-- workflows/steps: the latest record of every step of a workflow.
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
-- Reply: {step number, opaque step record, ...}
-- Mode: read
-- Retry: safe; writes nothing.

--@include lib/core.lua
--@include lib/workflows.lua

if redis.call('EXISTS', K.base) == 0 then
  return fail('NOT_FOUND', {kind = 'workflow', id = ARGV[1]})
end
return redis.call('HGETALL', K.steps)
