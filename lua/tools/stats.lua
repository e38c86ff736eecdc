-- tools/stats: a tool's counters in one consistent read.
-- KEYS[1] stats hash
-- Reply: {field, value, ...} (started, completed, failed, dur_us, hits, misses, last, seq)
-- Mode: read
-- Retry: safe; reads one key and writes nothing.

return redis.call('HGETALL', KEYS[1])
