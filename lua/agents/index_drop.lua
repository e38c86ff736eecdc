-- agents/index_drop: take a deleted agent off the cross-agent checkpoint index.
-- KEYS[1] index zset
-- KEYS[2] index versions hash
-- ARGV[1] agent id
-- ARGV[2] the incarnation its delete started (every incarnation listed before it is older)
-- Reply: '1' if it was listed and is dropped, '0' if not (or a newer incarnation is listed)
-- Mode: write
-- Memory: allowed; deletes; frees memory
-- Retry: safe; keyed by incarnation: a drop never removes a listing of a later incarnation.

local cur = redis.call('HGET', KEYS[2], ARGV[1])
if not cur or tonumber(cur) >= tonumber(ARGV[2]) then return '0' end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
return '1'
