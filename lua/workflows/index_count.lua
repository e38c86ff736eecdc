-- workflows/index_count: how many workflows the listing index files under a status.
-- KEYS[1] index zset
-- ARGV[1] status
-- Reply: the count (integer)
-- Mode: read
-- Retry: safe; writes nothing.

return redis.call('ZLEXCOUNT', KEYS[1], '[' .. ARGV[1] .. ':', '(' .. ARGV[1] .. ';')
