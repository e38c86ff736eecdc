-- tools/cache_peek: a cached tool result with its remaining time to live, counting nothing.
-- KEYS[1] cache entry hash (sub-key of the tool, reported as kind 'toolcache')
-- Reply: {pttl ms, field, value, ...}; just {-2} when there is no entry
-- Mode: read
-- Retry: safe; reads one key and writes nothing.

local reply = redis.call('HGETALL', KEYS[1])
table.insert(reply, 1, redis.call('PTTL', KEYS[1]))
return reply
