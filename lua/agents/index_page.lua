-- agents/index_page: one page of the agent ids the cross-agent checkpoint index lists, in id order.
-- KEYS[1] index zset
-- ARGV[1] list ids after this one ('' = from the start)
-- ARGV[2] page size
-- Reply: {agent id, ...}
-- Mode: read
-- Retry: safe; writes nothing.

local lo = ARGV[1] == '' and '-' or '(' .. ARGV[1]
return redis.call('ZRANGEBYLEX', KEYS[1], lo, '+', 'LIMIT', 0, tonumber(ARGV[2]))
