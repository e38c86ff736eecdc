-- workflows/status: a workflow's status and version (for the listing index's repair).
-- KEYS[1] workflow hash
-- Reply: {status, version}, or {} if the workflow does not exist
-- Mode: read
-- Retry: safe; writes nothing.

local v = redis.call('HMGET', KEYS[1], 'status', '#v')
if not v[1] then return {} end
return v
