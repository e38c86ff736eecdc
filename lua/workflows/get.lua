-- workflows/get: read a workflow and its context in one consistent view.
-- KEYS[1] workflow hash
-- KEYS[2] context hash
-- ARGV[1] workflow id (for errors)
-- Reply: JSON [workflow hash flat, context flat]
-- Mode: read
-- Retry: safe; writes nothing.

--@include lib/core.lua
--@include lib/workflows.lua

if redis.call('EXISTS', KEYS[1]) == 0 then
  return fail('NOT_FOUND', {kind = 'workflow', id = ARGV[1]})
end
return wf_reply(KEYS[1], KEYS[2])
