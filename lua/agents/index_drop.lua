-- agents/index_drop: take an agent off the cross-agent checkpoint index (it was deleted).
-- KEYS[1] index zset
-- ARGV[1] agent id
-- Reply: '1' if it was listed, '0' if not
-- Mode: write
-- Memory: allowed; deletes; frees memory
-- Retry: safe; ZREM of an absent member changes nothing.

return tostring(redis.call('ZREM', KEYS[1], ARGV[1]))
