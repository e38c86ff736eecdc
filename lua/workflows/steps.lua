-- workflows/steps: the latest record of every step of a workflow.
-- KEYS[1] workflow hash
-- KEYS[2] step records hash
-- ARGV[1] workflow id (for errors)
-- Reply: {step number, opaque step record, ...}
-- Mode: read
-- Retry: safe; writes nothing.

--@include lib/core.lua

if redis.call('EXISTS', KEYS[1]) == 0 then
  return fail('NOT_FOUND', {kind = 'workflow', id = ARGV[1]})
end
return redis.call('HGETALL', KEYS[2])
