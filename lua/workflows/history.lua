-- workflows/history: the newest entries of a workflow's history (steps and transitions).
-- KEYS[1] workflow hash
-- KEYS[2] history list
-- ARGV[1] workflow id (for errors)
-- ARGV[2] how many entries (newest first)
-- Reply: {JSON entry, ...}
-- Mode: read
-- Retry: safe; writes nothing.

--@include lib/core.lua

if redis.call('EXISTS', KEYS[1]) == 0 then
  return fail('NOT_FOUND', {kind = 'workflow', id = ARGV[1]})
end
return redis.call('LRANGE', KEYS[2], 0, tonumber(ARGV[2]) - 1)
