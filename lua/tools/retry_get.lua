-- tools/retry_get: the retry record of one execution.
-- KEYS[1] base key of the retry index (nothing is stored there)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] due set (sorted set of execution ids, score = due time in server ms)
-- KEYS[5] retry hash key prefix (same index hash tag)
-- ARGV[1] execution id (its retry hash is KEYS[5] followed by it)
-- Reply: {field, value, ...} (id, status, doc, due); empty if there is none
-- Mode: read
-- Retry: safe; reads one key and writes nothing.

return redis.call('HGETALL', KEYS[5] .. ARGV[1])
