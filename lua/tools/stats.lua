-- tools/stats: a tool's counters in one consistent read.
-- KEYS[1] base key of the tool (nothing is stored there)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] stats hash
-- KEYS[5] execution history (sorted set of execution ids, score = start sequence)
-- KEYS[6] execution hash key prefix (same hash tag)
-- KEYS[7] cache entry key prefix (same hash tag)
-- KEYS[8] compute lock key prefix (same hash tag)
-- Reply: {field, value, ...} (started, completed, failed, dur_us, hits, misses, last, seq)
-- Mode: read
-- Retry: safe; reads one key and writes nothing.

return redis.call('HGETALL', KEYS[4])
