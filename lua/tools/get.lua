-- tools/get: one tool execution.
-- KEYS[1] execution hash
-- Reply: {field, value, ...} of the execution hash (empty if it does not exist)
-- Mode: read
-- Retry: safe; reads one key and writes nothing.

return redis.call('HGETALL', KEYS[1])
