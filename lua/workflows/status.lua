-- workflows/status: a workflow's status and version (for the listing index's repair).
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
-- Reply: {status, version}, or {} if the workflow does not exist
-- Mode: read
-- Retry: safe; writes nothing.

--@include lib/workflows.lua

local v = redis.call('HMGET', K.base, 'status', '#v')
if not v[1] then return {} end
return v
