-- lgindex/page: one page of the thread ids a cross-thread index lists, skipping expired ones.
-- KEYS[1] index zset
-- ARGV[1] offset
-- ARGV[2] page size
-- Reply: {thread id, ...} (ordered by deadline, then id)
-- Mode: read
-- Retry: safe; writes nothing.

--@include lib/core.lua

return redis.call('ZRANGEBYSCORE', KEYS[1], now_ms(), '+inf', 'LIMIT', tonumber(ARGV[1]), tonumber(ARGV[2]))
