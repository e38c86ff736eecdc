-- tools/retry_get: the retry record of one execution.
-- KEYS[1] retry hash
-- Reply: {field, value, ...} (id, status, doc, due); empty if there is none
-- Mode: read
-- Retry: safe; reads one key and writes nothing.

return redis.call('HGETALL', KEYS[1])
